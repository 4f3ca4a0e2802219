"""Training data: shard streams per (task, dataset), mixed with the phase's true task weights, resumable exactly.

Each source streams its split's shards in epochs. An epoch's shard order and shuffle buffer are seeded by
(seed, source, epoch), and samples are split across DDP ranks by position, so no sample repeats within an
epoch on any rank. The data position is (mixer RNG state, per-source epoch and samples consumed): restoring
it and skipping the consumed raw samples (before decoding) replays the same stream.
"""

from __future__ import annotations

import itertools
import logging
import queue
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import webdataset as wds

from nanoemox.config import PhaseConfig, PipelineConfig
from nanoemox.datasets.registry import DATASETS
from nanoemox.errors import NanoEmoXError
from nanoemox.fileio import storage
from nanoemox.model.batching import TrainingExample
from nanoemox.shards.index import INDEX_FILE
from nanoemox.shards.reader import DECODER, all_samples, checked_index, shard_urls, to_sample
from nanoemox.shards.sample import ShardSample

log = logging.getLogger(__name__)
SKIPPED = "%s: clip %s has non-finite %s features (NaN or inf); skipped, re-extract it"


@dataclass(frozen=True)
class Source:
    """One dataset split feeding one task, with its share of the phase's samples."""

    task: str
    dataset: str
    urls: tuple[str, ...]
    size: int
    weight: float


def phase_sources(
    features: str | Path, cfg: PipelineConfig, phase: str, split: str = "train", required: bool = True
) -> list[Source]:
    """The sources of a phase's mix: a task's weight is shared by its datasets by the phase's `dataset_weights`
    for that task, else equally or by size (`dataset_weighting`); every problem (unknown dataset, missing or
    mismatched shards) fails here. With `required` False, datasets that have no such split are left out
    (held-out splits are optional)."""
    spec = cfg.train.phases[phase]
    total_weight = sum(spec.tasks.values())
    sources = []
    for task, weight in spec.tasks.items():
        found = []
        for dataset in spec.datasets[task]:
            if dataset not in DATASETS:
                raise NanoEmoXError(
                    f"unknown dataset '{dataset}' in train.phases.{phase}.datasets.{task}; known: {', '.join(DATASETS)}"
                )
            split_dir = storage.join(features, dataset, split)
            if not storage.is_file(storage.join(split_dir, INDEX_FILE)):
                if not required:
                    continue
                raise NanoEmoXError(missing_from_mix(features, phase, task, dataset, split, spec.datasets[task]))
            index = checked_index(split_dir, cfg)
            found.append((dataset, tuple(shard_urls(split_dir, index)), index["total"]))
        for (dataset, urls, size), share in zip(found, dataset_shares(spec, task, found), strict=True):
            sources.append(Source(task, dataset, urls, size, weight / total_weight * share))
    return sources


def missing_from_mix(features: str | Path, phase: str, task: str, dataset: str, split: str, mix: list[str]) -> str:
    """Why a phase wants shards the user may never have named (the phase's mix in the config), and the two fixes."""
    have = [name for name in DATASETS if storage.is_file(storage.join(features, name, split, INDEX_FILE))]
    change = f"--set train.phases.{phase}.datasets.{task}=[{', '.join(have) or 'DATASET'}]"
    return (
        f"{storage.join(features, dataset, split)}: no index.json; phase {phase}'s mix trains {task} on "
        f"{', '.join(mix)} (train.phases.{phase}.datasets.{task}): extract {dataset} first (nanoemox-extract "
        f"--dataset {dataset}), or train on the shards there are: {change}"
    )


def dataset_shares(spec: PhaseConfig, task: str, found: list[tuple[str, Any, int]]) -> list[float]:
    """Each found (dataset, urls, size)'s share of its task: the explicit weights, or equal, or by size."""
    if task in spec.dataset_weights:
        weights = [spec.dataset_weights[task][dataset] for dataset, _, _ in found]
    elif spec.dataset_weighting == "size":
        weights = [float(size) for _, _, size in found]
    else:
        weights = [1.0] * len(found)
    total = sum(weights) or 1.0
    return [w / total for w in weights]


def non_finite(sample: ShardSample) -> str:
    """The features of a clip that hold NaN or inf ('' when none): such a clip would make every step it is in
    non-finite, so it is left out of training and validation."""
    return ", ".join(name for name in ("clip", "hubert", "face") if not torch.isfinite(getattr(sample, name)).all())


def usable(sample: ShardSample) -> bool:
    """False (and a warning naming the clip) for a clip with non-finite features."""
    bad = non_finite(sample)
    if bad:
        log.warning(SKIPPED, sample.record.dataset, sample.record.id, bad)
    return not bad


class SourceStream:
    """Endless samples of one source for one DDP rank, epoch after epoch, from a restorable position."""

    def __init__(self, source: Source, seed: int, rank: int, world: int, buffer: int):
        self.source, self.seed, self.rank, self.world, self.buffer = source, seed, rank, world, buffer
        self.epoch, self.consumed = 0, 0
        self.named: set[str] = set()  # clips with non-finite features, named once
        self._iter = self._start()

    def _raw_epoch(self) -> Iterator[dict[str, Any]]:
        rng = random.Random(f"{self.seed}/{self.source.task}/{self.source.dataset}/{self.epoch}")
        urls = list(self.source.urls)
        rng.shuffle(urls)
        samples = iter(all_samples(urls))
        mine = itertools.islice(samples, self.rank, None, self.world)  # rank r keeps samples r, r+world, ...
        return wds.filters.shuffle(bufsize=self.buffer, initial=self.buffer, rng=rng)(mine)

    def _start(self) -> Iterator[dict[str, Any]]:
        self._draws = random.Random(
            f"{self.seed}/{self.rank}/{self.source.task}/{self.source.dataset}/{self.epoch}/draws"
        )
        for _ in range(self.consumed):  # the same variants as before a resume
            self._draws.getrandbits(31)
        return itertools.islice(self._raw_epoch(), self.consumed, None)

    def __next__(self) -> ShardSample:
        """The next stored sample with finite features; a clip with NaN or inf features is named once, skipped."""
        for _ in range(self.source.size + 1):  # more than one epoch of this rank's samples
            sample = self._next_stored()
            if sample.record.id in self.named:
                continue
            if usable(sample):
                return sample
            self.named.add(sample.record.id)
        raise NanoEmoXError(f"{self.source.dataset}: every clip has non-finite features; re-extract its shards")

    def _next_stored(self) -> ShardSample:
        for _ in range(2):
            raw = next(self._iter, None)
            if raw is not None:
                self.consumed += 1
                sample = to_sample(DECODER(raw))
                sample.draw = self._draws.getrandbits(31)
                return sample
            self.epoch, self.consumed = self.epoch + 1, 0
            self._iter = self._start()
        raise NanoEmoXError(f"{self.source.dataset}: rank {self.rank} of {self.world} gets no samples from its shards")


class TaskMixer:
    """Draws a source by weight for each example; yields (task, sample) pairs whose labels fit the task."""

    def __init__(self, sources: list[Source], seed: int, rank: int = 0, world: int = 1, buffer: int = 1000):
        self.sources = sources
        self.rng = random.Random(f"{seed}/mixer/{rank}")
        self.streams = [SourceStream(s, seed, rank, world, buffer) for s in sources]

    def __iter__(self) -> Iterator[tuple[str, ShardSample]]:
        weights = [s.weight for s in self.sources]
        while True:
            index = self.rng.choices(range(len(self.sources)), weights)[0]
            sample = next(self.streams[index])
            if self.sources[index].task in sample.record.labels.tasks():
                yield self.sources[index].task, sample

    def state(self) -> dict[str, Any]:
        version, internal, gauss = self.rng.getstate()
        return {"rng": [version, list(internal), gauss], "streams": [[s.epoch, s.consumed] for s in self.streams]}

    def restore(self, state: dict[str, Any]) -> None:
        version, internal, gauss = state["rng"]
        self.rng.setstate((version, tuple(internal), gauss))
        for stream, (epoch, consumed) in zip(self.streams, state["streams"], strict=True):
            stream.epoch, stream.consumed = epoch, consumed
            stream._iter = stream._start()


Example = tuple[str, ShardSample]
MAX_SKIPPED_IN_A_ROW = 1000  # over-length samples drawn with none fitting: the limit is too low for the data


class LengthGroupedBatches:
    """Batches of similar length, so little of each is padding, with the task mixer's exact ratios.

    A window of `window` batches' worth of examples is drawn from the mixer in order, tokenized once by `tokenize`
    (`training_examples`), sorted by length and cut into batches of tokenized examples, which are served in a
    seeded random order. Every drawn example that fits `model.lm.max_length` whole is served once, so the task
    ratios are the mixer's; one that does not (`tokenize` gives None) is skipped and named in `skipped`, never
    cut. The position (the mixer's state at the window's start, how many windows and how many of this window's
    batches were served) restores the same batches exactly.
    """

    def __init__(
        self,
        mixer: TaskMixer,
        batch_size: int,
        window: int,
        tokenize: Callable[[list[Example]], list[TrainingExample | None]],
        seed: int = 0,
    ):
        self.mixer, self.batch_size, self.window, self.tokenize = mixer, batch_size, window, tokenize
        self.seed = seed
        self.examples = iter(mixer)
        self.windows, self.served = 0, 0
        self.start = mixer.state()
        self.batches: list[list[TrainingExample]] = []
        self.skipped: list[str] = []

    def __iter__(self) -> Iterator[list[TrainingExample]]:
        return self

    def __next__(self) -> list[TrainingExample]:
        if self.served == len(self.batches):
            self.windows += bool(self.batches)
            self._draw()
        self.served += 1
        return self.batches[self.served - 1]

    def _draw(self) -> None:
        self.start, self.served = self.mixer.state(), 0
        drawn: list[TrainingExample] = []
        in_a_row = 0
        while len(drawn) < self.batch_size * self.window:
            more = list(itertools.islice(self.examples, self.batch_size * self.window - len(drawn)))
            for (task, sample), tokenized in zip(more, self.tokenize(more), strict=True):
                if tokenized is None:
                    self.skipped.append(f"{task} {sample.record.dataset}/{sample.record.id}")
                    in_a_row += 1
                else:
                    drawn.append(tokenized)
                    in_a_row = 0
            if in_a_row >= MAX_SKIPPED_IN_A_ROW:
                raise NanoEmoXError(
                    f"{in_a_row} samples in a row do not fit model.lm.max_length with their whole answer "
                    f"(e.g. {self.skipped[-1]}); raise model.lm.max_length or drop the dataset from the phase"
                )
        ordered = sorted(drawn, key=len)  # stable: ties keep their drawn order
        self.batches = [ordered[i : i + self.batch_size] for i in range(0, len(ordered), self.batch_size)]
        random.Random(f"{self.seed}/window/{self.windows}").shuffle(self.batches)

    def state(self) -> dict[str, Any]:
        return self.start | {"windows": self.windows, "served": self.served}

    def restore(self, state: dict[str, Any]) -> None:
        """Return to a saved position; a position saved by the plain mixer (no window fields) starts a window."""
        self.mixer.restore(state)
        self.windows = state.get("windows", 0)
        self._draw()
        self.served = state.get("served", 0)


class Prefetcher:
    """Builds the next items in a background thread while the current step computes.

    Each item comes with the data position right after it, so a checkpoint saves where training really is,
    not where the prefetcher has read ahead to.
    """

    def __init__(self, make: Callable[[], Any], position: Callable[[], dict[str, Any]], depth: int = 2):
        self.queue: queue.Queue = queue.Queue(maxsize=depth)
        self.make, self.position = make, position
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._fill, name="nanoemox-prefetch", daemon=True)
        self.thread.start()

    def _fill(self) -> None:
        while not self.stopped.is_set():
            try:
                item = (self.make(), self.position())
            except Exception as err:  # surfaced in the training loop, not lost in the thread
                item = (err, None)
            while not self.stopped.is_set():
                try:
                    self.queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if isinstance(item[0], Exception):
                return

    def close(self) -> None:
        self.stopped.set()
        self.thread.join()

    def next(self) -> tuple[Any, dict[str, Any]]:
        item, position = self.queue.get()
        if isinstance(item, Exception):
            raise item
        return item, position


def validation_examples(sources: list[Source], limit: int) -> list[tuple[str, ShardSample]]:
    """Up to `limit` held-out (task, sample) pairs per source, in a fixed order."""
    examples = []
    for source in sources:
        samples = (to_sample(DECODER(raw)) for raw in all_samples(list(source.urls)))
        fitting = ((source.task, s) for s in samples if source.task in s.record.labels.tasks() and usable(s))
        examples += itertools.islice(fitting, limit)
    return examples
