import numpy as np
import pytest

from nanoemox.datasets import MalformedRowError, open_dataset
from nanoemox.datasets.base import DatasetError

HEADER = "video_id,clip_id,text,label,label_T,label_A,label_V,annotation,mode\n"


def test_sims_label_csv_splits_and_paths(tmp_path):
    (tmp_path / "label.csv").write_text(
        HEADER
        + "video_0001,1,我很开心。,0.8,1.0,0.6,0.8,Positive,train\n"
        + "video_0001,2,还行吧,0.0,0.0,0.0,0.0,Neutral,valid\n"
        + "video_0002,13,太糟糕了,-1.0,-1.0,-0.8,-1.0,Negative,test\n",
        encoding="utf-8",
    )
    reader = open_dataset("sims", tmp_path)
    assert reader.layout == "csv"
    assert [(r.split, r.id, r.labels.sentiment) for r in reader.read()] == [
        ("train", "video_0001_0001", 0.8),
        ("dev", "video_0001_0002", 0.0),
        ("test", "video_0002_0013", -1.0),
    ]
    test = next(reader.read("test"))
    assert test.video == str(tmp_path / "Raw" / "video_0002" / "0013.mp4") == test.audio
    assert test.subtitle == test.subtitle_original == "太糟糕了"


def test_simsv2_meta_csv_keeps_clip_ids(tmp_path):
    (tmp_path / "meta.csv").write_text(HEADER + "aqgy3_0001,00023,嗯,-0.6,-0.4,-0.6,-0.6,Negative,test\n")
    record = next(open_dataset("simsv2", tmp_path).read("test"))
    assert record.id == "aqgy3_0001_00023"
    assert record.video == str(tmp_path / "Raw" / "aqgy3_0001" / "00023.mp4")


def test_malformed_rows_name_file_and_line(tmp_path):
    (tmp_path / "label.csv").write_text(
        HEADER
        + "video_0001,1,好,0.2,0,0,0,Positive,test\n"
        + "video_0001,2,坏,1.6,0,0,0,Positive,test\n"
        + "video_0001,3,坏,0.4,0,0,0,Positive,holdout\n"
        + "video_0001,,坏,0.4,0,0,0,Positive,test\n",
        encoding="utf-8",
    )
    with pytest.raises(MalformedRowError, match=r"label.csv:3: clip video_0001/2: sentiment '1.6'"):
        list(open_dataset("sims", tmp_path).read("test"))
    lenient = open_dataset("sims", tmp_path, lenient=True)
    assert [r.id for r in lenient.read("test")] == ["video_0001_0001"]
    assert [s.split(": ", 1)[0].rsplit("/", 1)[-1] for s in lenient.skipped] == [
        "label.csv:3",
        "label.csv:4",
        "label.csv:5",
    ]
    assert "mode 'holdout'" in lenient.skipped[1]


def test_non_utf8_csv_is_a_clear_error(tmp_path):
    (tmp_path / "label.csv").write_bytes((HEADER + "v,1,我,0.1,0,0,0,P,test\n").encode("gbk"))
    with pytest.raises(DatasetError, match="not UTF-8"):
        list(open_dataset("sims", tmp_path).read("test"))


def test_unibench_layout_has_english_subtitles(tmp_path):
    corpora = {"train_corpus": {}, "val_corpus": {}, "test_corpus": {"v_0001": {"emo": 0, "val": -0.2}}}
    np.savez_compressed(tmp_path / "label.npz", **corpora)
    (tmp_path / "transcription-engchi-polish.csv").write_text(
        "name,chinese,english\nv_0001,不太好,Not so good\n", encoding="utf-8"
    )
    reader = open_dataset("simsv2", tmp_path)
    assert reader.layout == "unibench"
    record = next(reader.read("test"))
    assert (record.subtitle, record.subtitle_original) == ("Not so good", "不太好")
    assert record.video == str(tmp_path / "video_new" / "v_0001.mp4")
    assert record.audio == str(tmp_path / "audio" / "v_0001.wav")
    assert list(reader.read("train")) == []


def test_layout_detection_error(tmp_path):
    with pytest.raises(DatasetError, match=r"looked for label.csv or meta.csv \(official\) or label.npz"):
        open_dataset("sims", tmp_path)
