import json
import tarfile

import numpy as np
import pytest

from nanoemox.config import load_config
from nanoemox.datasets.record import Record
from nanoemox.shards.contract import ShardContractError, build_contract
from nanoemox.shards.index import ShardError, read_index
from nanoemox.shards.reader import checked_index, iter_split
from nanoemox.shards.sample import collate_features
from nanoemox.shards.writer import ShardWriter


def arrays(cfg, value=0.5):
    contract = build_contract(cfg)["model"]
    return {name: np.full(contract[name]["shape"], value, np.float16) for name in ("clip", "hubert", "face")}


def meta(clip_id, video=True, audio=True):
    return {
        "record": Record(clip_id, "meld", "test").to_dict(),
        "media": {},
        "masks": {"has_video": video, "has_audio": audio, "face": [True] * 8},
    }


def write(cfg, split_dir, ids, shard_size=2, **kw):
    writer = ShardWriter(split_dir, build_contract(cfg), shard_size, **kw)
    for clip_id in ids:
        writer.write(clip_id, meta(clip_id), arrays(cfg))
    return writer


def test_shards_commit_atomically_and_resume_without_duplicates(tiny_cfg, tmp_path):
    writer = write(tiny_cfg, tmp_path, ["a", "b", "c"])
    assert [p.name for p in sorted(tmp_path.glob("shard-*"))] == ["shard-000000.tar", "shard-000001.tar.tmp"]
    assert read_index(tmp_path)["total"] == 2  # the open shard is not indexed yet
    del writer  # killed here: "c" was never committed
    writer = write(tiny_cfg, tmp_path, ["a", "b", "c", "d", "e"])
    writer.close()
    index = read_index(tmp_path)
    assert [s["ids"] for s in index["shards"]] == [["a", "b"], ["c", "d"], ["e"]]
    assert not list(tmp_path.glob("*.tmp"))
    with tarfile.open(tmp_path / "shard-000000.tar") as tar:  # plain tar works
        members = {f"{key}.{kind}" for key in "ab" for kind in ("json", "clip.npy", "hubert.npy", "face.npy")}
        assert set(tar.getnames()) == members
        assert not any(m.pax_headers for m in tar.getmembers())  # one header per member, none extra to parse


def test_reading_back_and_collating(tiny_cfg, tmp_path):
    write(tiny_cfg, tmp_path, ["x.1", "y"]).close()
    samples = list(iter_split(tmp_path, tiny_cfg))
    assert [s.key for s in samples] == ["x%2E1", "y"]  # keys carry no dots; the id is in the record
    assert samples[0].record == Record("x.1", "meld", "test") and samples[0].clip.dtype.is_floating_point
    features = collate_features(samples)
    assert features.clip.shape[0] == 2 and features.has_video.all()


def test_contract_mismatch_names_the_fields(tiny_cfg, tmp_path):
    write(tiny_cfg, tmp_path, ["a", "b"]).close()
    other = load_config(
        preset="tiny", overrides=["model.encoders.clip.fusion_layers=[1, 2, 4]", "model.heads.frames=4"]
    )
    with pytest.raises(ShardContractError) as err:
        checked_index(tmp_path, other)
    assert "contract.clip.layers: [1, 2, 3] != [1, 2, 3, 4]" in str(err.value)
    assert "contract.frames: 8 != 4" in str(err.value)
    with pytest.raises(ShardError, match="another contract"):
        ShardWriter(tmp_path, build_contract(other), 2)
    ShardWriter(tmp_path, build_contract(other), 2, overwrite=True).close()
    assert read_index(tmp_path)["total"] == 0


def test_missing_empty_and_damaged_splits(tiny_cfg, tmp_path):
    with pytest.raises(ShardError, match="no index.json; run nanoemox-extract"):
        read_index(tmp_path)
    ShardWriter(tmp_path, build_contract(tiny_cfg), 2).close()
    with pytest.raises(ShardError, match="has no samples"):
        checked_index(tmp_path, tiny_cfg)
    index = json.loads((tmp_path / "index.json").read_text())
    index["shards"] = [{"file": "shard-000009.tar", "count": 1, "ids": ["z"]}]
    (tmp_path / "index.json").write_text(json.dumps(index))
    with pytest.raises(ShardError, match="missing: shard-000009.tar"):
        read_index(tmp_path)


def test_zarr_round_trip_and_random_access(tiny_cfg, tmp_path):
    from nanoemox.shards.zarr_store import ZarrFeatures, export_zarr, import_zarr

    writer = ShardWriter(tmp_path / "split", build_contract(tiny_cfg), 2, dataset="meld", split="test")
    for i, clip_id in enumerate(["a", "b", "c"]):
        writer.write(clip_id, meta(clip_id, audio=i != 1), arrays(tiny_cfg, value=i))
    writer.close()
    assert export_zarr(tmp_path / "split", tmp_path / "s.zarr", tiny_cfg) == 3
    store = ZarrFeatures(tmp_path / "s.zarr")
    assert len(store) == 3 and float(store["c"].clip[0, 0, 0]) == 2.0 and not store["b"].has_audio
    with pytest.raises(KeyError, match="'z' is not in"):
        store["z"]
    assert import_zarr(tmp_path / "s.zarr", tmp_path / "again", shard_size=5) == 3
    again = {s.key: s for s in iter_split(tmp_path / "again", tiny_cfg)}
    assert sorted(again) == ["a", "b", "c"] and float(again["b"].hubert[0, 0, 0]) == 1.0
    assert read_index(tmp_path / "again")["split"] == "test"
    # never write over anything: not an existing store, not a folder with other files, not the shards themselves
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    for taken in (tmp_path / "s.zarr", tmp_path / "notes", tmp_path):
        with pytest.raises(ShardError, match="already exists; export to a new path"):
            export_zarr(tmp_path / "split", taken, tiny_cfg)
    assert (tmp_path / "notes" / "keep.txt").read_text() == "mine" and len(ZarrFeatures(tmp_path / "s.zarr")) == 3
    with pytest.raises(ShardError, match="nosuch.zarr: zarr store not found"):
        import_zarr(tmp_path / "nosuch.zarr", tmp_path / "x", shard_size=5)
    with pytest.raises(ShardError, match="notes: not a zarr store written by"):
        import_zarr(tmp_path / "notes", tmp_path / "x", shard_size=5)


def test_inspect_reports_every_split(tiny_cfg, tmp_path, capsys):
    from nanoemox.cli.main import main

    write(tiny_cfg, tmp_path / "meld" / "test", ["a", "b", "c"]).close()
    write(tiny_cfg, tmp_path / "meld" / "dev", ["d"], dataset="meld", split="dev").close()
    assert main(["shards", "inspect", str(tmp_path), "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [(e["split_dir"].split("/")[-1], e["clips"], e["shards"]) for e in entries] == [
        ("dev", 1, 1),
        ("test", 3, 2),
    ]
    assert entries[0]["bytes_per_clip"] > 0 and entries[0]["shapes"]["face"] == [8, 32]
    assert all(e["damaged"] == [] for e in entries)
    shard = tmp_path / "meld" / "test" / "shard-000000.tar"
    whole = shard.read_bytes()
    shard.write_bytes(whole[:2000])  # a copy cut short inside a.clip.npy (512-byte header, 1664 bytes of data)
    assert main(["shards", "inspect", str(tmp_path)]) == 1
    assert "DAMAGED (re-run nanoemox-extract --overwrite): shard-000000.tar" in capsys.readouterr().out
    with pytest.raises(ShardError, match=r"shard-000000\.tar: damaged shard \(unexpected end of data\)"):
        list(iter_split(tmp_path / "meld" / "test", tiny_cfg))
    shard.write_bytes(whole[:3000])  # cut inside the next member's header: tar reading stops there quietly
    with pytest.raises(
        ShardError, match=r"shard-000000\.tar: damaged shard \(clip a lacks json, hubert\.npy, face\.npy\)"
    ):
        list(iter_split(tmp_path / "meld" / "test", tiny_cfg))
    (tmp_path / "meld" / "dev" / "index.json").write_text("{}")
    with pytest.raises(ShardError, match="not an index written by nanoemox-extract"):
        read_index(tmp_path / "meld" / "dev")
