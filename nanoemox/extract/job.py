"""The extraction job on Ray Data: records -> DecodeStage (CPU actors) -> EncodeStage (GPU actors) -> shards.

The driver writes the shards, so each tar appears atomically and the job resumes where it was killed.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass

import numpy as np

from nanoemox.config import PipelineConfig, save_config
from nanoemox.datasets import open_dataset
from nanoemox.datasets.base import DatasetError, DatasetReader
from nanoemox.datasets.record import Record
from nanoemox.extract.encode import EncodeStage
from nanoemox.extract.stages import DecodeStage
from nanoemox.fileio import storage
from nanoemox.fileio.files import writing
from nanoemox.fileio.locks import locked
from nanoemox.runtime.cluster import map_on_actors, require_gpus, start_ray
from nanoemox.runtime.hub import check_weights
from nanoemox.runtime.progress import progress
from nanoemox.shards.contract import build_contract
from nanoemox.shards.writer import ShardWriter

log = logging.getLogger(__name__)


@dataclass
class ExtractSummary:
    dataset: str
    split: str
    done: int = 0
    skipped: int = 0  # written by an earlier run
    failed: int = 0
    no_face_clips: int = 0  # clips with video but no face in any frame
    no_face_frames: int = 0
    no_audio: int = 0
    no_video: int = 0  # audio-only clips
    bytes_written: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        per_clip = self.bytes_written / self.done / 1024 if self.done else 0.0
        return (
            f"{self.dataset}/{self.split}: {self.done} clips written, {self.skipped} already done, "
            f"{self.failed} failed, {self.no_face_clips} without a face ({self.no_face_frames} frames), "
            f"{self.no_audio} without audio, {self.no_video} without video; "
            f"{self.bytes_written / 1e6:.1f} MB ({per_clip:.0f} KB/clip)"
        )


def total_line(summaries: list[ExtractSummary]) -> str:
    """One line for a whole pass (its splits share the wall time): clips and clips/s."""
    done = sum(s.done for s in summaries)
    seconds = max((s.seconds for s in summaries), default=0.0)
    rate = done / seconds if seconds else 0.0
    return f"extract: {done} clips in {seconds:.0f} s ({rate:.2f} clips/s)"


@dataclass
class ExtractOptions:
    dataset: str
    root: str
    out: str
    split: str | None = None
    layout: str | None = None
    lenient: bool = False
    limit: int | None = None
    overwrite: bool = False


def extract(cfg: PipelineConfig, *options: ExtractOptions) -> list[ExtractSummary]:
    """`nanoemox-extract`'s whole job: every split of each dataset, with a line per split and one in all."""
    with writing(options[0].out):
        summaries = run_extract(cfg, *options)
    for summary in summaries:
        print(summary.line(), flush=True)
    print(total_line(summaries), flush=True)
    failed = sum(s.failed for s in summaries)
    if failed:
        print(f"{failed} clip(s) failed; see failures.jsonl in each split folder", file=sys.stderr)
    return summaries


def encoder_batch_size(cfg: PipelineConfig) -> int:
    """extract.batch_size, or when null: 16 clips a call on GPUs, 1 on the CPU (bigger batches spill its caches)."""
    if cfg.extract.batch_size is not None:
        return cfg.extract.batch_size
    return 16 if cfg.extract.num_gpus else 1


def clips_per_decode_task(clips: int, actors: int) -> int:
    """Up to 4 clips per Ray task (fewer tasks: 4% faster than 1 on the bench), but at least 4 tasks per decode
    actor, so small jobs still stream and share the work; each clip keeps its own timeout and failure row."""
    return max(1, min(4, clips // (4 * actors)))


def feature_rows(cfg: PipelineConfig, records: list[Record]):
    """Rows with features (or an error) for each record, computed by Ray Data actor pools."""
    import ray

    cpus = ray.cluster_resources().get("CPU", 1.0)
    gpus = cfg.extract.num_gpus
    items = [{"record": json.dumps(r.to_dict())} for r in records]
    encoder_cpus = 0.0 if gpus else 0.5  # on CPU the encoder shares cores with decoding, which dominates
    decode_actors = max(1, min(len(items), int(cpus)))
    dataset = map_on_actors(
        ray.data.from_items(items),
        DecodeStage,
        fn_constructor_args=(cfg,),
        batch_size=clips_per_decode_task(len(items), decode_actors),
        compute=ray.data.ActorPoolStrategy(size=decode_actors),
        num_cpus=(cpus - encoder_cpus) / decode_actors,
    )
    dataset = map_on_actors(
        dataset,
        EncodeStage,
        fn_constructor_args=(cfg, "cuda" if gpus else "cpu"),
        batch_size=encoder_batch_size(cfg),
        compute=ray.data.ActorPoolStrategy(size=max(1, int(gpus)) if gpus else 1),
        num_gpus=min(gpus, 1.0) if gpus else 0,
        num_cpus=encoder_cpus,
    )
    return dataset.iter_rows()


def first_of_each_id(records: list[Record]) -> tuple[list[Record], list[Record]]:
    """The first record of each id, and the later records whose id is taken (they cannot be stored under it)."""
    first: dict[str, Record] = {}
    repeats = []
    for record in records:
        if record.id in first:
            repeats.append(record)
        else:
            first[record.id] = record
    return list(first.values()), repeats


def empty_splits(reader: DatasetReader, plans: dict[str, list[Record]]) -> str:
    """Why each empty split is empty: its annotation file is missing, or holds no rows."""
    return "; ".join(
        f"{split}: {reader.absent[split]} not found" if split in reader.absent else f"{split}: no rows in {reader.root}"
        for split, records in plans.items()
        if not records
    )


def open_split(
    cfg: PipelineConfig, options: ExtractOptions, split: str, locks: ExitStack
) -> tuple[ShardWriter, ExtractSummary]:
    """The split's writer, once this job holds the split's lock (a second job writing it is refused)."""
    split_dir = storage.join(options.out, options.dataset, split)
    locks.enter_context(locked(split_dir, "nanoemox-extract"))
    writer = ShardWriter(
        split_dir,
        build_contract(cfg),
        cfg.extract.shard_size,
        overwrite=options.overwrite,
        dataset=options.dataset,
        split=split,
        config_hash=cfg.model_hash(),
    )
    save_config(cfg, split_dir)
    return writer, ExtractSummary(options.dataset, split)


def write_clip(writer: ShardWriter, record: Record, row: dict, summary: ExtractSummary) -> None:
    face_mask = np.asarray(row["face_mask"], bool)
    has_video, has_audio = bool(row["has_video"]), bool(row["has_audio"])
    if has_video and not face_mask.any():
        summary.no_face_clips += 1
    summary.no_face_frames += int((~face_mask).sum()) if has_video else 0
    summary.no_audio += not has_audio
    summary.no_video += not has_video
    meta = {
        "record": record.to_dict(),
        "media": json.loads(row["meta"]),
        "masks": {"has_video": has_video, "has_audio": has_audio, "face": face_mask.tolist()},
    }
    arrays = {name: np.asarray(row[name], np.float16) for name in ("clip", "hubert", "face")}
    writer.write(record.id, meta, arrays)
    summary.done += 1


def run_extract(cfg: PipelineConfig, *jobs: ExtractOptions) -> list[ExtractSummary]:
    """Extract every requested split of one or more datasets in one Ray Data pass (actors start once);
    returns one summary per split. With local Ray, the encoders' weights must be on this machine (a cluster's
    nodes have their own)."""
    if cfg.extract.address is None:
        check_weights(cfg.model, ("clip", "hubert", "face"))
    with ExitStack() as locks:
        return _extract(cfg, jobs, locks)


def _extract(cfg: PipelineConfig, jobs: tuple[ExtractOptions, ...], locks: ExitStack) -> list[ExtractSummary]:
    opened: dict[tuple[str, str], tuple[ShardWriter, ExtractSummary]] = {}
    todo: list[Record] = []
    repeated: list[Record] = []
    for options in jobs:
        reader = open_dataset(options.dataset, options.root, options.layout, options.lenient)
        splits = [options.split] if options.split else list(reader.splits)
        plans = {split: list(reader.read(split))[: options.limit] for split in splits}
        for message in reader.skipped:
            log.warning("%s (--lenient)", message)
        if (options.split and not plans[options.split]) or not any(plans.values()):
            raise DatasetError(f"{options.dataset}: no records to extract ({empty_splits(reader, plans)})")
        for split, records in plans.items():
            if not records:
                continue
            writer, summary = opened[(options.dataset, split)] = open_split(cfg, options, split, locks)
            unique, repeats = first_of_each_id(records)
            repeated += repeats
            pending = [r for r in unique if r.id not in writer.done]
            summary.skipped = len(unique) - len(pending)
            todo += pending
    started = time.perf_counter()
    if todo:
        start_ray(cfg.extract.address, cfg.extract.num_cpus, storage.local_folder(jobs[0].out))
        gpus = cfg.extract.num_gpus
        require_gpus(min(gpus, 1.0) * max(1, int(gpus)), f"--num-gpus {gpus:g}")  # as feature_rows asks
    logs = {key: storage.open_log(writer.failures_path, []) for key, (writer, _) in opened.items()}
    for record in repeated:  # a second clip with an id already taken would overwrite or be dropped: list it
        key = (record.dataset, record.split)
        opened[key][1].failed += 1
        error = f"{record.video or record.audio or record.frames_dir}: an earlier clip of the split has id {record.id}"
        logs[key].write(json.dumps({"id": record.id, "stage": "id", "error": error}) + "\n")
    names = ", ".join(sorted({options.dataset for options in jobs}))
    with progress(total=len(todo), desc=f"extract {names}", unit="clip") as bar:
        for row in feature_rows(cfg, todo) if todo else []:
            record = Record.from_dict(json.loads(row["record"]))
            key = (record.dataset, record.split)
            writer, summary = opened[key]
            if row["error"]:
                summary.failed += 1
                logs[key].write(json.dumps({"id": record.id, "stage": row["stage"], "error": row["error"]}) + "\n")
                logs[key].flush()
            else:
                write_clip(writer, record, row, summary)
            bar.update()
    for key, (writer, summary) in opened.items():
        logs[key].close()
        writer.close()
        summary.seconds = time.perf_counter() - started
        summary.bytes_written = writer.bytes_written
    return [summary for _, summary in opened.values()]
