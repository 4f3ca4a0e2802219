"""index.json of a split: shard files, their clip ids and counts, the contract; written atomically."""

from __future__ import annotations

import json
import posixpath
from pathlib import Path
from typing import Any

from nanoemox.errors import NanoEmoXError
from nanoemox.fileio import storage
from nanoemox.fileio.files import read_text

INDEX_FILE = "index.json"
FAILURES_FILE = "failures.jsonl"


class ShardError(NanoEmoXError):
    """A split folder that is missing, empty or damaged."""


def write_json_atomic(path: str | Path, data: Any) -> None:
    """Readers never see half a file (storage.put_text)."""
    storage.put_text(path, json.dumps(data, indent=1))


def read_index(split_dir: str | Path) -> dict[str, Any]:
    path = storage.join(split_dir, INDEX_FILE)
    if not storage.is_file(path):
        raise ShardError(f"{split_dir}: no {INDEX_FILE}; run nanoemox-extract for this dataset and split first")
    try:
        index = json.loads(read_text(path, "shard index"))
    except json.JSONDecodeError as err:
        raise ShardError(f"{path}: damaged index ({err.msg})") from err
    problem = _index_problem(index)
    if problem:
        raise ShardError(f"{path}: not an index written by nanoemox-extract ({problem})")
    present = set(storage.list_names(split_dir))
    missing = [s["file"] for s in index.get("shards", []) if s["file"] not in present]
    if missing:
        raise ShardError(f"{split_dir}: index lists shard(s) that are missing: {', '.join(missing[:3])}")
    return index


def _index_problem(index: Any) -> str | None:
    """What makes a parsed index.json unusable (a key missing or of the wrong type), or None."""
    if not isinstance(index, dict):
        return f"a JSON object is needed, got {type(index).__name__}"
    missing = [key for key in ("contract", "contract_hash", "shards", "total") if key not in index]
    if missing:
        return f"no {', '.join(missing)}"
    for key, kind in (("contract", dict), ("contract_hash", str), ("shards", list), ("total", int)):
        if not isinstance(index[key], kind):
            return f"'{key}' must be {kind.__name__}, got {type(index[key]).__name__}"
    for number, shard in enumerate(index["shards"]):
        fields = shard if isinstance(shard, dict) else {}
        kinds = (("file", str), ("count", int), ("ids", list))
        if not all(isinstance(fields.get(key), kind) for key, kind in kinds):
            return f"shards[{number}] must hold file (text), count (number) and ids (list)"
        if fields["file"] in ("", ".", "..") or posixpath.basename(fields["file"]) != fields["file"]:
            return f"shards[{number}] file {fields['file']!r} is not a file name inside its folder"
    return None


def find_splits(root: str | Path) -> list[str]:
    """Every split folder (holding index.json) under `root`, which may itself be one."""
    if storage.is_file(storage.join(root, INDEX_FILE)):
        return [str(root)]
    return [storage.parent(found) for found in storage.find(root, INDEX_FILE)]
