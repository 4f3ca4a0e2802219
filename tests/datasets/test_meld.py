import pytest

from nanoemox.datasets import DatasetError, MalformedRowError, open_dataset

from conftest import link_files

HEADER = "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime\n"


def test_reference_split_sizes(reference, tmp_path):
    files = {f"{s}_sent_emo.csv": reference / "meld" / f"meld_{s}_sent_emo.csv" for s in ("train", "dev", "test")}
    reader = open_dataset("meld", link_files(tmp_path, files))
    assert [sum(1 for _ in reader.read(s)) for s in reader.splits] == [9989, 1109, 2610]
    test = list(reader.read("test"))
    assert test[0].id == "dia0_utt0" and test[0].labels.emotion == "surprise" and test[0].labels.sentiment == 1.0
    assert test[0].video == str(tmp_path / "output_repeated_splits_test" / "dia0_utt0.mp4")
    assert [t.speaker for t in test[1].dialogue] == ["Mark"]  # history: the earlier turns of dialogue 0


def test_history_resets_per_dialogue_and_bad_labels(tmp_path):
    rows = [
        '1,"Hi, you.",Ann,joy,positive,0,0,1,1,"0","1"',
        "2,Bye.,Bob,sadness,negative,0,1,1,1,0,1",
        "3,Next.,Ann,neutral,neutral,1,0,1,1,0,1",
        "4,Oops.,Ann,hungry,neutral,1,1,1,1,0,1",
    ]
    (tmp_path / "dev_sent_emo.csv").write_text(HEADER + "\n".join(rows) + "\n")
    with pytest.raises(MalformedRowError, match=r"dev_sent_emo.csv:5: emotion 'hungry'"):
        list(open_dataset("meld", tmp_path).read("dev"))
    reader = open_dataset("meld", tmp_path, lenient=True)
    records = list(reader.read("dev"))
    assert [len(r.dialogue) for r in records] == [0, 1, 0]
    assert records[1].dialogue[0].utterance == "Hi, you."
    assert len(reader.skipped) == 1


def test_non_utf8_subtitles_fail_clearly_or_are_repaired_when_lenient(tmp_path):
    (tmp_path / "test_sent_emo.csv").write_bytes(
        (HEADER + "1,Caf\xe9 now,Ann,joy,positive,0,0,1,1,0,1\n").encode("latin-1")
    )
    with pytest.raises(DatasetError, match=r"test_sent_emo.csv: not UTF-8 text \(byte \d+\).*--lenient"):
        list(open_dataset("meld", tmp_path).read("test"))
    reader = open_dataset("meld", tmp_path, lenient=True)
    [record] = list(reader.read("test"))
    assert record.subtitle == "Caf\ufffd now" and "undecodable bytes replaced" in reader.skipped[0]


def test_a_header_without_a_column_is_named_and_an_empty_dataset_is_not_ok(tmp_path):
    from nanoemox.datasets.check import check_dataset

    (tmp_path / "test_sent_emo.csv").write_text(HEADER.replace("Emotion,", "Feeling,") + "1,Hi.,Ann,joy,positive,0,0\n")
    for lenient in (False, True):  # no row of such a file can be read: not a row to skip
        with pytest.raises(DatasetError, match=r"test_sent_emo.csv: the header has no column\(s\) Emotion"):
            list(open_dataset("meld", tmp_path, lenient=lenient).read("test"))
    (tmp_path / "test_sent_emo.csv").write_text(HEADER)
    report = check_dataset(open_dataset("meld", tmp_path))
    assert not report.ok and "  no records: the annotation files hold no rows" in report.lines()
