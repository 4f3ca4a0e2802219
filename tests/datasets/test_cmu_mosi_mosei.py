import h5py
import numpy as np
import pytest

from nanoemox.datasets import MalformedRowError, open_dataset
from nanoemox.datasets.base import DatasetError


def write_csd(path, root_name, entries):
    """A computational sequence as the SDK writes it: <root>/data/<vid>/{features, intervals} and <root>/metadata."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as handle:
        root = handle.create_group(root_name)
        data = root.create_group("data")
        for vid, (features, intervals) in entries.items():
            group = data.create_group(vid)
            group.create_dataset("features", data=features)
            group.create_dataset("intervals", data=np.asarray(intervals, dtype=float))
        meta = root.create_group("metadata")
        meta.create_dataset("root name", (1,), dtype=h5py.special_dtype(vlen=str))[0] = f'"{root_name}"'


def write_words(path, root_name, vid, words):
    features = np.array([[w.encode()] for w, _, _ in words])
    write_csd(path, root_name, {vid: (features, [[a, b] for _, a, b in words])})


def write_folds(path, train, dev, test):
    path.write_text(f"standard_train_fold={train!r}\n\nstandard_valid_fold={dev!r}\n\nstandard_test_fold={test!r}\n")


def mosi_root(tmp_path, bad=False):
    write_csd(
        tmp_path / "CMU_MOSI_Opinion_Labels.csd",
        "Opinion Segment Labels",
        {
            "vidA": ([[-1.5], [2.4 if not bad else 4.5]], [[9.0, 12.0], [1.0, 4.0]]),  # stored out of time order
            "vidB": ([[0.0]], [[0.5, 2.0]]),
            "vidC": ([[0.8]], [[3.0, 6.0]]),
            "vidX": ([[1.0]], [[0.0, 1.0]]),  # in no standard fold
        },
    )
    write_words(
        tmp_path / "CMU_MOSI_TimestampedWords.csd",
        "words",
        "vidC",
        [("before", 1.0, 2.9), ("it", 3.0, 3.4), ("sp", 3.4, 3.6), ("works", 3.6, 5.9), ("after", 6.2, 7.0)],
    )
    write_folds(tmp_path / "cmu_mosi_std_folds.py", ["vidA"], ["vidB"], ["vidC"])
    transcript = tmp_path / "Raw" / "Transcript" / "Segmented" / "vidA.annotprocessed"
    transcript.parent.mkdir(parents=True)
    transcript.write_text("1_DELIM_ANYHOW IT WAS REALLY GOOD \n2_DELIM_BUT THE ENDING WAS BAD \n")
    return tmp_path


def test_mosi_csd_segments_folds_and_subtitles(tmp_path):
    reader = open_dataset("mosi", mosi_root(tmp_path))
    assert reader.layout == "csd"
    train = list(reader.read("train"))
    assert [(r.id, r.start, r.end, r.labels.sentiment) for r in train] == [
        ("vidA_1", 1.0, 4.0, pytest.approx(2.4)),
        ("vidA_2", 9.0, 12.0, -1.5),
    ]
    assert [r.subtitle for r in train] == ["ANYHOW IT WAS REALLY GOOD", "BUT THE ENDING WAS BAD"]
    assert train[0].video == str(tmp_path / "Raw" / "Video" / "Full" / "vidA.mp4") == train[0].audio
    assert [r.id for r in reader.read("dev")] == ["vidB_1"]
    test = list(reader.read("test"))
    assert [(r.id, r.split, r.subtitle) for r in test] == [("vidC_1", "test", "it works")]
    assert sum(1 for _ in reader.read()) == 4  # vidX is in no fold


def test_mosi_csd_malformed_value_and_missing_folds(tmp_path):
    root = mosi_root(tmp_path, bad=True)
    with pytest.raises(MalformedRowError, match=r"CMU_MOSI_Opinion_Labels.csd:2: video vidA segment 1: sentiment"):
        list(open_dataset("mosi", root).read("train"))
    lenient = open_dataset("mosi", root, lenient=True)
    assert [r.id for r in lenient.read("train")] == ["vidA_2"]
    assert len(lenient.skipped) == 1 and "4.5" in lenient.skipped[0]
    (root / "cmu_mosi_std_folds.py").unlink()
    with pytest.raises(DatasetError, match="standard folds not found"):
        list(open_dataset("mosi", root).read("test"))


def test_mosei_csd_matches_transcript_intervals(tmp_path):
    labels = tmp_path / "labels" / "CMU_MOSEI_Labels.csd"  # one folder below the root, as the SDK may place it
    emotions = [0.0, 0.3, 0.0, 0.0, 0.0, 0.0]
    write_csd(labels, "All Labels", {"m-1": ([[1.0, *emotions], [-0.6, *emotions]], [[10.5, 14.25], [0.0, 5.0]])})
    write_words(tmp_path / "CMU_MOSEI_TimestampedWords.csd", "words", "m-1", [("hello", 0.1, 0.5), ("you", 0.6, 1.0)])
    write_folds(tmp_path / "cmu_mosei_std_folds.py", [], [], ["m-1"])
    combined = tmp_path / "Raw" / "Transcript" / "Segmented" / "Combined" / "m-1.txt"
    combined.parent.mkdir(parents=True)
    combined.write_text("m-1___3___10.5___14.25___great movie, truly.\nm-1___4___20.0___22.0___not labelled\n")
    records = list(open_dataset("mosei", tmp_path).read("test"))
    assert [(r.id, r.subtitle, r.labels.sentiment) for r in records] == [
        ("m-1_1", "hello you", -0.6),  # no transcript line for 0-5 s: the SDK index and the timestamped words
        ("m-1_3", "great movie, truly.", 1.0),
    ]
    assert records[1].video == str(tmp_path / "Raw" / "Videos" / "Full" / "Combined" / "m-1.mp4")
    assert (records[1].start, records[1].end) == (10.5, 14.25)


def write_unibench(root, corpora, subtitles):
    np.savez_compressed(root / "label.npz", **{f"{k}_corpus": v for k, v in corpora.items()})
    lines = ["name,chinese,english"] + [f"{name},{chi},{eng}" for name, chi, eng in subtitles]
    (root / "transcription-engchi-polish.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_unibench_layout_splits_and_bad_entries(tmp_path):
    corpora = {
        "train": {"a_1": {"emo": 0, "val": 1.2}},
        "val": {"b_2": {"emo": 0, "val": -0.4}},
        "test": {"c_3": {"emo": 0, "val": -2.0}, "c_4": {"emo": 0, "val": "x"}, "c_5": {"emo": 0, "val": 0.0}},
    }
    write_unibench(
        tmp_path, corpora, [("a_1", "好", "good"), ("b_2", "", "meh"), ("c_3", "坏", "bad"), ("c_4", "", "")]
    )
    (tmp_path / "subvideo_new").mkdir()
    reader = open_dataset("mosei", tmp_path, lenient=True)
    assert reader.layout == "unibench"
    assert [(r.split, r.id, r.labels.sentiment) for r in reader.read()] == [
        ("train", "a_1", 1.2),
        ("dev", "b_2", -0.4),
        ("test", "c_3", -2.0),
    ]
    assert [s.split(": ", 1)[0].rsplit("/", 1)[-1] for s in reader.skipped] == ["label.npz:2", "label.npz:3"]
    assert "no row for it in the subtitle CSV" in reader.skipped[1]
    first = next(reader.read("test"))
    assert first.video == str(tmp_path / "subvideo_new" / "c_3.mp4")
    assert first.audio == str(tmp_path / "subaudio" / "c_3.wav")
    assert (first.subtitle, first.subtitle_original) == ("bad", None)
    with pytest.raises(MalformedRowError, match=r"label.npz:2: test_corpus entry 'c_4': sentiment 'x'"):
        list(open_dataset("mosei", tmp_path).read("test"))
    mosi = open_dataset("mosi", tmp_path)
    assert next(mosi.read("train")).video == str(tmp_path / "subvideo" / "a_1.mp4")


def test_layout_detection_errors(tmp_path):
    with pytest.raises(DatasetError, match=r"looked for CMU_MOSI_Opinion_Labels.csd .* or label.npz"):
        open_dataset("mosi", tmp_path)
    with pytest.raises(DatasetError, match="unknown layout 'tsv'"):
        open_dataset("mosei", tmp_path, layout="tsv")
    (tmp_path / "CMU_MOSEI_Labels.csd").write_text("not hdf5")
    write_folds(tmp_path / "cmu_mosei_std_folds.py", [], [], [])
    with pytest.raises(DatasetError, match="not an HDF5 computational sequence"):
        list(open_dataset("mosei", tmp_path).read("test"))
    with pytest.raises(DatasetError, match=r"label.npz not found"):
        list(open_dataset("mosei", tmp_path, layout="unibench").read("test"))
