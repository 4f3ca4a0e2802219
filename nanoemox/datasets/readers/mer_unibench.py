"""MER-UniBench test sets as AffectGPT ships them (MER2023, MER2024, OV-MERD+), MER2023's release and MER2025's OV-MERD.

Layouts (paths relative to the dataset root; NAME is the sample name, e.g. sample_00000648, and the record id):

- mer2023 `unibench` (mer2023-dataset-process): label-6way.npz with train_corpus, test1_corpus, test2_corpus and
  test3_corpus, each {NAME: {"emo": label, "val": valence}}; transcription-engchi-polish.csv (name, chinese, english);
  video/NAME.mp4 (or .avi); audio/NAME.wav.
- mer2023 `release` (the challenge download): train-label.csv, test1-label.csv, test2-label.csv, test3-label.csv
  (name, discrete, valence) with the clips in train/, test1/, test2/, test3/; no separate audio. A
  transcription-engchi-polish.csv in the root is read when present.
- mer2024 `unibench` (mer2024-dataset-process): label-6way.npz with train_corpus, test1_corpus, test2_corpus
  ({NAME: {"emo": label}}); transcription_merge.csv (name, chinese, and english where present); video/, audio/.
- ov-merd `unibench` (ovmerdplus-process, OV-MERD+): ovlabel.csv (name, openset); subtitle_eng.csv (name, sentence or
  english); video/, audio/.
- ov-merd `mer2025` (mer2025-dataset, OV-MERD): track2_train_ovmerd.csv (name, openset), track3_train_ovmerd.csv
  (name, reason), subtitle_chieng.csv (name, chinese, english); video/ (or video/video/), audio/.

Splits: "test" is the MER-UniBench test set: test1_corpus (411 MER2023 clips, 1169 MER2024 clips) and OV-MERD+ (532
clips). mer2023 also has "train", "test2" and "test3", mer2024 "train" and "test2" (the other corpora of the same
file); OV-MERD from MER2025 is "train". A split the files do not have yields no records.

Emotions are checked against labels.EMOTIONS; MER2023's valence is not kept (Labels.sentiment means the MSA task).
An empty open-vocabulary set means neutral, as in AffectGPT. Where audio/ exists the record's audio is
audio/NAME.wav, otherwise the video file itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from nanoemox.datasets.base import csv_rows
from nanoemox.datasets.readers.affectgpt import NO_SUBTITLE, Media, MerFamilyReader, TrackReader, load_npz_corpus
from nanoemox.datasets.record import Labels, Record


class MerChallengeReader(MerFamilyReader):
    """MER2023 and MER2024: six emotions, AffectGPT's label-6way.npz (and MER2023's release CSVs)."""

    tasks = ("mer",)
    unibench_test = "test1"
    transcript: ClassVar[str]

    def detect_layout(self) -> str:
        if (self.root / "label-6way.npz").is_file():
            return "unibench"
        if "release" in self.layouts and any(
            (self.root / f"{self.unibench_split(s)}-label.csv").is_file() for s in self.splits
        ):
            return "release"
        looked_for = "label-6way.npz (MER-UniBench)"
        if "release" in self.layouts:
            looked_for += " or train-label.csv/test1-label.csv/... (release)"
        raise self.layout_error(looked_for)

    def read_split(self, split: str) -> Iterator[Record]:
        if self.layout == "release":
            yield from self.read_release(split)
        else:
            yield from self.read_unibench(split)

    def read_unibench(self, split: str) -> Iterator[Record]:
        path = self.require("label-6way.npz")
        key = f"{self.unibench_split(split)}_corpus"
        corpus = load_npz_corpus(path, key, missing_ok=True)
        if not corpus:
            return
        subtitles = self.subtitles(self.require(self.transcript))
        media = Media(self.root / "video", self.root / "audio")
        for item, (name, label) in enumerate(corpus.items(), start=1):
            where = f"{key} entry {item} ({name}): "
            if not isinstance(label, dict) or "emo" not in label:
                self.bad_row(path, item, f"{where}expected a dict with 'emo'")
                continue
            emotion = self.emotion(label["emo"], path, item, where)
            if emotion is not None:
                yield self.record(
                    str(name), split, media, Labels(emotion=emotion), subtitles.get(str(name), NO_SUBTITLE)
                )

    def read_release(self, split: str) -> Iterator[Record]:
        folder = self.unibench_split(split)
        path = self.root / f"{folder}-label.csv"
        if not path.is_file():
            self.absent[split] = path
            return
        transcript = self.root / self.transcript
        subtitles = self.subtitles(transcript) if transcript.is_file() else {}
        media = Media(self.root / folder)
        for line, row in csv_rows(path):
            name = (row.get("name") or "").strip()
            if not name or row.get("discrete") is None:
                self.bad_row(path, line, "expected columns name, discrete")
                continue
            emotion = self.emotion(row["discrete"], path, line)
            if emotion is not None:
                yield self.record(name, split, media, Labels(emotion=emotion), subtitles.get(name, NO_SUBTITLE))


class Mer2023Reader(MerChallengeReader):
    name = "mer2023"
    layouts = ("unibench", "release")
    splits = ("train", "test", "test2", "test3")
    transcript = "transcription-engchi-polish.csv"


class Mer2024Reader(MerChallengeReader):
    name = "mer2024"
    layouts = ("unibench",)
    splits = ("train", "test", "test2")
    transcript = "transcription_merge.csv"


class OvMerdReader(TrackReader):
    """OV-MERD+ from MER-UniBench ("test") or OV-MERD from the MER2025 download ("train")."""

    name = "ov-merd"
    tasks = ("ov-mer",)
    layouts = ("unibench", "mer2025")
    splits = ("train", "test")
    stem = "ovmerd"

    def detect_layout(self) -> str:
        if (self.root / "ovlabel.csv").is_file():
            return "unibench"
        if (self.root / self.track_files()[0]).is_file():
            return "mer2025"
        raise self.layout_error(f"ovlabel.csv (MER-UniBench OV-MERD+) or {self.track_files()[0]} (MER2025)")

    def read_split(self, split: str) -> Iterator[Record]:
        if self.layout == "mer2025" and split == "train":
            yield from self.read_tracks(split)
        elif self.layout == "unibench" and split == "test":
            yield from self.read_ovlabel(split)

    def read_ovlabel(self, split: str) -> Iterator[Record]:
        path = self.require("ovlabel.csv")
        subtitles = self.subtitles(self.require("subtitle_eng.csv"))
        media = Media(self.root / "video", self.root / "audio")
        for line, row in csv_rows(path):
            name = (row.get("name") or "").strip()
            words = self.openset(row.get("openset") if name else None, path, line)
            if words is not None:
                yield self.record(name, split, media, Labels(ov_emotions=words), subtitles.get(name, NO_SUBTITLE))


READERS = {"mer2023": Mer2023Reader, "mer2024": Mer2024Reader, "ov-merd": OvMerdReader}
