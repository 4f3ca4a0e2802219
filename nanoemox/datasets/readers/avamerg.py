"""AvaMERG (empathetic response generation): the release's conversation JSON, one record per speaker turn.

Layout `json`: `*.json` files named by split (`train.json`, `test.json` or `v_test_v5_0.json`, `val.json`/`dev.json`),
each a list of conversations {"conversation_id", "speaker_profile": {"ID", ...}, "listener_profile", "topic",
"turns": [{"turn_id", "context", "dialogue_history": [{"role", "utterance", ...}], "response",
"chain_of_empathy": {"event_scenario", "speaker_emotion", "emotion_cause", "goal_to_response"}}]}.
Each turn ends with a speaker utterance that the listener's `response` answers; it becomes one record:
subtitle = that utterance, dialogue = the turns before it (role, utterance), labels = the speaker emotion and the
chain of empathy with the response. Media: the speaker's clip of that utterance,
`video/dia{conversation_id}utt{k}_{speaker ID}.mp4` and `audio/<same>.wav`, k = its index in the history (0-based),
as the challenge code names them; that name is also the record id.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nanoemox.datasets.base import DatasetReader, load_json, split_of_file
from nanoemox.datasets.record import EmpathyChain, Labels, Record, Turn

CHAIN_KEYS = ("event_scenario", "speaker_emotion", "emotion_cause", "goal_to_response")


class AvaMERGReader(DatasetReader):
    name = "avamerg"
    tasks = ("erg",)
    layouts = ("json",)
    splits = ("train", "dev", "test")

    def detect_layout(self) -> str:
        if any(split_of_file(p, self.splits) for p in self.root.glob("*.json")):
            return "json"
        raise self.layout_error("train.json / test.json (or v_test_v5_0.json) conversation files")

    def read_split(self, split: str) -> Iterator[Record]:
        for path in sorted(p for p in self.root.glob("*.json") if split_of_file(p, self.splits) == split):
            conversations = load_json(path)
            if not isinstance(conversations, list):
                self.bad_row(path, 1, "expected a list of conversations")
                continue
            for number, conversation in enumerate(conversations, start=1):
                yield from self.conversation(path, number, conversation, split)

    def conversation(self, path: Path, number: int, conversation: Any, split: str) -> Iterator[Record]:
        try:
            conversation_id = conversation["conversation_id"]
            speaker_id = conversation["speaker_profile"]["ID"]
            turns = list(conversation["turns"])
        except (KeyError, TypeError):
            self.bad_row(path, number, "expected conversation_id, speaker_profile.ID and turns (conversation)")
            return
        for turn in turns:
            record = self.turn(turn, f"dia{conversation_id}", speaker_id, split)
            if record is None:
                where = turn.get("turn_id", "?") if isinstance(turn, dict) else "?"
                expected = "a dialogue_history ending with the speaker, a response and chain_of_empathy"
                self.bad_row(path, number, f"turn {where} of conversation {conversation_id}: expected {expected}")
            else:
                yield record

    def turn(self, turn: Any, dialogue: str, speaker_id: Any, split: str) -> Record | None:
        """One speaker turn as a record, or None when the turn is malformed."""
        try:
            history = [Turn(str(u["role"]), str(u["utterance"]).strip()) for u in turn["dialogue_history"]]
            chain = {key: str(turn["chain_of_empathy"][key]).strip() for key in CHAIN_KEYS}
            response = str(turn["response"]).strip()
        except (KeyError, TypeError):
            return None
        if not history or history[-1].speaker != "speaker" or not response:
            return None
        clip = f"{dialogue}utt{len(history) - 1}_{speaker_id}"
        empathy = EmpathyChain(
            scenario=chain["event_scenario"],
            emotion=chain["speaker_emotion"],
            cause=chain["emotion_cause"],
            goal=chain["goal_to_response"],
            response=response,
        )
        return Record(
            id=clip,
            dataset=self.name,
            split=split,
            video=str(self.root / "video" / f"{clip}.mp4"),
            audio=str(self.root / "audio" / f"{clip}.wav"),
            subtitle=history[-1].utterance,
            dialogue=history[:-1],
            labels=Labels(emotion=chain["speaker_emotion"].lower(), empathy=empathy),
        )


READERS = {"avamerg": AvaMERGReader}
