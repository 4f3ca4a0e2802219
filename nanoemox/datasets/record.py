"""The one record type every dataset reader produces: media, text, dialogue and labels per task."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass
class EmpathyChain:
    """The ERG target: the four steps of the chain of empathy, then the reply."""

    scenario: str
    emotion: str
    cause: str
    goal: str
    response: str


@dataclass
class Turn:
    """One utterance of the dialogue history before the sample's own utterance."""

    speaker: str
    utterance: str


@dataclass
class Labels:
    """The labels a dataset has for each task; None where it has none."""

    emotion: str | None = None  # discrete emotion, in the dataset's vocabulary (MER, ERG speaker emotion)
    sentiment: float | None = None  # MSA value (MOSI/MOSEI in [-3, 3], SIMS in [-1, 1])
    ov_emotions: list[str] | None = None  # open-vocabulary emotion words (OV-MER)
    intent: str | None = None  # MIR
    reason: str | None = None  # ERI: the emotion reasoning text
    empathy: EmpathyChain | None = None  # ERG: chain of empathy and the response

    def tasks(self) -> list[str]:
        """The tasks these labels can train or score."""
        have = {
            "mer": self.emotion is not None,
            "msa": self.sentiment is not None,
            "ov-mer": self.ov_emotions is not None,
            "mir": self.intent is not None,
            "eri": self.reason is not None,
            "erg": self.empathy is not None,
        }
        return [task for task, present in have.items() if present]


@dataclass
class Record:
    """One clip (or one dialogue turn) of a dataset, with paths resolved against the dataset root."""

    id: str
    dataset: str
    split: str
    video: str | None = None  # video file, or None for audio-only datasets
    audio: str | None = None  # the same file as `video` where the audio track is in it
    frames_dir: str | None = None  # a folder of frame images (FERV39K) instead of a video file
    start: float | None = None  # seconds, where the clip is a segment of a longer file
    end: float | None = None
    subtitle: str = ""  # English transcript (or the only one)
    subtitle_original: str | None = None  # original-language transcript where both exist
    dialogue: list[Turn] = field(default_factory=list)
    labels: Labels = field(default_factory=Labels)

    def media_paths(self) -> list[str]:
        return sorted({p for p in (self.video, self.audio, self.frames_dir) if p})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        labels = dict(data.get("labels") or {})
        if labels.get("empathy"):
            labels["empathy"] = EmpathyChain(**labels["empathy"])
        turns = [Turn(**t) for t in data.get("dialogue") or []]
        return cls(**{**data, "labels": Labels(**labels), "dialogue": turns})
