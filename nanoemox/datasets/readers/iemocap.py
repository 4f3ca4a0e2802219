"""IEMOCAP, 4-class protocol (angry, happy = happy + excited, neutral, sad): the original release or MER-UniBench.

`release` layout (IEMOCAP_full_release): Session1..Session5/dialog/EmoEvaluation/<dialog>.txt with one line per
utterance, `[start - end]<TAB>utterance id<TAB>label<TAB>[V, A, D]`; Session*/dialog/transcriptions/<dialog>.txt
with `utterance id [start-end]: text`; video Session*/dialog/avi/DivX/<dialog>.avi, used for video and audio with
the utterance's start and end (a record has one time span, so the per-utterance sentences/wav files are not used).
Labels other than ang/hap/exc/neu/sad (fru, sur, fea, dis, oth, xxx) are left out and counted in `excluded`.
The dialogue history is every earlier utterance of the same dialog, speaker F or M from the utterance id.
`unibench` layout (AffectGPT's iemocap-process): label_4way.npz (whole_corpus: {name: {"emo": index}} in the
order happy, sad, neutral, anger), transcription-engchi-polish.csv (name, chinese, english), clips
subvideo-tgt/<name>.avi (the speaker's half of the frame) and audio subaudio/<name>.wav.
Splits: "test" is Session 5 and "train" Sessions 1-4, as AffectGPT evaluates; other folds are the user's business.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from nanoemox.datasets.base import DatasetError, clean_id, read_text
from nanoemox.datasets.readers.affectgpt import AffectGPTReader, load_npz_corpus
from nanoemox.datasets.record import Labels, Record, Turn

FOUR_CLASS = {"ang": "angry", "hap": "happy", "exc": "happy", "neu": "neutral", "sad": "sad"}
UNIBENCH_ORDER = ("happy", "sad", "neutral", "angry")  # AffectGPT's emo indices (its 'anger' is our 'angry')
SESSIONS = {"train": (1, 2, 3, 4), "test": (5,)}
EVALUATION = re.compile(r"^\[(\d+(?:\.\d+)?) - (\d+(?:\.\d+)?)\]\s+(\S+)\s+(\S+)\s+\[.*\]\s*$")
TRANSCRIPT = re.compile(r"^(Ses\S+) \[(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)\]:\s*(.*)$")
SESSION_OF_NAME = re.compile(r"^Ses0?(\d)")


class IemocapReader(AffectGPTReader):
    name = "iemocap"
    tasks = ("mer",)
    layouts = ("release", "unibench")
    splits = ("train", "test")

    def __init__(self, root: str | Path, layout: str | None = None, lenient: bool = False):
        super().__init__(root, layout=layout, lenient=lenient)
        self.excluded: Counter[str] = Counter()  # utterances outside the 4 classes, per original label

    def detect_layout(self) -> str:
        if any(self.root.glob("Session[1-5]/dialog/EmoEvaluation")):
            return "release"
        if (self.root / "label_4way.npz").is_file():
            return "unibench"
        raise self.layout_error("Session1..5/dialog/EmoEvaluation (original release) or label_4way.npz (MER-UniBench)")

    def read_split(self, split: str) -> Iterator[Record]:
        yield from self.read_unibench(split) if self.layout == "unibench" else self.read_release(split)

    def read_release(self, split: str) -> Iterator[Record]:
        for session in SESSIONS[split]:
            dialog_root = self.root / f"Session{session}" / "dialog"
            for path in sorted((dialog_root / "EmoEvaluation").glob("Ses*.txt")):
                yield from self.read_dialog(path, dialog_root, split)

    def read_dialog(self, path: Path, dialog_root: Path, split: str) -> Iterator[Record]:
        dialog = path.stem
        turns = transcript(dialog_root / "transcriptions" / f"{dialog}.txt")
        order = {utterance: index for index, (utterance, _, _) in enumerate(turns)}
        video = str(dialog_root / "avi" / "DivX" / f"{dialog}.avi")
        for line, text in enumerate(read_text(path).splitlines(), start=1):
            if not text.startswith("["):
                continue  # the annotators' individual ratings below each utterance
            match = EVALUATION.match(text.strip())
            if not match:
                self.bad_row(path, line, "expected '[start - end]<TAB>utterance<TAB>label<TAB>[V, A, D]'")
                continue
            start, end, utterance, label = match.groups()
            if label not in FOUR_CLASS:
                self.excluded[label] += 1
                continue
            if utterance not in order:
                self.bad_row(path, line, f"utterance {utterance} is not in transcriptions/{dialog}.txt")
                continue
            position = order[utterance]
            yield Record(
                id=clean_id(utterance),
                dataset=self.name,
                split=split,
                video=video,
                audio=video,
                start=float(start),
                end=float(end),
                subtitle=turns[position][2],
                dialogue=[Turn(speaker, said) for _, speaker, said in turns[:position]],
                labels=Labels(emotion=FOUR_CLASS[label]),
            )

    def read_unibench(self, split: str) -> Iterator[Record]:
        path = self.require("label_4way.npz")
        corpus = load_npz_corpus(path, "whole_corpus")
        transcripts = self.process_transcripts()
        for index, (name, entry) in enumerate(corpus.items(), start=1):
            session = SESSION_OF_NAME.match(name)
            emo = entry.get("emo") if isinstance(entry, dict) else None
            if session is None or emo not in range(len(UNIBENCH_ORDER)):
                self.bad_row(path, index, f"whole_corpus entry '{name}': expected a SesNN name and emo 0-3, got {emo}")
                continue
            if int(session.group(1)) not in SESSIONS[split]:
                continue
            if name not in transcripts:
                self.bad_row(path, index, f"whole_corpus entry '{name}': no row for it in the subtitle CSV")
                continue
            yield Record(
                id=clean_id(name),
                dataset=self.name,
                split=split,
                video=str(self.root / "subvideo-tgt" / f"{name}.avi"),
                audio=str(self.root / "subaudio" / f"{name}.wav"),
                subtitle=transcripts[name].english,
                labels=Labels(emotion=UNIBENCH_ORDER[int(emo)]),
            )


def transcript(path: Path) -> list[tuple[str, str, str]]:
    """(utterance id, speaker F/M, text) of a dialog in time order; lines without an utterance id are skipped."""
    if not path.is_file():
        raise DatasetError(f"iemocap (release layout): {path} not found")
    lines = [TRANSCRIPT.match(text.strip()) for text in read_text(path).splitlines()]
    timed = sorted((float(m.group(2)), m.group(1), m.group(4).strip()) for m in lines if m)
    return [(utterance, utterance.rsplit("_", 1)[-1][:1], said) for _, utterance, said in timed]


READERS = {"iemocap": IemocapReader}
