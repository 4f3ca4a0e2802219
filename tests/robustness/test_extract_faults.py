"""Issue 13 item 1: any failure of one clip, at any stage, is that clip's failure row and the job goes on; frames
too thin or tiny for a face extract with the face mask off; extract.decode_timeout_s must be finite."""

import json

import numpy as np
import pytest
import torch

from nanoemox.cli.extract import main as extract_main
from nanoemox.config import ConfigError, load_config
from nanoemox.datasets import open_dataset
from nanoemox.extract.encode import EncodeStage
from nanoemox.extract.prepare import ClipPreparer
from nanoemox.extract.stages import DecodeStage
from nanoemox.shards.index import read_index

from helpers import write_meld_corpus


@pytest.fixture(scope="module")
def decoded(tmp_path_factory):
    """A DecodeStage (tiny preset) and the records of a 3-clip corpus."""
    root = write_meld_corpus(tmp_path_factory.mktemp("meld"), [{"seconds": 2.0, "size": 128}] * 3)
    stage = DecodeStage(load_config(preset="tiny"))
    yield stage, list(open_dataset("meld", root).read("test"))
    stage.close()


def test_an_exception_in_any_decode_step_is_the_clips_failure(decoded):
    _, records = decoded
    threads = torch.get_num_threads()
    preparer = ClipPreparer(load_config(preset="tiny"))  # the decode worker's work, here in process
    cropper = preparer.cropper

    def broken(frames):
        raise RuntimeError("detector exploded\nsecond line")

    preparer.cropper = broken  # a fault in the face step, whatever its cause
    try:
        row = preparer(records[0])
        preparer.cropper = cropper
        good = preparer(records[1])  # the same worker goes on with the next clip
    finally:
        torch.set_num_threads(threads)
    assert (row["stage"], row["error"]) == ("faces", "RuntimeError: detector exploded")
    assert not row["face_mask"].any() and not row["has_video"] and "source" not in row
    assert json.loads(row["record"])["id"] == "dia0_utt0"
    assert good["error"] == "" and good["has_video"] and good["face_mask"].any()


def test_a_clip_that_breaks_its_encoder_batch_fails_alone(decoded):
    stage, records = decoded
    batch = stage({"record": [json.dumps(record.to_dict()) for record in records]})
    batch["windows"][1] = np.full_like(batch["windows"][1], np.nan)  # audio that makes HuBERT output NaN
    encoded = EncodeStage(load_config(preset="tiny"))(batch)
    assert encoded["stage"] == ["", "encode", ""]
    assert encoded["error"][1] == "FloatingPointError: the hubert features are not finite (NaN or inf)"
    for i in (0, 2):  # its neighbours keep their features
        assert not encoded["error"][i] and np.isfinite(encoded["hubert"][i]).all() and encoded["hubert"][i].any()
        assert encoded["clip"][i].any() and encoded["face"][i].any()


def test_thin_and_tiny_frames_extract_with_no_face_and_the_job_goes_on(tmp_path, capsys):
    clips = [{"seconds": 2.0}, {"shape": (4000, 100)}, {"shape": (640, 40)}, {"size": 16}]
    root = write_meld_corpus(tmp_path / "meld", clips)
    argv = ["--dataset", "meld", "--root", str(root), "--out", str(tmp_path / "shards"), "--preset", "tiny"]
    argv += ["--num-cpus", "2", "--shard-size", "1"]
    assert extract_main([*argv, "--limit", "1"]) == 0
    split = tmp_path / "shards" / "meld" / "test"
    first = read_index(split)["shards"][0]
    assert extract_main(argv) == 0
    assert "3 clips written, 1 already done, 0 failed, 3 without a face (24 frames)" in capsys.readouterr().out
    index = read_index(split)
    assert index["shards"][0] == first  # the clip done before is kept as it was
    assert [s["ids"][0] for s in index["shards"]] == [f"dia{i}_utt0" for i in range(4)]
    assert not (split / "failures.jsonl").read_text()


@pytest.mark.parametrize("value", ["inf", ".nan", "-1"])
def test_decode_timeout_must_be_a_finite_positive_number(value):
    with pytest.raises(ConfigError, match=r"'extract.decode_timeout_s' must be"):
        load_config(preset="tiny", overrides=[f"extract.decode_timeout_s={value}"])
