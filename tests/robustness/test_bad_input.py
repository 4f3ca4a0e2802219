"""Issue 13 item 8: a clip with NaN features is named and skipped (no training step is lost to it); `--limit`
below 1 is refused; a split whose annotation file is missing is an error naming the file; index.json shard paths
stay inside their folder."""

import json
import logging
import re
import shutil

import numpy as np
import pytest
import webdataset as wds

from nanoemox.cli.common import run
from nanoemox.cli.extract import main as extract_main
from nanoemox.config import load_config
from nanoemox.errors import NanoEmoXError
from nanoemox.shards.index import ShardError, read_index

from .conftest import TRAIN_SETTINGS
from helpers import write_feature_shards, write_meld_corpus


def test_a_nan_clip_is_named_and_skipped_and_no_step_is_lost(features, tmp_path, train, caplog):
    shards = tmp_path / "shards"
    shutil.copytree(features, shards)
    shard = shards / "meld" / "train" / "shard-000000.tar"
    poisoned = tmp_path / "poisoned.tar"
    with wds.TarWriter(str(poisoned)) as sink:
        for sample in wds.WebDataset(str(shard), shardshuffle=False).decode():
            if sample["json"]["record"]["id"] == "meld_train_1":
                sample["hubert.npy"] = np.full_like(sample["hubert.npy"], np.nan)
            sink.write({k: v for k, v in sample.items() if not k.startswith("__") or k == "__key__"})
    poisoned.replace(shard)
    settings = [*TRAIN_SETTINGS, "train.phases.1-speech.steps=8"]  # 16 samples: every one of the 12 clips is drawn
    with caplog.at_level(logging.WARNING):
        assert train(shards, tmp_path / "heads", settings=settings) == 0
    state = json.loads((tmp_path / "heads" / "p2e" / "phase1-speech" / "trainer_state.json").read_text())
    assert state["step"] == 8 and state["skipped_steps"] == 0
    named = [r.getMessage() for r in caplog.records if "non-finite" in r.getMessage()]
    assert named == ["meld: clip meld_train_1 has non-finite hubert features (NaN or inf); skipped, re-extract it"]


def test_limit_below_one_is_refused_and_the_split_kept(tmp_path):
    split = write_feature_shards(tmp_path / "shards", "meld", "test", load_config(preset="tiny"), 2)
    before = read_index(split)
    root = write_meld_corpus(tmp_path / "meld", [{"seconds": 2.0}, {"seconds": 2.0}])
    argv = ["--dataset", "meld", "--root", str(root), "--out", str(tmp_path / "shards"), "--preset", "tiny"]
    for limit in ("-1", "0"):
        with pytest.raises(NanoEmoXError, match=rf"--limit {limit}: must be 1 or more"):
            extract_main([*argv, "--limit", limit])
    assert read_index(split) == before


def test_a_split_whose_annotation_file_is_missing_is_an_error_naming_it(tmp_path, capsys):
    root = write_meld_corpus(tmp_path / "meld", [{"seconds": 2.0}])  # test_sent_emo.csv only
    argv = ["--dataset", "meld", "--root", str(root), "--out", str(tmp_path / "shards"), "--preset", "tiny"]
    assert run(extract_main, [*argv, "--split", "train"]) == 2
    error = capsys.readouterr().err.strip()
    assert error == f"error: meld: no records to extract (train: {root / 'train_sent_emo.csv'} not found)"
    assert not (tmp_path / "shards" / "meld" / "train").exists()


@pytest.mark.parametrize("name", ["../other/shard-000000.tar", "/etc/passwd", "..", "sub/shard-000000.tar"])
def test_index_shard_paths_must_stay_in_their_folder(tmp_path, name):
    split = write_feature_shards(tmp_path / "shards", "meld", "test", load_config(preset="tiny"), 2)
    index = json.loads((split / "index.json").read_text())
    index["shards"][0]["file"] = name
    (split / "index.json").write_text(json.dumps(index))
    message = rf"index.json: .*shards\[0\] file '{re.escape(name)}' is not a file name inside its folder"
    with pytest.raises(ShardError, match=message):
        read_index(split)
