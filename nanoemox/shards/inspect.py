"""`nanoemox shards inspect`: what a shards folder holds, per split: counts, contract, size per clip, failures."""

from __future__ import annotations

import tarfile
from pathlib import Path

from nanoemox.fileio import storage
from nanoemox.shards.index import FAILURES_FILE, ShardError, find_splits, read_index


def damaged_shards(split_dir: str | Path, index: dict) -> list[str]:
    """Shards whose tar cannot be read through, or holds another number of clips than the index says."""
    damaged = []
    for shard in index["shards"]:
        try:
            with storage.open_read(storage.join(split_dir, shard["file"])) as f, tarfile.open(fileobj=f) as tar:
                clips = {member.name.split(".", 1)[0] for member in tar.getmembers()}
        except (tarfile.TarError, OSError):
            clips = None
        if clips is None or len(clips) != shard["count"]:
            damaged.append(shard["file"])
    return damaged


def describe_split(split_dir: str | Path) -> dict:
    index = read_index(split_dir)
    model = index["contract"]["model"]
    size = sum(storage.size(storage.join(split_dir, s["file"])) for s in index["shards"])
    failures = storage.join(split_dir, FAILURES_FILE)
    return {
        "split_dir": str(split_dir),
        "dataset": index.get("dataset"),
        "split": index.get("split"),
        "shards": len(index["shards"]),
        "clips": index["total"],
        "bytes": size,
        "bytes_per_clip": size / index["total"] if index["total"] else 0,
        "failures": len(storage.read_bytes(failures).splitlines()) if storage.is_file(failures) else 0,
        "encoders": {
            name: model[name]["name_or_path" if name != "face" else "checkpoint"] for name in ("clip", "hubert", "face")
        },
        "shapes": {name: model[name]["shape"] for name in ("clip", "hubert", "face")},
        "layers": {name: model[name]["layers"] for name in ("clip", "hubert")},
        "contract_hash": index["contract_hash"],
        "damaged": damaged_shards(split_dir, index),
    }


def inspect_shards(root: str | Path) -> list[dict]:
    splits = find_splits(root)
    if not splits:
        raise ShardError(f"{root}: no split folders (index.json) found")
    return [describe_split(s) for s in splits]


def format_inspection(entries: list[dict]) -> str:
    lines = []
    for e in entries:
        lines.append(
            f"{e['dataset']}/{e['split']}: {e['clips']} clips in {e['shards']} shards, "
            f"{e['bytes'] / 1e6:.1f} MB ({e['bytes_per_clip'] / 1024:.0f} KB/clip), {e['failures']} failures"
        )
        lines.append(f"  encoders {e['encoders']}  contract {e['contract_hash']}")
        lines.append(f"  shapes {e['shapes']}  layers {e['layers']}")
        if e["damaged"]:
            lines.append(f"  DAMAGED (re-run nanoemox-extract --overwrite): {', '.join(e['damaged'])}")
    return "\n".join(lines)
