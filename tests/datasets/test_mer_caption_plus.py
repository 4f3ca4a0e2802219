import pytest

from nanoemox.datasets import MalformedRowError, open_dataset
from nanoemox.datasets.base import DatasetError


def mer2025_root(root, openset_rows, reason_rows):
    (root / "track2_train_mercaptionplus.csv").write_text("name,openset\n" + openset_rows, encoding="utf-8")
    (root / "track3_train_mercaptionplus.csv").write_text("name,reason\n" + reason_rows, encoding="utf-8")
    (root / "subtitle_chieng.csv").write_text(
        'name,chinese,english\nsample_00000001,谢谢你。,"Thank you, really."\n', encoding="utf-8"
    )
    return root


def test_open_vocabulary_and_reason(tmp_path):
    root = mer2025_root(
        tmp_path,
        'sample_00000001,"[grateful, Happy]"\nsample_00000002,\n',
        'sample_00000001,"She smiles, so she is grateful."\nsample_00000002,Calm voice.\n',
    )
    (root / "audio").mkdir()
    reader = open_dataset("mer-caption+", root)
    assert (reader.layout, reader.splits) == ("mer2025", ("train",))
    first, second = reader.read()
    assert first.id == "sample_00000001" and first.split == "train"
    assert (
        first.labels.ov_emotions == ["grateful", "happy"] and first.labels.reason == "She smiles, so she is grateful."
    )
    assert first.labels.tasks() == ["ov-mer", "eri"]
    assert (first.subtitle, first.subtitle_original) == ("Thank you, really.", "谢谢你。")
    assert first.video == str(root / "video" / "sample_00000001.mp4")
    assert first.audio == str(root / "audio" / "sample_00000001.wav")
    assert second.labels.ov_emotions == ["neutral"] and second.subtitle == ""


def test_missing_reason_names_track2_line(tmp_path):
    root = mer2025_root(tmp_path, "a,[sad]\nb,[angry]\n", "a,Tears.\n,orphan reason\n")
    with pytest.raises(MalformedRowError, match=r"track3_train_mercaptionplus.csv:3: expected columns name, reason"):
        list(open_dataset("mer-caption+", root).read("train"))
    lenient = open_dataset("mer-caption+", root, lenient=True)
    assert [r.id for r in lenient.read("train")] == ["a"]
    assert len(lenient.skipped) == 2
    assert (
        "track2_train_mercaptionplus.csv:3: sample 'b' has no reason in track3_train_mercaptionplus.csv"
        in (lenient.skipped[1])
    )


def test_layout_errors(tmp_path):
    with pytest.raises(DatasetError, match="looked for track2_train_mercaptionplus.csv and track3"):
        open_dataset("mer-caption+", tmp_path)
    (tmp_path / "track2_train_mercaptionplus.csv").write_text("name,openset\na,[sad]\n")
    with pytest.raises(DatasetError, match="track3_train_mercaptionplus.csv not found"):
        list(open_dataset("mer-caption+", tmp_path).read())
    (tmp_path / "subtitle_chieng.csv").write_text("name,chinese,english\n")
    (tmp_path / "track3_train_mercaptionplus.csv").write_bytes("name,reason\na,难过\n".encode("gbk"))
    with pytest.raises(DatasetError, match="not UTF-8 text"):
        list(open_dataset("mer-caption+", tmp_path).read())
