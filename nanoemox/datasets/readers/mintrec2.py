"""MIntRec2.0 (30 intents): the official TSVs with dialogue history, MMLA's JSONL test set, or the chat JSON.

Layouts (picked from disk):
- `tsv`: the official `{train,dev,test}.tsv`, taken from `total/`, else `in-scope/`, else the root. Read by
  position as the official code does: dialogue id, utterance id, text, label, ..., speaker (8th column, where
  present); the first line is a header. Clips: `video/dia{D}_utt{U}.mp4`. Only the 30 in-scope intents become
  records; out-of-scope rows (label `UNK`, in `total/`) are not MIR samples but stay in the dialogue history of
  the utterances after them. History = the earlier utterances (lower utterance id) of the same dialogue.
- `mmla`: MMLA's `*.jsonl` (clips `video/MIntRec2.0_{D}_{U}.mp4`, record id `dia{D}_utt{U}`).
- `chat`: the published code's `{train,test}_MIntRec2_ann.json` (clips `video/dia{D}_utt{U}.mp4`).
"""

import csv
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from nanoemox.datasets.base import read_text
from nanoemox.datasets.readers.mintrec import IntentReader
from nanoemox.datasets.record import Record, Turn

OUT_OF_SCOPE = "UNK"
TSV_FOLDERS = ("total", "in-scope", "")  # "" = the root
MMLA_CLIP = re.compile(r"MIntRec2\.0_(\d+)_(\d+)")


class Utterance(NamedTuple):
    """One TSV row: its line, position in the dialogue, text, raw label and speaker."""

    line: int
    dialogue: int
    utterance: int
    text: str
    label: str
    speaker: str

    @property
    def clip(self) -> str:
        return f"dia{self.dialogue}_utt{self.utterance}"


class MIntRec2Reader(IntentReader):
    name = "mintrec2"
    tsv_looked_for = "{train,dev,test}.tsv in total/, in-scope/ or the root"

    def has_tsv(self) -> bool:
        return self.tsv_folder() is not None

    def tsv_folder(self) -> Path | None:
        """The first of total/, in-scope/ and the root that holds a split TSV."""
        folders = (self.root / name for name in TSV_FOLDERS)
        return next((f for f in folders if any((f / f"{s}.tsv").is_file() for s in self.splits)), None)

    def record(self, video: str, split: str, subtitle: str, intent: str) -> Record:
        record = super().record(video, split, subtitle, intent)
        match = MMLA_CLIP.fullmatch(record.id)  # MMLA's clip names hold a dot; use the official dia/utt id
        if match:
            record.id = f"dia{match[1]}_utt{match[2]}"
        return record

    def read_tsv(self, split: str) -> Iterator[Record]:
        folder = self.tsv_folder()
        path = folder / f"{split}.tsv" if folder else None
        if path is None or not path.is_file():
            self.absent[split] = path or self.root / f"{split}.tsv"
            return
        rows = list(self.utterances(path))
        dialogues: dict[int, list[Utterance]] = defaultdict(list)
        for row in rows:
            dialogues[row.dialogue].append(row)
        for row in rows:
            if row.label == OUT_OF_SCOPE:
                continue
            intent = self.intent(row.label, path, row.line)
            if intent is None:
                continue
            record = self.record(str(self.root / "video" / f"{row.clip}.mp4"), split, row.text, intent)
            earlier = sorted(
                (r for r in dialogues[row.dialogue] if r.utterance < row.utterance), key=lambda r: r.utterance
            )
            record.dialogue = [Turn(r.speaker, r.text) for r in earlier]
            yield record

    def utterances(self, path: Path) -> Iterator[Utterance]:
        reader = csv.reader(read_text(path).splitlines(keepends=True), delimiter="\t")
        next(reader, None)  # header
        for cells in reader:
            if not cells:
                continue
            try:
                dialogue, utterance = int(cells[0]), int(cells[1])
                text, label = cells[2], cells[3].strip()
            except (IndexError, ValueError):
                self.bad_row(path, reader.line_num, "expected dialogue id, utterance id, text, label (tab-separated)")
                continue
            speaker = cells[7].strip() if len(cells) > 7 else ""
            yield Utterance(reader.line_num, dialogue, utterance, text.strip(), label, speaker)


READERS = {"mintrec2": MIntRec2Reader}
