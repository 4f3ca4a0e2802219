import pytest

from nanoemox.datasets import MalformedRowError, open_dataset
from nanoemox.datasets.base import DatasetError

from conftest import link_files

HEADER = "Dialogue_id\tUtterance_id\tText\tLabel\tSeason\tEpisode\tTV\tSpeaker\n"


def write_tsv(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join("\t".join(map(str, row)) + "\n" for row in rows))


def test_tsv_history_keeps_out_of_scope_turns_as_context(tmp_path):
    rows = [
        (3, 1, "sorry about that", "Apologise", 1, 1, "superstore", "Amy"),
        (3, 0, "what happened here", "UNK", 1, 1, "superstore", "Jonah"),
        (4, 0, "thanks", "Thank", 1, 2, "superstore", "Dina"),
    ]
    write_tsv(tmp_path / "total" / "test.tsv", rows)
    reader = open_dataset("mintrec2", tmp_path)
    assert reader.layout == "tsv"
    records = list(reader.read("test"))
    assert [(r.id, r.labels.intent) for r in records] == [("dia3_utt1", "apologise"), ("dia4_utt0", "thank")]
    assert [(t.speaker, t.utterance) for t in records[0].dialogue] == [("Jonah", "what happened here")]
    assert records[1].dialogue == []
    assert records[0].video == str(tmp_path / "video" / "dia3_utt1.mp4") == records[0].audio


def test_tsv_malformed_rows_and_unknown_intents(tmp_path):
    write_tsv(
        tmp_path / "in-scope" / "train.tsv",
        [(1, 0, "hi", "UNK"), (1, 1, "hey", "Greet"), ("x", 1, "bad"), (1, 2, "no", "Dance")],
    )
    with pytest.raises(MalformedRowError, match=r"train.tsv:4: expected dialogue id"):
        list(open_dataset("mintrec2", tmp_path).read("train"))
    lenient = open_dataset("mintrec2", tmp_path, lenient=True)
    records = list(lenient.read("train"))
    assert [r.labels.intent for r in records] == ["greet"] and records[0].dialogue[
        0
    ].speaker == ""  # 4 columns: no speaker
    assert len(lenient.skipped) == 2 and "train.tsv:5: intent 'Dance'" in lenient.skipped[1]


def test_mmla_and_chat_reference_files_agree(reference, tmp_path):
    mmla = open_dataset(
        "mintrec2", link_files(tmp_path / "a", {"test.jsonl": reference / "mintrec2" / "mmla_mintrec2_test.jsonl"})
    )
    chat_files = {p.name: p for p in (reference / "official-annotations" / "MIntRec2").glob("*_ann.json")}
    chat = open_dataset("mintrec2", link_files(tmp_path / "b", chat_files))
    assert (mmla.layout, chat.layout) == ("mmla", "chat")
    by_mmla = {r.id: (r.subtitle, r.labels.intent) for r in mmla.read("test")}
    assert len(by_mmla) == 2033 and all("." not in key for key in by_mmla)
    assert by_mmla["dia9_utt1"] == ("not everyone can pull off a vest.", "flaunt")
    assert [sum(1 for _ in chat.read(s)) for s in chat.splits] == [5644, 0, 1044]
    chat_test = {r.id: (r.subtitle, r.labels.intent) for r in chat.read("test")}
    assert chat_test.items() <= by_mmla.items()  # the published test set is a subset of MMLA's
    first = next(chat.read("train"))
    assert first.id == "dia0_utt0" and first.video == str(tmp_path / "b" / "video" / "dia0_utt0.mp4")


def test_layout_detection_error(tmp_path):
    with pytest.raises(DatasetError, match=r"looked for \{train,dev,test\}.tsv in total/"):
        open_dataset("mintrec2", tmp_path)
