import pytest

from nanoemox.datasets import MalformedRowError, open_dataset
from nanoemox.datasets.base import DatasetError

from conftest import link_files


def test_reference_gt_eng(reference, tmp_path):
    root = link_files(tmp_path, {"gt-eng.csv": reference / "emer" / "gt-eng.csv"})
    reader = open_dataset("emer", root)
    records = list(reader.read("test"))
    assert reader.layout == "v1" and len(records) == 100 and not reader.skipped
    first = records[0]
    assert (first.id, first.labels.emotion, first.subtitle) == (
        "sample_00000648",
        "angry",
        "Don't talk to me about feelings anymore.",
    )
    assert first.labels.reason.endswith("his emotional state is anger.")
    assert first.labels.tasks() == ["mer", "eri"] and first.labels.ov_emotions is None
    assert {r.labels.emotion for r in records} == {"angry", "happy", "worried", "sad", "surprise"}
    assert first.video == str(root / "video" / "sample_00000648.mp4") and first.audio == first.video


def test_v1_with_chinese_subtitles_and_bad_emotion(tmp_path):
    header = "names,emotions,subtitles,reasons\n"
    (tmp_path / "gt-eng.csv").write_text(
        header + 's1,Happy,"Thanks, friend.",He smiles.\ns2,bored,Hm.,He yawns.\ns3,sad,,\n', encoding="utf-8"
    )
    (tmp_path / "gt-chi.csv").write_text(header + "s1,高兴,谢谢，朋友。,他笑了。\n", encoding="utf-8")
    with pytest.raises(MalformedRowError, match=r"gt-eng.csv:3: emotion 'bored' is not one of the emer emotions"):
        list(open_dataset("emer", tmp_path).read())
    lenient = open_dataset("emer", tmp_path, lenient=True)
    (record,) = lenient.read()
    assert (record.labels.emotion, record.subtitle, record.subtitle_original) == (
        "happy",
        "Thanks, friend.",
        "谢谢，朋友。",
    )
    assert len(lenient.skipped) == 2 and "gt-eng.csv:4: expected columns names" in lenient.skipped[1]


def test_v2_reasons(tmp_path):
    (tmp_path / "final-EMER-reason.csv").write_text(
        'name,chinese,english\ns1,在视频中……,"In the video, she smiles."\ns2,只有中文,\n', encoding="utf-8"
    )
    (tmp_path / "audio").mkdir()
    reader = open_dataset("emer", tmp_path, lenient=True)
    assert reader.layout == "v2"
    (record,) = reader.read("test")
    assert record.labels.reason == "In the video, she smiles." and record.labels.emotion is None
    assert record.audio == str(tmp_path / "audio" / "s1.wav") and record.subtitle == ""
    assert reader.skipped and "final-EMER-reason.csv:3" in reader.skipped[0]


def test_layout_errors(tmp_path):
    with pytest.raises(DatasetError, match=r"looked for gt-eng.csv \(v1\) or final-EMER-reason.csv \(v2\)"):
        open_dataset("emer", tmp_path)
    with pytest.raises(DatasetError, match=r"emer \(v2 layout\): .*final-EMER-reason.csv not found"):
        list(open_dataset("emer", tmp_path, layout="v2").read())
