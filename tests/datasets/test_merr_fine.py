import json

import pytest

from nanoemox.datasets import MalformedRowError, open_dataset
from nanoemox.datasets.base import DatasetError

from conftest import link_files


def test_reference_file(reference, tmp_path):
    root = link_files(
        tmp_path, {"MERR_fine_grained.json": reference / "official-annotations" / "MERR" / "MERR_fine_grained.json"}
    )
    reader = open_dataset("merr-fine", root)
    records = list(reader.read("train"))
    assert reader.layout == "json" and len(records) == 4487 and not reader.skipped
    first = records[0]
    assert (first.id, first.labels.emotion, first.subtitle) == (
        "sample_00000023",
        "angry",
        "I was originally trying to be quiet.",
    )
    assert first.labels.reason.startswith("In the video, a bald man displays a furrowed brow")
    assert {r.labels.emotion for r in records} == {
        "neutral", "sad", "angry", "happy", "worried", "surprise", "fear", "doubt", "contempt",
    }  # fmt: skip
    assert first.video == str(root / "video" / "sample_00000023.mp4") and first.audio == first.video


def sample(emotion="Happy", reason="She laughs.", text="Great!"):
    return {"AU_list": ["AU12"], "pseu_emotion": emotion, "text": text, "smp_reason_caption": reason}


def test_published_folders_and_malformed_entries(tmp_path):
    annotations = {
        "s1": sample(),
        "s2": sample(reason=""),
        "s3": "oops",
        "s4": sample(text=None),
        "s5": sample(emotion="Bored"),
    }
    (tmp_path / "MERR_fine_grained.json").write_text(json.dumps(annotations), encoding="utf-8")
    (tmp_path / "test3").mkdir()
    (tmp_path / "audio").mkdir()
    with pytest.raises(MalformedRowError, match=r"MERR_fine_grained.json:2: entry 2 \(s2\): expected non-empty"):
        list(open_dataset("merr-fine", tmp_path).read())
    lenient = open_dataset("merr-fine", tmp_path, lenient=True)
    first, last = lenient.read("train")
    assert (first.labels.emotion, first.labels.reason, first.subtitle) == ("happy", "She laughs.", "Great!")
    assert first.labels.tasks() == ["mer", "eri"]
    assert first.video == str(tmp_path / "test3" / "s1.mp4") and first.audio == str(tmp_path / "audio" / "s1.wav")
    assert last.id == "s4" and last.subtitle == ""
    assert len(lenient.skipped) == 3 and "entry 3 (s3)" in lenient.skipped[1]
    assert "entry 5 (s5): emotion 'Bored' is not one of the merr-fine emotions" in lenient.skipped[2]


def test_not_an_object_invalid_json_and_missing_file(tmp_path):
    path = tmp_path / "MERR_fine_grained.json"
    path.write_text("[1, 2]")
    with pytest.raises(MalformedRowError, match="MERR_fine_grained.json:1: expected one JSON object"):
        list(open_dataset("merr-fine", tmp_path).read())
    path.write_text('{\n"s1": {,}\n}')
    with pytest.raises(DatasetError, match=r"MERR_fine_grained.json:2: invalid JSON"):
        list(open_dataset("merr-fine", tmp_path).read())
    path.unlink()
    with pytest.raises(DatasetError, match="looked for MERR_fine_grained.json"):
        open_dataset("merr-fine", tmp_path)
