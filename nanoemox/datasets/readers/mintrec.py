"""MIntRec (20 intents): the official TSVs, MMLA's JSONL test set, or the published code's chat JSON."""

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from nanoemox.datasets.base import DatasetReader, csv_rows, jsonl_rows, load_json, rebase, split_of_file
from nanoemox.datasets.labels import INTENTS
from nanoemox.datasets.record import Labels, Record


class IntentReader(DatasetReader):
    """Shared by MIntRec and MIntRec2.0: MMLA JSONL and chat-JSON layouts, intent labels normalised.

    Subclasses read their official TSVs (`has_tsv`, `read_tsv`) and say what those are (`tsv_looked_for`).
    """

    tasks = ("mir",)
    layouts = ("tsv", "mmla", "chat")
    splits = ("train", "dev", "test")
    tsv_looked_for: ClassVar[str]  # the official TSVs, for the error when no layout is on disk

    def has_tsv(self) -> bool:
        """Whether the official TSVs are on disk (the `tsv` layout)."""
        raise NotImplementedError

    def read_tsv(self, split: str) -> Iterator[Record]:
        """Records of one split from the official TSVs; none where that split's file is absent."""
        raise NotImplementedError

    def detect_layout(self) -> str:
        if self.has_tsv():
            return "tsv"
        if any(self.root.glob("*.jsonl")):
            return "mmla"
        if any(self.root.glob("*_ann.json")):
            return "chat"
        raise self.layout_error(f"{self.tsv_looked_for} (official), *.jsonl (MMLA) or *_ann.json (chat)")

    def read_split(self, split: str) -> Iterator[Record]:
        if self.layout == "mmla":
            yield from self.read_mmla(split)
        elif self.layout == "chat":
            yield from self.read_chat(split)
        else:
            yield from self.read_tsv(split)

    def intent(self, label: str, path: Path, line: int) -> str | None:
        value = label.strip().lower()
        if value not in INTENTS[self.name]:
            self.bad_row(
                path, line, f"intent '{label}' is not one of the {len(INTENTS[self.name])} {self.name} intents"
            )
            return None
        return value

    def files_for(self, pattern: str, split: str) -> list[Path]:
        return sorted(p for p in self.root.glob(pattern) if split_of_file(p, self.splits) == split)

    def read_mmla(self, split: str) -> Iterator[Record]:
        """MMLA: {"query": ... "the speaker says: TEXT Based on ...", "response": "intent: LABEL", "videos": [...]}."""
        for path in self.files_for("*.jsonl", split):
            for line, row in jsonl_rows(path):
                if not isinstance(row, dict) or "response" not in row or not row.get("videos"):
                    self.bad_row(path, line, "expected a JSON object with 'query', 'response' and 'videos'")
                    continue
                intent = self.intent(row["response"].split(":", 1)[-1], path, line)
                if intent is None:
                    continue
                video = rebase(row["videos"][0], self.root)
                text = row.get("query", "").split("the speaker says: ", 1)[-1].split(" Based on the text", 1)[0]
                yield self.record(video, split, text.strip(), intent)

    def read_chat(self, split: str) -> Iterator[Record]:
        """The published code's annotation JSON: a list of {"messages": [user text, assistant label], "videos"}."""
        for path in self.files_for("*_ann.json", split):
            for index, item in enumerate(load_json(path)):
                try:
                    user, assistant = item["messages"][0]["content"], item["messages"][1]["content"]
                    video = rebase(item["videos"][0], self.root)
                except (KeyError, IndexError, TypeError):
                    self.bad_row(path, index + 1, "expected messages [user, assistant] and a 'videos' list (item)")
                    continue
                intent = self.intent(assistant, path, index + 1)
                if intent is not None:
                    yield self.record(video, split, user, intent)

    def record(self, video: str, split: str, subtitle: str, intent: str) -> Record:
        clip_id = video.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        return Record(
            id=clip_id,
            dataset=self.name,
            split=split,
            video=video,
            audio=video,
            subtitle=subtitle,
            labels=Labels(intent=intent),
        )


class MIntRecReader(IntentReader):
    """`tsv`: train.tsv/dev.tsv/test.tsv (season, episode, clip, text, label), clips in raw_data/S/E/N.mp4."""

    name = "mintrec"
    tsv_looked_for = "train.tsv/dev.tsv/test.tsv"

    def has_tsv(self) -> bool:
        return (self.root / "train.tsv").is_file() or (self.root / "test.tsv").is_file()

    def read_tsv(self, split: str) -> Iterator[Record]:
        path = self.root / f"{split}.tsv"
        if not path.is_file():
            self.absent[split] = path
            return
        flat = (self.root / "video").is_dir() and not (self.root / "raw_data").is_dir()
        for line, row in csv_rows(path, delimiter="\t", required=("season", "episode", "clip", "text", "label")):
            try:
                season, episode, clip, text, label = (row[k] for k in ("season", "episode", "clip", "text", "label"))
            except KeyError:
                self.bad_row(path, line, "expected columns season, episode, clip, text, label")
                continue
            intent = self.intent(label or "", path, line)
            if intent is None:
                continue
            if flat:  # the published code's flat folder: video/S06_E04_70.mp4
                video = self.root / "video" / f"{season}_{episode}_{clip}.mp4"
            else:
                video = self.root / "raw_data" / season / episode / f"{clip}.mp4"
            record = self.record(str(video), split, text, intent)
            record.id = f"{season}_{episode}_{clip}"
            yield record


READERS = {"mintrec": MIntRecReader}
