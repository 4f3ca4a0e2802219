import json

import pytest

from nanoemox.datasets import MalformedRowError, open_dataset
from nanoemox.datasets.base import DatasetError
from nanoemox.model.prompts import build_answer

CHAIN = {
    "event_scenario": "lost a job",
    "speaker_emotion": "Sad",
    "emotion_cause": "layoffs",
    "goal_to_response": "comfort",
}


def turn(turn_id, history, response="I'm so sorry."):
    utterances = [{"index": i, "role": role, "utterance": text} for i, (role, text) in enumerate(history)]
    return {
        "turn_id": turn_id,
        "context": "sad",
        "dialogue_history": utterances,
        "response": response,
        "chain_of_empathy": CHAIN,
    }


def conversation(turns, cid="00012"):
    return {
        "conversation_id": cid,
        "speaker_profile": {"ID": 28, "age": "young"},
        "listener_profile": {"ID": 5},
        "topic": "work",
        "turns": turns,
    }


def test_one_record_per_speaker_turn_with_history(tmp_path):
    turns = [
        turn("0", [("speaker", "I got laid off.")], "Oh no, what happened?"),
        turn("1", [("speaker", "I got laid off."), ("listener", "Oh no, what happened?"), ("speaker", "Budget cuts.")]),
    ]
    (tmp_path / "train.json").write_text(json.dumps([conversation(turns)]))
    (tmp_path / "v_test_v5_0.json").write_text(json.dumps([conversation(turns[:1], cid="00500")]))
    reader = open_dataset("avamerg", tmp_path)
    assert reader.layout == "json"
    train = list(reader.read("train"))
    assert [r.id for r in train] == ["dia00012utt0_28", "dia00012utt2_28"]
    second = train[1]
    assert second.subtitle == "Budget cuts."
    assert [(t.speaker, t.utterance) for t in second.dialogue] == [
        ("speaker", "I got laid off."),
        ("listener", "Oh no, what happened?"),
    ]
    assert second.video == str(tmp_path / "video" / "dia00012utt2_28.mp4")
    assert second.audio == str(tmp_path / "audio" / "dia00012utt2_28.wav")
    assert second.labels.emotion == "sad" and second.labels.tasks() == ["mer", "erg"]
    assert second.labels.empathy.response == "I'm so sorry." and second.labels.empathy.scenario == "lost a job"
    assert build_answer("erg", empathy=second.labels.empathy).endswith("</think>\n I'm so sorry.")
    assert train[0].dialogue == [] and train[0].labels.empathy.response == "Oh no, what happened?"
    assert [r.id for r in reader.read("test")] == ["dia00500utt0_28"] and list(reader.read("dev")) == []


def test_malformed_turns_and_conversations(tmp_path):
    bad_history = turn("1", [("speaker", "hi"), ("listener", "hello")])  # ends with the listener
    data = [conversation([turn("0", [("speaker", "hi")]), bad_history]), {"turns": []}]
    (tmp_path / "train.json").write_text(json.dumps(data))
    with pytest.raises(MalformedRowError, match=r"train.json:1: turn 1 of conversation 00012"):
        list(open_dataset("avamerg", tmp_path).read("train"))
    lenient = open_dataset("avamerg", tmp_path, lenient=True)
    assert [r.id for r in lenient.read("train")] == ["dia00012utt0_28"]
    assert len(lenient.skipped) == 2 and "train.json:2: expected conversation_id" in lenient.skipped[1]


def test_layout_detection_error(tmp_path):
    (tmp_path / "notes.json").write_text("[]")
    with pytest.raises(DatasetError, match="looked for train.json / test.json"):
        open_dataset("avamerg", tmp_path)
