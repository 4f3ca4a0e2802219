"""The two extraction stages in process: faces found by the decode workers or by the encoder give the same features."""

import json

import numpy as np
import pytest

from nanoemox.config import load_config
from nanoemox.datasets import open_dataset
from nanoemox.extract.encode import EncodeStage
from nanoemox.extract.stages import DecodeStage, detect_in_encoder

from helpers import write_meld_corpus


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    clips = [{"seconds": 1.0}, {"seconds": 1.0, "face": False}, {"seconds": 1.0, "size": 192}, {"file": "missing"}]
    root = write_meld_corpus(tmp_path_factory.mktemp("meld"), clips)
    return {"record": [json.dumps(r.to_dict()) for r in open_dataset("meld", root).read("test")]}


def test_detect_on_auto_picks_the_encoder_when_the_job_has_gpus():
    assert not detect_in_encoder(load_config(preset="tiny"))
    assert detect_in_encoder(load_config(preset="tiny", overrides=["extract.num_gpus=1"]))
    cpu_faces = load_config(preset="tiny", overrides=["extract.num_gpus=1", "extract.detect_on=decode"])
    assert not detect_in_encoder(cpu_faces)


def test_faces_found_in_the_encoder_match_the_decode_workers(records):
    out = {}
    for where in ("decode", "encode"):
        cfg = load_config(preset="tiny", overrides=[f"extract.detect_on={where}"])
        decoder = DecodeStage(cfg)
        decoded = decoder(records)
        decoder.close()
        assert ("source" in decoded) == (where == "encode") and ("crops" in decoded) == (where == "decode")
        out[where] = EncodeStage(cfg)(decoded)
    decode, encode = out["decode"], out["encode"]
    assert [m.tolist() for m in decode["face_mask"]] == [[True] * 8, [False] * 8, [True] * 8, [False] * 8]
    assert decode["error"][3] and not any(decode["error"][:3])
    for key in ("face_mask", "face", "clip", "hubert"):
        np.testing.assert_array_equal(np.stack(decode[key]), np.stack(encode[key]), err_msg=key)
