"""A split as a zarr store (one chunked array per feature, rows indexed by clip id) for random access by id."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from nanoemox.config import PipelineConfig
from nanoemox.datasets.record import Record
from nanoemox.shards.index import ShardError, read_index
from nanoemox.shards.reader import iter_split
from nanoemox.shards.sample import ShardSample
from nanoemox.shards.writer import ShardWriter

FEATURES = ("clip", "hubert", "face")


def export_zarr(split_dir: str | Path, store: str | Path, cfg: PipelineConfig) -> int:
    """Copy every sample of a split into `store` (a new path: nothing is ever overwritten); returns the clips."""
    if Path(store).exists():
        raise ShardError(f"{store}: already exists; export to a new path (nothing there is replaced)")
    index = read_index(split_dir)
    samples = list(iter_split(split_dir, cfg))
    group = zarr.open_group(str(store), mode="w-")
    for name in FEATURES:
        stacked = np.stack([getattr(s, name).numpy() for s in samples])
        group.create_array(name, shape=stacked.shape, chunks=(1, *stacked.shape[1:]), dtype="float16")[:] = stacked
    group.create_array("face_mask", shape=(len(samples), samples[0].face_mask.numel()), dtype=bool)[:] = np.stack(
        [s.face_mask.numpy() for s in samples]
    )
    group.create_array("ids", shape=(len(samples),), dtype=str)[:] = np.array([s.record.id for s in samples])
    extras = [{"record": s.record.to_dict(), "has_video": s.has_video, "has_audio": s.has_audio} for s in samples]
    group.create_array("records", shape=(len(samples),), dtype=str)[:] = np.array([json.dumps(e) for e in extras])
    group.attrs.update({"contract": index["contract"], "dataset": index.get("dataset"), "split": index.get("split")})
    return len(samples)


class ZarrFeatures:
    """`store[clip_id]` -> ShardSample, reading only that clip's chunks."""

    def __init__(self, store: str | Path):
        if not Path(store).exists():
            raise ShardError(f"{store}: zarr store not found")
        try:
            self.group = zarr.open_group(str(store), mode="r")
            self.rows = {clip_id: row for row, clip_id in enumerate(self.group["ids"][:])}
        except (zarr.errors.BaseZarrError, KeyError, OSError, ValueError) as err:
            raise ShardError(f"{store}: not a zarr store written by `nanoemox shards export` ({err})") from err

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, clip_id: str) -> ShardSample:
        import torch

        if clip_id not in self.rows:
            raise KeyError(f"clip '{clip_id}' is not in {self.group.store}")
        row = self.rows[clip_id]
        extra: dict[str, Any] = json.loads(str(self.group["records"][row]))
        return ShardSample(
            key=clip_id.replace(".", "_"),
            record=Record.from_dict(extra["record"]),
            clip=torch.from_numpy(self.group["clip"][row]),
            hubert=torch.from_numpy(self.group["hubert"][row]),
            face=torch.from_numpy(self.group["face"][row]),
            face_mask=torch.from_numpy(self.group["face_mask"][row]),
            has_video=extra["has_video"],
            has_audio=extra["has_audio"],
        )


def import_zarr(store: str | Path, split_dir: str | Path, shard_size: int) -> int:
    """Write the clips of a zarr store back as shards of a split (same contract)."""
    features = ZarrFeatures(store)
    contract = features.group.attrs.get("contract")
    if contract is None:
        raise ShardError(f"{store}: no contract in the store's attributes; was it made by `nanoemox shards export`?")
    attrs = features.group.attrs
    writer = ShardWriter(Path(split_dir), contract, shard_size, dataset=attrs.get("dataset"), split=attrs.get("split"))
    for clip_id in features.rows:
        sample = features[clip_id]
        masks = {"has_video": sample.has_video, "has_audio": sample.has_audio, "face": sample.face_mask.tolist()}
        arrays = {name: getattr(sample, name).numpy() for name in FEATURES}
        writer.write(clip_id, {"record": sample.record.to_dict(), "media": {}, "masks": masks}, arrays)
    writer.close()
    return len(features)
