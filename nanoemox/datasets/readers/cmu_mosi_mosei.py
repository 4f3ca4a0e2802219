"""CMU-MOSI and CMU-MOSEI (sentiment in [-3, 3]): CMU-MultimodalSDK .csd files, or AffectGPT's MER-UniBench layout.

`csd` layout (files at the root or one folder below it):
  - CMU_MOSI_Opinion_Labels.csd / CMU_MOSEI_Labels.csd: HDF5 with one top-level group holding
    data/<video id>/features [segments, k] and intervals [segments, 2] (seconds); features[:, 0] is the sentiment
    (MOSEI's other six columns are emotions).
  - cmu_mosi_std_folds.py / cmu_mosei_std_folds.py, the SDK's standard folds (lists standard_train_fold,
    standard_valid_fold, standard_test_fold of video ids), read as literals from the root or the installed `mmsdk`.
  - subtitles from the raw transcripts: MOSI Raw/Transcript/Segmented/<vid>.annotprocessed (`N_DELIM_text`, the
    N-th segment in time order), MOSEI Raw/Transcript/Segmented/Combined/<vid>.txt (`vid___N___start___end___text`,
    matched to the label interval); else from CMU_MOS(E)I_TimestampedWords.csd (the words inside the interval).
  - media: the full video (MOSI Raw/Video/Full/<vid>.mp4, MOSEI Raw/Videos/Full/Combined/<vid>.mp4) with the
    segment's start and end. Record id `<vid>_<N>`; a MOSEI segment with no transcript line keeps the SDK's
    aligned index (`vid[i]` -> `vid_i`).
`unibench` layout (AffectGPT's cmumosi-process / cmumosei-process folders): label.npz with train_corpus,
val_corpus, test_corpus ({name: {"val": sentiment}}), transcription-engchi-polish.csv (name, chinese, english),
clips subvideo/<name>.mp4 (MOSEI: subvideo_new/) and audio subaudio/<name>.wav.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import ClassVar

import h5py
import numpy as np

from nanoemox.datasets.base import DatasetError, clean_id, read_text
from nanoemox.datasets.readers.affectgpt import UniBenchSentiment
from nanoemox.datasets.record import Labels, Record

FOLD_SPLITS = {"standard_train_fold": "train", "standard_valid_fold": "dev", "standard_test_fold": "test"}


def find_file(root: Path, name: str) -> Path | None:
    """`name` at the root or one folder below it."""
    return next(iter(sorted(root.glob(name)) + sorted(root.glob(f"*/{name}"))), None)


def csd_data(stack: ExitStack, path: Path) -> h5py.Group:
    """The `data` group of a computational sequence (.csd), one HDF5 group per video; `stack` closes the file."""
    try:
        handle = stack.enter_context(h5py.File(path, "r"))
    except OSError as err:
        raise DatasetError(f"{path}: not an HDF5 computational sequence ({err})") from err
    roots = list(handle.keys())
    if len(roots) != 1 or "data" not in handle[roots[0]]:
        raise DatasetError(f"{path}: expected one top-level group with a 'data' group, found {roots}")
    return handle[roots[0]]["data"]


class CmuReader(UniBenchSentiment):
    """Shared by MOSI and MOSEI; subclasses name their SDK files, raw folders and transcript format."""

    layouts = ("csd", "unibench")
    sentiment_range = (-3.0, 3.0)
    audio_dir = "subaudio"
    labels_file: ClassVar[str]
    words_file: ClassVar[str]
    folds_module: ClassVar[str]  # e.g. CMU_MOSI/cmu_mosi_std_folds.py inside mmsdk's standard_datasets
    full_video_dir: ClassVar[str]

    def detect_layout(self) -> str:
        if find_file(self.root, self.labels_file):
            return "csd"
        if (self.root / "label.npz").is_file():
            return "unibench"
        raise self.layout_error(f"{self.labels_file} (SDK, at the root or one folder down) or label.npz (MER-UniBench)")

    def read_split(self, split: str) -> Iterator[Record]:
        yield from self.read_unibench(split) if self.layout == "unibench" else self.read_csd(split)

    def standard_folds(self) -> dict[str, str]:
        """Video id -> split, from the SDK's std_folds module (parsed as literals, never executed)."""
        file_name = self.folds_module.rsplit("/", 1)[-1]
        candidates = [find_file(self.root, file_name)]
        spec = importlib.util.find_spec("mmsdk")
        if spec and spec.submodule_search_locations:
            package = Path(next(iter(spec.submodule_search_locations)))
            candidates.append(package / "mmdatasdk" / "dataset" / "standard_datasets" / self.folds_module)
        path = next((p for p in candidates if p and p.is_file()), None)
        if path is None:
            raise DatasetError(
                f"{self.name} (csd layout): standard folds not found; copy {self.folds_module} from "
                f"CMU-MultimodalSDK (mmsdk/mmdatasdk/dataset/standard_datasets/) into {self.root} or install mmsdk"
            )
        folds: dict[str, str] = {}
        for node in ast.parse(read_text(path)).body:
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                split = FOLD_SPLITS.get(node.targets[0].id)
                if split:
                    folds.update(dict.fromkeys(ast.literal_eval(node.value), split))
        return folds

    def transcript(self, video: str) -> list[tuple[str, float | None, float | None, str]]:
        """(segment number, start, end, text) per line of the raw segmented transcript; [] when absent."""
        raise NotImplementedError

    def segment_name(self, rank: int, interval: np.ndarray, transcript: list) -> tuple[str | None, str | None]:
        """(segment number, text) of the `rank`-th segment in time order, from the transcript lines."""
        raise NotImplementedError

    def read_csd(self, split: str) -> Iterator[Record]:
        labels_path = find_file(self.root, self.labels_file)
        if labels_path is None:
            raise DatasetError(f"{self.name} (csd layout): {self.labels_file} not found under {self.root}")
        folds = self.standard_folds()
        words_path = find_file(self.root, self.words_file)
        with ExitStack() as stack:
            labels = csd_data(stack, labels_path)
            words = csd_data(stack, words_path) if words_path else None
            yield from self.csd_records(split, folds, labels_path, labels, words)

    def csd_records(
        self, split: str, folds: dict[str, str], labels_path: Path, labels: h5py.Group, words: h5py.Group | None
    ) -> Iterator[Record]:
        for video in sorted(labels):
            if folds.get(video) != split:
                continue
            features, intervals = labels[video]["features"][()], labels[video]["intervals"][()]
            if features.ndim != 2 or intervals.shape != (len(features), 2):
                self.bad_row(labels_path, 1, f"video {video}: features {features.shape} / intervals {intervals.shape}")
                continue
            transcript = self.transcript(video)
            for rank, index in enumerate(np.argsort(intervals[:, 0], kind="stable")):
                where = f"video {video} segment {index}"
                sentiment = self.sentiment(features[index, 0], labels_path, int(index) + 1, where)
                if sentiment is None:
                    continue
                start, end = (float(t) for t in intervals[index])
                number, text = self.segment_name(rank, intervals[index], transcript)
                if text is None and words is not None and video in words:
                    text = words_between(words[video], start, end)
                video_path = self.root / self.full_video_dir / f"{video}.mp4"
                yield Record(
                    id=clean_id(f"{video}_{index if number is None else number}"),
                    dataset=self.name,
                    split=split,
                    video=str(video_path),
                    audio=str(video_path),
                    start=start,
                    end=end,
                    subtitle=text or "",
                    labels=Labels(sentiment=sentiment),
                )


def words_between(entry: h5py.Group, start: float, end: float, slack: float = 0.01) -> str:
    """The words of a TimestampedWords entry inside [start, end], silence markers (`sp`) dropped."""
    words = [w.decode("utf-8") if isinstance(w, bytes) else str(w) for w in entry["features"][()][:, 0]]
    spans = entry["intervals"][()]
    inside = (w for w, (a, b) in zip(words, spans, strict=False) if start - slack <= a and b <= end + slack)
    return " ".join(w for w in inside if w != "sp")


class MosiReader(CmuReader):
    name = "mosi"
    labels_file = "CMU_MOSI_Opinion_Labels.csd"
    words_file = "CMU_MOSI_TimestampedWords.csd"
    folds_module = "CMU_MOSI/cmu_mosi_std_folds.py"
    full_video_dir = "Raw/Video/Full"
    video_dirs = ("subvideo",)

    def transcript(self, video: str) -> list[tuple[str, float | None, float | None, str]]:
        path = self.root / "Raw" / "Transcript" / "Segmented" / f"{video}.annotprocessed"
        if not path.is_file():
            return []
        lines = [line.split("_DELIM_", 1) for line in read_text(path).splitlines() if "_DELIM_" in line]
        return [(number.strip(), None, None, text.strip()) for number, text in lines]

    def segment_name(self, rank: int, interval: np.ndarray, transcript: list) -> tuple[str | None, str | None]:
        """MOSI segments are numbered from 1 in time order (Raw/Video/Segmented/<vid>_<N>.mp4)."""
        number = str(rank + 1)
        text = next((line[3] for line in transcript if line[0] == number), None)
        return number, text


class MoseiReader(CmuReader):
    name = "mosei"
    labels_file = "CMU_MOSEI_Labels.csd"
    words_file = "CMU_MOSEI_TimestampedWords.csd"
    folds_module = "CMU_MOSEI/cmu_mosei_std_folds.py"
    full_video_dir = "Raw/Videos/Full/Combined"
    video_dirs = ("subvideo_new", "subvideo")

    def transcript(self, video: str) -> list[tuple[str, float | None, float | None, str]]:
        path = self.root / "Raw" / "Transcript" / "Segmented" / "Combined" / f"{video}.txt"
        if not path.is_file():
            return []
        lines = []
        for line in read_text(path).splitlines():
            parts = line.strip().split("___", 4)
            if len(parts) == 5:
                try:
                    lines.append((parts[1], float(parts[2]), float(parts[3]), parts[4].strip()))
                except ValueError:
                    continue
        return lines

    def segment_name(self, rank: int, interval: np.ndarray, transcript: list) -> tuple[str | None, str | None]:
        """The transcript line with the label's interval (the SDK copied the transcript times into the labels)."""
        start, end = (float(t) for t in interval)
        match = next((line for line in transcript if abs(line[1] - start) < 1e-3 and abs(line[2] - end) < 1e-3), None)
        return (match[0], match[3]) if match else (None, None)


READERS = {"mosi": MosiReader, "mosei": MoseiReader}
