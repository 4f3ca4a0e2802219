import json

import pytest

from nanoemox.datasets import MalformedRowError, open_dataset
from nanoemox.datasets.base import DatasetError
from nanoemox.datasets.readers.m3ed import seconds


def utterance(start, end, text, speaker, emotion):
    return {
        "StartTime": start,
        "EndTime": end,
        "Text": text,
        "Speaker": speaker,
        "EmoAnnotation": {"EmoAnnotator1": emotion, "final_mul_emo": emotion, "final_main_emo": emotion},
    }


def write_release(root, dialog):
    annotation = {
        "anjia": {"anjia_1": {"SpeakerInfo": {"A": {"Name": "房似锦"}, "B": {"Name": "朱闪闪"}}, "Dialog": dialog}},
        "fendou": {
            "fendou_1": {
                "SpeakerInfo": {"A": {"Name": "陆涛"}},
                "Dialog": {"fendou_1_1": utterance("00:00:00:01", "00:00:01:00", "走吧", "A", "Happy")},
            }
        },
    }
    (root / "annotation.json").write_text(json.dumps(annotation, ensure_ascii=False, indent=4), encoding="utf-8")
    (root / "splitInfo").mkdir()
    for split, movies in (("train", "anjia\n"), ("val", "fendou\n"), ("test", "")):
        (root / "splitInfo" / f"movie_list_{split}.txt").write_text(movies)


def test_official_layout_splits_history_and_times(tmp_path):
    write_release(
        tmp_path,
        {
            "anjia_1_1": utterance("00:00:00:01", "00:00:01:04", "你先把衣服换了", "A", "Neutral"),
            "anjia_1_2": utterance("00:00:01:10", "00:00:02:20", "好的", "B", "Sad"),
        },
    )
    reader = open_dataset("m3ed", tmp_path)
    assert reader.layout == "official"
    train = list(reader.read("train"))
    assert [(r.id, r.labels.emotion, r.subtitle) for r in train] == [
        ("anjia_1_1", "neutral", "你先把衣服换了"),
        ("anjia_1_2", "sad", "好的"),
    ]
    assert train[1].video == train[1].audio == str(tmp_path / "anjia" / "anjia_1.mp4")
    assert (train[1].start, train[1].end) == (pytest.approx(1.4), pytest.approx(2.8))
    assert [(t.speaker, t.utterance) for t in train[1].dialogue] == [("房似锦", "你先把衣服换了")]
    assert [r.id for r in reader.read("dev")] == ["fendou_1_1"] and list(reader.read("test")) == []
    assert seconds("01:02:03:05") == pytest.approx(3723.2)


def test_malformed_utterances_name_the_line(tmp_path):
    write_release(
        tmp_path,
        {
            "anjia_1_1": utterance("00:00:00:01", "bad", "你好", "A", "Neutral"),
            "anjia_1_2": utterance("00:00:01:10", "00:00:02:20", "好的", "B", "Bored"),
            "anjia_1_3": utterance("00:00:03:00", "00:00:04:00", "再见", "B", "Happy"),
        },
    )
    lines = (tmp_path / "annotation.json").read_text(encoding="utf-8").splitlines()
    first = next(n for n, line in enumerate(lines, start=1) if '"anjia_1_1": {' in line)
    with pytest.raises(MalformedRowError, match=rf"annotation.json:{first}: utterance anjia_1_1: expected"):
        list(open_dataset("m3ed", tmp_path).read("train"))
    lenient = open_dataset("m3ed", tmp_path, lenient=True)
    records = list(lenient.read("train"))
    assert [r.id for r in records] == ["anjia_1_3"] and records[0].dialogue == []
    assert len(lenient.skipped) == 2 and "emotion 'bored'" in lenient.skipped[1]


def test_missing_files(tmp_path):
    with pytest.raises(DatasetError, match="looked for annotation.json"):
        open_dataset("m3ed", tmp_path)
    (tmp_path / "annotation.json").write_text("{}")
    with pytest.raises(DatasetError, match="movie_list_train.txt not found"):
        list(open_dataset("m3ed", tmp_path).read("train"))
