"""Reading a split back: contract check, then plain `webdataset` decoding to tensors and model batches."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
import webdataset as wds
from webdataset.gopen import gopen_schemes

from nanoemox.config import PipelineConfig
from nanoemox.datasets.record import Record
from nanoemox.fileio import storage
from nanoemox.shards.contract import build_contract, check_contract
from nanoemox.shards.index import ShardError, read_index
from nanoemox.shards.sample import ShardSample

SHARD_MEMBERS = ("json", "clip.npy", "hubert.npy", "face.npy")  # what the writer stores per clip
# Only our members are decoded (NPY without pickles): a .pkl or .pth member a shard should not hold stays bytes
DECODER = wds.autodecode.Decoder([wds.autodecode.basichandlers], only=SHARD_MEMBERS)


def every_url(urls: list[str]) -> list[str]:
    return urls


def damaged_shard(exn: Exception) -> bool:
    """webdataset's error handler: a shard that cannot be read stops the job with one line naming it."""
    if isinstance(exn, ShardError):  # named by an inner stage; outer stages append their own arguments
        exn.args = exn.args[:1]
        raise exn
    reason, _, where = (str(exn.args[0]) if exn.args else repr(exn)).partition(" @ ")
    url = next((arg for arg in reversed(exn.args) if isinstance(arg, str) and arg.endswith(".tar")), None)
    named = re.search(r"name='([^']+)'", where)
    url = url or (named.group(1) if named else "a shard")
    raise ShardError(f"{url}: damaged shard ({reason}); re-run nanoemox-extract --overwrite for this split") from exn


def open_shard(url: str, mode: str = "rb", bufsize: int = 8192, **kw: Any):
    """webdataset's opener for URLs (s3://...): a streaming fsspec file, with the configured storage options."""
    return storage.open_read(url)


def all_samples(urls: list[str]) -> wds.WebDataset:
    """Every sample of the shards, in order: ranks are split by sample position here, not by shard."""
    for scheme in {url.split("://", 1)[0] for url in urls if storage.is_url(url)}:
        gopen_schemes[scheme] = open_shard  # webdataset's table of URL openers
    return wds.WebDataset(
        urls,
        shardshuffle=False,
        empty_check=False,
        nodesplitter=every_url,
        workersplitter=every_url,
        handler=damaged_shard,
    )


def checked_index(split_dir: str | Path, cfg: PipelineConfig) -> dict[str, Any]:
    """index.json of a split whose contract matches the model config and which holds samples."""
    index = read_index(split_dir)
    check_contract(index["contract"], build_contract(cfg), str(split_dir))
    if not index["total"]:
        raise ShardError(f"{split_dir}: the split has no samples (see its failures.jsonl)")
    return index


def shard_urls(split_dir: str | Path, index: dict[str, Any]) -> list[str]:
    return [storage.join(split_dir, shard["file"]) for shard in index["shards"]]


def to_sample(raw: dict[str, Any]) -> ShardSample:
    """A decoded webdataset sample (json + npy members) as a ShardSample; one that lacks a member comes from a
    shard cut short between members (tar reading stops there without an error)."""
    missing = [member for member in SHARD_MEMBERS if member not in raw]
    if missing:
        raise ShardError(
            f"{raw.get('__url__', 'a shard')}: damaged shard (clip {raw['__key__']} lacks {', '.join(missing)}); "
            "re-run nanoemox-extract --overwrite for this split"
        )
    meta = raw["json"]
    masks = meta["masks"]
    try:
        record = Record.from_dict(meta["record"])
    except (TypeError, KeyError) as err:  # not the record the writer stores
        raise ShardError(
            f"{raw.get('__url__', 'a shard')}: clip {raw['__key__']} has no valid record ({err}); "
            "re-run nanoemox-extract --overwrite for this split"
        ) from err
    return ShardSample(
        key=raw["__key__"],
        record=record,
        clip=torch.from_numpy(raw["clip.npy"]),
        hubert=torch.from_numpy(raw["hubert.npy"]),
        face=torch.from_numpy(raw["face.npy"]),
        face_mask=torch.tensor(masks["face"], dtype=torch.bool),
        has_video=masks["has_video"],
        has_audio=masks["has_audio"],
    )


def iter_split(split_dir: str | Path, cfg: PipelineConfig) -> Iterator[ShardSample]:
    """Every sample of a split in shard order (no shuffling): for scoring, inspection and export."""
    urls = shard_urls(split_dir, checked_index(split_dir, cfg))
    for raw in all_samples(urls):
        yield to_sample(DECODER(raw))
