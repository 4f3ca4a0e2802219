"""The whole chain on a few generated clips: extract -> train -> score -> eval -> report (tiny preset, CPU)."""

import json

from nanoemox.cli.eval import main as eval_main
from nanoemox.cli.extract import main as extract_main
from nanoemox.cli.score import main as score_main
from nanoemox.cli.train import main as train_main

from helpers import write_meld_corpus

EMOTIONS = ["joy", "anger", "sadness", "neutral"]


def test_extract_train_score_eval(tmp_path, capsys):
    corpus = tmp_path / "meld"
    write_meld_corpus(corpus, [{"emotion": EMOTIONS[i % 4], "seconds": 2.0} for i in range(8)], split="train")
    write_meld_corpus(corpus, [{"emotion": EMOTIONS[i % 4], "seconds": 2.0} for i in range(4)], split="test")
    shards, heads = tmp_path / "shards", tmp_path / "heads"
    common = ["--preset", "tiny"]
    assert (
        extract_main(["--dataset", "meld", "--root", str(corpus), "--out", str(shards), "--num-cpus", "2", *common])
        == 0
    )
    assert "meld/train: 8 clips written" in capsys.readouterr().out
    mix = ["train.phases.3.tasks={mer: 1}", "train.phases.3.datasets={mer: [meld]}", "train.batch_size=2"]
    mix += [f"train.phases.{p}.steps=2" for p in ("1-speech", "1-visual", "2", "3")]
    sets = [item for o in mix for item in ("--set", o)]
    assert train_main(["--strategy", "joint", "--features", str(shards), "--out", str(heads), *common, *sets]) == 0
    assert "joint: 8 steps" in capsys.readouterr().out
    run = heads / "joint"
    assert score_main(["--run", str(run), "--features", str(shards), "--dataset", "meld", "--task", "mer"]) == 0
    assert "meld/test: 4 predictions written" in capsys.readouterr().out
    predictions = run / "predictions" / "meld-test.jsonl"
    assert len(predictions.read_text().splitlines()) == 4
    assert eval_main(["--predictions", str(predictions), "--dataset", "meld", "--root", str(corpus), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["tasks"]["mer"]["n"] == 4 and 0.0 <= result["tasks"]["mer"]["accuracy"] <= 1.0
    assert eval_main(["report", "--run", str(run)]) == 0
    assert (run / "report" / "report.md").is_file()
