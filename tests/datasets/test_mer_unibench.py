import numpy as np
import pytest

from nanoemox.datasets import MalformedRowError, open_dataset
from nanoemox.datasets.base import DatasetError


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def mer2023_unibench(root, test1):
    np.savez_compressed(
        root / "label-6way.npz",
        train_corpus={"sample_00000001": {"emo": "neutral", "val": 0.0}},
        test1_corpus=test1,
    )
    write(
        root / "transcription-engchi-polish.csv",
        "name,chinese,english\nsample_00000648,别再跟我说感觉。,Don't talk to me about feelings.\nsample_00000680,,\n",
    )
    return root


def test_mer2023_unibench_npz(tmp_path):
    test1 = {"sample_00000648": {"emo": "Angry ", "val": -3.2}, "sample_00000680": {"emo": "happy", "val": ""}}
    root = mer2023_unibench(tmp_path, test1)
    (root / "audio").mkdir()
    write(root / "video" / "sample_00000680.avi", "")
    reader = open_dataset("mer2023", root)
    assert reader.layout == "unibench" and reader.splits == ("train", "test", "test2", "test3")
    first, second = reader.read("test")
    assert (first.id, first.split, first.labels.emotion, first.labels.sentiment) == (
        "sample_00000648",
        "test",
        "angry",
        None,
    )
    assert first.subtitle == "Don't talk to me about feelings." and first.subtitle_original == "别再跟我说感觉。"
    assert first.video == str(root / "video" / "sample_00000648.mp4")
    assert first.audio == str(root / "audio" / "sample_00000648.wav")
    assert second.video == str(root / "video" / "sample_00000680.avi") and second.subtitle == ""
    assert [r.id for r in reader.read("train")] == ["sample_00000001"]
    assert list(reader.read("test2")) == []  # a corpus the file does not have
    assert first.labels.tasks() == ["mer"]


def test_mer2023_bad_npz_entry_names_file_and_entry(tmp_path):
    root = mer2023_unibench(tmp_path, {"a": {"emo": "sad"}, "b": {"emo": "bored"}, "c": "happy"})
    with pytest.raises(MalformedRowError, match=r"label-6way.npz:2: test1_corpus entry 2 \(b\): emotion 'bored'"):
        list(open_dataset("mer2023", root).read("test"))
    lenient = open_dataset("mer2023", root, lenient=True)
    assert [r.id for r in lenient.read("test")] == ["a"]
    assert len(lenient.skipped) == 2 and "entry 3 (c): expected a dict with 'emo'" in lenient.skipped[1]


def test_unreadable_npz_and_missing_transcript(tmp_path):
    write(tmp_path / "label-6way.npz", "not a zip")
    with pytest.raises(DatasetError, match="not a readable AffectGPT label .npz"):
        list(open_dataset("mer2023", tmp_path).read("test"))
    np.savez_compressed(tmp_path / "label-6way.npz", test1_corpus={"a": {"emo": "sad"}})
    with pytest.raises(DatasetError, match="transcription-engchi-polish.csv not found"):
        list(open_dataset("mer2023", tmp_path).read("test"))


def test_mer2023_release_csvs(tmp_path):
    write(
        tmp_path / "test1-label.csv",
        "name,discrete,valence\nsample_00000007,worried,-1.5\nsample_00000008,Surprise,2\n",
    )
    write(tmp_path / "train-label.csv", "name,discrete,valence\nsample_00000001,sad,-2\nsample_00000002,,\n")
    reader = open_dataset("mer2023", tmp_path, lenient=True)
    assert reader.layout == "release"
    test = list(reader.read("test"))
    assert [(r.id, r.labels.emotion) for r in test] == [("sample_00000007", "worried"), ("sample_00000008", "surprise")]
    assert test[0].video == str(tmp_path / "test1" / "sample_00000007.mp4") and test[0].audio == test[0].video
    assert test[0].subtitle == ""
    assert [r.id for r in reader.read("train")] == ["sample_00000001"]
    assert reader.skipped == [f"{tmp_path / 'train-label.csv'}:3: emotion '' is not one of the mer2023 emotions "
                              "(neutral, angry, happy, sad, worried, surprise)"]  # fmt: skip
    assert list(reader.read("test3")) == []


def test_mer2024_chinese_only_transcript(tmp_path):
    np.savez_compressed(tmp_path / "label-6way.npz", test1_corpus={"samplenew3_00000001": {"emo": "happy"}})
    write(tmp_path / "transcription_merge.csv", "name,chinese\nsamplenew3_00000001,你好。\n")
    reader = open_dataset("mer2024", tmp_path)
    (record,) = reader.read("test")
    assert (record.subtitle, record.subtitle_original, record.labels.emotion) == ("你好。", None, "happy")
    assert record.audio == record.video == str(tmp_path / "video" / "samplenew3_00000001.mp4")


def test_ov_merd_plus_unibench(tmp_path):
    write(tmp_path / "ovlabel.csv", "name,openset\ns1,\"[Happy, excited]\"\ns2,[]\ns3,\"['sad', 'tired']\"\n")
    write(tmp_path / "subtitle_eng.csv", "name,sentence\ns1,Great news!\n")
    reader = open_dataset("ov-merd", tmp_path)
    assert reader.layout == "unibench" and list(reader.read("train")) == []
    records = list(reader.read("test"))
    assert [r.labels.ov_emotions for r in records] == [["happy", "excited"], ["neutral"], ["sad", "tired"]]
    assert records[0].subtitle == "Great news!" and records[0].labels.tasks() == ["ov-mer"]


def test_ov_merd_mer2025_tracks(tmp_path):
    write(tmp_path / "track2_train_ovmerd.csv", 'name,openset\ns1,"[angry, annoyed]"\n,[sad]\n')
    write(tmp_path / "track3_train_ovmerd.csv", "name,reason\ns1,He frowns and shouts.\n")
    write(tmp_path / "subtitle_chieng.csv", "name,chinese,english\ns1,走开！,Go away!\n")
    (tmp_path / "video" / "video").mkdir(parents=True)
    reader = open_dataset("ov-merd", tmp_path, lenient=True)
    assert reader.layout == "mer2025" and list(reader.read("test")) == []
    (record,) = reader.read("train")
    assert record.labels.ov_emotions == ["angry", "annoyed"] and record.labels.reason == "He frowns and shouts."
    assert (record.subtitle, record.subtitle_original) == ("Go away!", "走开！")
    assert record.video == str(tmp_path / "video" / "video" / "s1.mp4")
    assert reader.skipped == [f"{tmp_path / 'track2_train_ovmerd.csv'}:3: expected columns name, openset"]


def test_layout_detection_errors(tmp_path):
    with pytest.raises(DatasetError, match=r"looked for label-6way.npz \(MER-UniBench\) or train-label.csv"):
        open_dataset("mer2023", tmp_path)
    with pytest.raises(DatasetError, match="looked for label-6way.npz"):
        open_dataset("mer2024", tmp_path)
    with pytest.raises(DatasetError, match="looked for ovlabel.csv .* or track2_train_ovmerd.csv"):
        open_dataset("ov-merd", tmp_path)
    with pytest.raises(DatasetError, match="unknown layout 'release'"):
        open_dataset("mer2024", tmp_path, layout="release")
    with pytest.raises(DatasetError, match=r"\(unibench layout\): .*ovlabel.csv not found"):
        list(open_dataset("ov-merd", tmp_path, layout="unibench").read("test"))
