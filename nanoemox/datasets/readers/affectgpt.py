"""AffectGPT's file formats (MER-UniBench and MER2025 folders), read here once because many datasets ship in them."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from nanoemox.datasets.base import DatasetError, DatasetReader, clean_id, csv_rows
from nanoemox.datasets.labels import EMOTIONS
from nanoemox.datasets.record import Labels, Record
from nanoemox.errors import NanoEmoXError
from nanoemox.fileio.files import read_npz

NON_MP4_VIDEO = (".avi", ".mkv", ".mov", ".webm")  # AffectGPT falls back to .avi; clips are .mp4 otherwise
PROCESS_SUBTITLES = ("transcription-engchi-polish.csv", "transcription.csv")  # MOSI/MOSEI/SIMS/IEMOCAP folders
Subtitle = tuple[str, str | None]  # (English or only transcript, Chinese original where both exist)
NO_SUBTITLE: Subtitle = ("", None)


class Transcript(NamedTuple):
    """One row of a subtitle CSV: English (`english` or `sentence` column) and Chinese text, "" where absent."""

    english: str
    chinese: str


def parse_openset(text: str) -> list[str]:
    """Open-vocabulary words of "[happy, excited]", "['happy', 'excited']" or "happy, excited", lowercased, deduped."""
    words = (word.strip().lower() for word in re.split(r"[\[\],，;；'\"]", text))
    return list(dict.fromkeys(word for word in words if word))


def load_npz_corpus(path: Path, key: str, missing_ok: bool = False) -> dict[str, Any]:
    """One {name: label dict} corpus of an AffectGPT label .npz; {} when the file lacks `key` and `missing_ok`."""
    try:
        arrays = read_npz(path, "AffectGPT label .npz")  # pickled dicts, read as plain data only
    except NanoEmoXError as err:
        raise DatasetError(str(err)) from err
    if key not in arrays:
        if missing_ok:
            return {}
        raise DatasetError(f"{path}: no '{key}' array (has {', '.join(arrays)})")
    corpus = arrays[key].item() if arrays[key].size == 1 else None
    if not isinstance(corpus, dict):
        raise DatasetError(f"{path}: '{key}' is not a {{name: label}} dict")
    return corpus


class Media:
    """Clip paths of one layout: VIDEO_DIR/NAME.mp4 (or the extension found there), AUDIO_DIR/NAME.wav when present."""

    def __init__(self, video_dir: Path, audio_dir: Path | None = None):
        self.video_dir = video_dir
        self.audio_dir = audio_dir if audio_dir is not None and audio_dir.is_dir() else None
        self._non_mp4: dict[str, str] | None = None

    def video(self, name: str) -> str:
        if self._non_mp4 is None:  # one listing of the folder, only to learn which clips are not .mp4
            listing = self.video_dir.iterdir() if self.video_dir.is_dir() else ()
            self._non_mp4 = {p.stem: p.name for p in listing if p.suffix.lower() in NON_MP4_VIDEO}
        return str(self.video_dir / self._non_mp4.get(name, f"{name}.mp4"))

    def audio(self, name: str, video: str) -> str:
        return str(self.audio_dir / f"{name}.wav") if self.audio_dir else video


class AffectGPTReader(DatasetReader):
    """Base of the readers of AffectGPT layouts: its subtitle CSVs and its split names."""

    unibench_test: ClassVar[str] = "test"  # AffectGPT's name for our "test" split (MER2023/MER2024: test1)

    def unibench_split(self, split: str) -> str:
        """AffectGPT's name for a split, as in test1_corpus, val_corpus, test1-label.csv or test1/ ("dev" is val)."""
        return {"dev": "val", "test": self.unibench_test}.get(split, split)

    def transcripts(self, path: Path) -> dict[str, Transcript]:
        """NAME -> Transcript from a subtitle CSV with a name column and english/sentence/chinese ones."""
        table: dict[str, Transcript] = {}
        for line, row in csv_rows(path):
            name = (row.get("name") or "").strip()
            if not name:
                self.bad_row(path, line, "expected a 'name' column with the sample name")
                continue
            english = (row.get("english") or row.get("sentence") or "").strip()
            table[name] = Transcript(english, (row.get("chinese") or "").strip())
        return table

    def process_transcripts(self) -> dict[str, Transcript]:
        """The subtitle CSV of a MOSI/MOSEI/SIMS/IEMOCAP process folder: the first of PROCESS_SUBTITLES in root."""
        path = next((self.root / n for n in PROCESS_SUBTITLES if (self.root / n).is_file()), None)
        if path is None:
            raise DatasetError(f"{self.name} (unibench layout): none of {', '.join(PROCESS_SUBTITLES)} in {self.root}")
        return self.transcripts(path)


class UniBenchSentiment(AffectGPTReader):
    """The MER-UniBench sentiment layout: label.npz corpora, the subtitle CSV, one clip and one wav per name."""

    tasks = ("msa",)
    splits = ("train", "dev", "test")
    sentiment_range: ClassVar[tuple[float, float]]
    video_dirs: ClassVar[tuple[str, ...]]  # AffectGPT's clip folder, first one on disk wins
    audio_dir: ClassVar[str]
    chinese_original: ClassVar[bool] = False  # the `chinese` column is the original transcript (SIMS)

    def sentiment(self, value: Any, path: Path, line: int, where: str) -> float | None:
        """A sentiment value within the dataset's range, or None after reporting the row."""
        low, high = self.sentiment_range
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not low <= number <= high:
            self.bad_row(path, line, f"{where}: sentiment '{value}' is not a number in [{low:g}, {high:g}]")
            return None
        return number

    def read_unibench(self, split: str) -> Iterator[Record]:
        path = self.require("label.npz")
        key = f"{self.unibench_split(split)}_corpus"
        corpus = load_npz_corpus(path, key)
        transcripts = self.process_transcripts()
        video_dir = next((d for d in self.video_dirs if (self.root / d).is_dir()), self.video_dirs[0])
        for index, (name, entry) in enumerate(corpus.items(), start=1):
            where = f"{key} entry '{name}'"
            value = entry.get("val") if isinstance(entry, dict) else None
            sentiment = self.sentiment(value, path, index, where)
            if sentiment is None:
                continue
            if name not in transcripts:
                self.bad_row(path, index, f"{where}: no row for it in the subtitle CSV")
                continue
            english, chinese = transcripts[name]
            yield Record(
                id=clean_id(name),
                dataset=self.name,
                split=split,
                video=str(self.root / video_dir / f"{name}.mp4"),
                audio=str(self.root / self.audio_dir / f"{name}.wav"),
                subtitle=(english or chinese) if self.chinese_original else english,
                subtitle_original=(chinese or None) if self.chinese_original else None,
                labels=Labels(sentiment=sentiment),
            )


class MerFamilyReader(AffectGPTReader):
    """The MER-family readers (MER2023/2024, OV-MERD, MER-Caption+, EMER, MERR-Fine): label checks, clip records."""

    def subtitles(self, path: Path) -> dict[str, Subtitle]:
        """NAME -> (English or only subtitle, Chinese original where both exist) from a subtitle CSV."""
        return {
            name: (english or chinese, chinese if english and chinese else None)
            for name, (english, chinese) in self.transcripts(path).items()
        }

    def emotion(self, value: Any, path: Path, line: int, where: str = "") -> str | None:
        """An emotion of labels.EMOTIONS[name] (lowercased), or None after reporting the row."""
        label = value.strip().lower() if isinstance(value, str) else ""
        vocabulary = EMOTIONS[self.name]
        if label not in vocabulary:
            known = ", ".join(vocabulary)
            self.bad_row(path, line, f"{where}emotion {value!r} is not one of the {self.name} emotions ({known})")
            return None
        return label

    def openset(self, value: str | None, path: Path, line: int) -> list[str] | None:
        """The open-vocabulary words of an openset cell (none means neutral, as in AffectGPT), or None if absent."""
        if value is None:
            self.bad_row(path, line, "expected columns name, openset")
            return None
        return parse_openset(value) or ["neutral"]

    def record(self, name: str, split: str, media: Media, labels: Labels, subtitle: Subtitle = NO_SUBTITLE) -> Record:
        """A clip record; a name missing from a subtitle table gets NO_SUBTITLE (clips without speech have none)."""
        video = media.video(name)
        text, original = subtitle
        return Record(
            id=name,
            dataset=self.name,
            split=split,
            video=video,
            audio=media.audio(name, video),
            subtitle=text,
            subtitle_original=original,
            labels=labels,
        )


class TrackReader(MerFamilyReader):
    """The MER2025 challenge files: track2_train_STEM.csv (name, openset), track3_train_STEM.csv (name, reason)."""

    stem: ClassVar[str]

    def track_files(self) -> tuple[str, str]:
        return f"track2_train_{self.stem}.csv", f"track3_train_{self.stem}.csv"

    def mer2025_media(self) -> Media:
        nested = self.root / "video" / "video"  # the published Nano-EmoX config unpacks the clips one level deeper
        return Media(nested if nested.is_dir() else self.root / "video", self.root / "audio")

    def read_tracks(self, split: str) -> Iterator[Record]:
        openset_csv, reason_csv = (self.require(name) for name in self.track_files())
        reasons: dict[str, str] = {}
        for line, row in csv_rows(reason_csv):
            name, reason = (row.get("name") or "").strip(), (row.get("reason") or "").strip()
            if not name or not reason:
                self.bad_row(reason_csv, line, "expected columns name, reason (both non-empty)")
                continue
            reasons[name] = reason
        subtitles = self.subtitles(self.require("subtitle_chieng.csv"))
        media = self.mer2025_media()
        for line, row in csv_rows(openset_csv):
            name = (row.get("name") or "").strip()
            words = self.openset(row.get("openset") if name else None, openset_csv, line)
            if words is None:
                continue
            if name not in reasons:
                self.bad_row(openset_csv, line, f"sample '{name}' has no reason in {reason_csv.name}")
                continue
            labels = Labels(ov_emotions=words, reason=reasons[name])
            yield self.record(name, split, media, labels, subtitles.get(name, NO_SUBTITLE))
