"""Issue 13 item 5: `--num-gpus N` beyond the GPUs Ray sees is refused before any work (it used to wait forever),
for extraction and scoring, and what was written before stays."""

import pytest

from nanoemox.cli.extract import main as extract_main
from nanoemox.cli.score import main as score_main
from nanoemox.config import load_config
from nanoemox.errors import NanoEmoXError
from nanoemox.shards.index import read_index

from helpers import write_feature_shards, write_meld_corpus

TOO_MANY = r"--num-gpus 64: needs 64 GPU\(s\) but Ray sees \d+; use --num-gpus 0 to run on CPU"


def test_extraction_asking_for_missing_gpus_is_refused(tmp_path):
    root = write_meld_corpus(tmp_path / "meld", [{"seconds": 2.0}])
    split = write_feature_shards(tmp_path / "shards", "meld", "test", load_config(preset="tiny"), 2)
    before = read_index(split)
    argv = ["--dataset", "meld", "--root", str(root), "--out", str(tmp_path / "shards"), "--preset", "tiny"]
    with pytest.raises(NanoEmoXError, match=TOO_MANY):
        extract_main([*argv, "--num-cpus", "2", "--num-gpus", "64"])
    assert read_index(split) == before


def test_scoring_asking_for_missing_gpus_is_refused(features, checkpoint, tmp_path):
    out = tmp_path / "predictions.jsonl"
    out.write_text('{"id": "meld_test_0", "dataset": "meld", "task": "mer", "output": "x"}\n')
    argv = ["--run", str(checkpoint), "--features", str(features), "--dataset", "meld", "--out", str(out)]
    with pytest.raises(NanoEmoXError, match=TOO_MANY):
        score_main([*argv, "--num-gpus", "64"])
    assert out.read_text() == '{"id": "meld_test_0", "dataset": "meld", "task": "mer", "output": "x"}\n'
