import json

import pytest

from nanoemox.datasets import MalformedRowError, open_dataset
from nanoemox.datasets.base import DatasetError

from conftest import link_files


def test_official_tsv_split_sizes(reference, tmp_path):
    root = link_files(
        tmp_path, {f"{s}.tsv": reference / "mintrec" / f"mintrec_{s}.tsv" for s in ("train", "dev", "test")}
    )
    reader = open_dataset("mintrec", root)
    assert reader.layout == "tsv"
    assert [sum(1 for _ in reader.read(s)) for s in reader.splits] == [1334, 445, 445]
    first = next(reader.read("test"))
    assert first.id == "S06_E04_70" and first.labels.intent == "arrange"
    assert first.video == str(root / "raw_data" / "S06" / "E04" / "70.mp4") and first.audio == first.video
    assert first.subtitle == "you're gonna go back and work on that register"


def test_mmla_and_chat_layouts_agree_with_tsv(reference, tmp_path):
    mmla = open_dataset(
        "mintrec", link_files(tmp_path / "a", {"test.jsonl": reference / "mintrec" / "mmla_mintrec_test.jsonl"})
    )
    chat_files = {p.name: p for p in (reference / "official-annotations" / "MIntRec").glob("*_ann.json")}
    chat = open_dataset("mintrec", link_files(tmp_path / "b", chat_files))
    tsv = open_dataset("mintrec", link_files(tmp_path / "c", {"test.tsv": reference / "mintrec" / "mintrec_test.tsv"}))
    assert (mmla.layout, chat.layout) == ("mmla", "chat")
    by_tsv = {r.id: r.labels.intent for r in tsv.read("test")}
    mmla_test = list(mmla.read("test"))
    assert len(mmla_test) == 445
    assert mmla_test[0].subtitle == "you're gonna go back and work on that register"
    assert sorted(r.labels.intent for r in mmla_test) == sorted(by_tsv.values())
    chat_test = list(chat.read("test"))
    assert len(chat_test) == 445 and {r.id: r.labels.intent for r in chat_test} == by_tsv
    assert chat_test[0].video == str(tmp_path / "b" / "video" / "S06_E04_70.mp4")


def test_malformed_rows_name_file_and_line(tmp_path):
    (tmp_path / "test.tsv").write_text(
        "season\tepisode\tclip\ttext\tlabel\nS01\tE01\t1\thi\tThank\nS01\tE01\t2\tno\tDance\n"
    )
    with pytest.raises(MalformedRowError, match=r"test.tsv:3: intent 'Dance'"):
        list(open_dataset("mintrec", tmp_path).read("test"))
    lenient = open_dataset("mintrec", tmp_path, lenient=True)
    assert [r.labels.intent for r in lenient.read("test")] == ["thank"]
    assert len(lenient.skipped) == 1 and "test.tsv:3" in lenient.skipped[0]


def test_bad_jsonl_line_and_missing_layout(tmp_path):
    row = {"query": "the speaker says: hi Based on the text", "response": "intent: thank", "videos": ["/x/video/a.mp4"]}
    (tmp_path / "test.jsonl").write_text(json.dumps(row) + "\n{broken\n")
    reader = open_dataset("mintrec", tmp_path, lenient=True)
    assert [r.subtitle for r in reader.read("test")] == ["hi"]
    assert reader.skipped and "test.jsonl:2" in reader.skipped[0]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="looked for train.tsv"):
        open_dataset("mintrec", empty)
    with pytest.raises(DatasetError, match="did you mean 'mintrec'"):
        open_dataset("mintrek", tmp_path)
