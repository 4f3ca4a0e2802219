"""Writes one split's shards: each tar appears atomically and is listed in index.json, so a killed job resumes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import webdataset as wds

from nanoemox.fileio import storage
from nanoemox.shards.contract import contract_hash
from nanoemox.shards.index import FAILURES_FILE, INDEX_FILE, ShardError, read_index, write_json_atomic


def shard_name(number: int) -> str:
    return f"shard-{number:06d}.tar"


def sample_key(clip_id: str) -> str:
    """The clip's WebDataset key. Keys may not contain dots (they separate the key from the member type), so '.'
    is written %2E and '%' %25: distinct ids keep distinct keys. The id itself is in the JSON record."""
    return clip_id.replace("%", "%25").replace(".", "%2E")


class ShardWriter:
    """Buffers samples into a staging tar; every `shard_size` samples the tar is published whole (a rename, or
    one upload to object storage) and then indexed.

    On opening an existing split it checks the contract, drops unfinished temporary tars, and reports the
    clip ids already written (`done`), so re-running a job neither duplicates nor drops a clip.
    """

    def __init__(
        self, split_dir: str | Path, contract: dict[str, Any], shard_size: int, overwrite: bool = False, **info: Any
    ):
        self.dir, self.shard_size = str(split_dir), shard_size
        if overwrite:
            storage.remove(self.dir)
        storage.makedirs(self.dir)
        for stale in storage.list_names(self.dir):
            if stale.endswith(".tmp"):
                storage.remove(storage.join(self.dir, stale))
        if storage.is_file(storage.join(self.dir, INDEX_FILE)):
            self.index = read_index(self.dir)
            if self.index["contract_hash"] != contract_hash(contract):
                raise ShardError(
                    f"{self.dir}: existing shards were made with another contract (encoders, layers or "
                    "preprocessing); pass --overwrite to start over, or write to another --out"
                )
        else:
            self.index = {
                "contract": contract,
                "contract_hash": contract_hash(contract),
                **info,
                "shards": [],
                "total": 0,
            }
        self.done = {clip_id for shard in self.index["shards"] for clip_id in shard["ids"]}
        self.bytes_written = 0
        self._tar: wds.TarWriter | None = None
        self._ids: list[str] = []

    def write(self, clip_id: str, record: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """One clip: its JSON record and its float16 arrays (`clip`, `hubert`, `face`)."""
        if clip_id in self.done:
            return
        if self._tar is None:
            self._name = shard_name(len(self.index["shards"]))
            self._staging = storage.staging_file(storage.join(self.dir, self._name))
            # whole seconds: a fractional mtime puts a PAX header before every member, parsed again on every read
            self._tar = wds.TarWriter(self._staging, mtime=int(time.time()))
        sample = {"__key__": sample_key(clip_id), "json": record}
        sample.update({f"{name}.npy": value for name, value in arrays.items()})
        self._tar.write(sample)
        self._ids.append(clip_id)
        self.done.add(clip_id)
        if len(self._ids) >= self.shard_size:
            self.commit()

    def commit(self) -> None:
        """Close the open tar, publish it under its final name, and list it in index.json."""
        if self._tar is None:
            return
        self._tar.close()
        self.bytes_written += Path(self._staging).stat().st_size
        storage.publish_file(self._staging, storage.join(self.dir, self._name))
        self.index["shards"].append({"file": self._name, "count": len(self._ids), "ids": self._ids})
        self.index["total"] = sum(s["count"] for s in self.index["shards"])
        write_json_atomic(storage.join(self.dir, INDEX_FILE), self.index)
        self._tar, self._ids = None, []

    def close(self) -> None:
        """Commit the last, partial shard; an index is written even when no clip succeeded."""
        self.commit()
        if not storage.is_file(storage.join(self.dir, INDEX_FILE)):
            write_json_atomic(storage.join(self.dir, INDEX_FILE), self.index)

    @property
    def failures_path(self) -> str:
        return storage.join(self.dir, FAILURES_FILE)
