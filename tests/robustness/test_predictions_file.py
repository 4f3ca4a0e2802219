"""Issue 13 item 4: `nanoemox-score --out` on an existing file only appends: other runs' lines stay byte for byte,
resuming neither loses nor duplicates a line, and a line torn by a kill is completed or cut, never kept half."""

import json
import re

from nanoemox.cli.score import main as score_main


def rows(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def test_appending_and_resuming_keep_every_line_once(features, checkpoint, tmp_path, capsys):
    out = tmp_path / "predictions.jsonl"
    other_runs = (
        '{"id": "meld_test_0", "dataset": "mintrec", "task": "mer", "output": "another dataset, same clip id"}\n'
        "a line some other tool wrote\n"
        '{"id": "meld_test_1", "dataset": "meld", "task": "mer", "output": "done by an earlier run"}'  # no newline
    )
    out.write_text(other_runs)
    argv = ["--run", str(checkpoint), "--features", str(features), "--dataset", "meld", "--out", str(out)]
    assert score_main([*argv, "--task", "mer"]) == 0
    assert re.search(r"5 predictions written \(\d+ cut at max_new_tokens\), 1 already there", capsys.readouterr().out)
    text = out.read_text()
    assert text.startswith(other_runs + "\n")  # every line of other runs kept, in place
    meld = [(r["id"], r["task"]) for r in rows(out) if r["dataset"] == "meld"]
    assert sorted(meld) == sorted((f"meld_test_{i}", "mer") for i in range(6))  # each clip once

    out.write_text(text + '{"id": "meld_test_0", "dataset": "meld", "task": "msa", "outp')  # killed mid-line
    assert score_main([*argv, "--task", "mer", "--task", "msa"]) == 0
    assert re.search(r"6 predictions written \(\d+ cut at max_new_tokens\), 6 already there", capsys.readouterr().out)
    assert out.read_text().startswith(text)  # every earlier line kept; the torn half-line is gone
    keys = [(r["id"], r["task"]) for r in rows(out) if r["dataset"] == "meld"]
    assert len(keys) == len(set(keys)) == 12

    assert score_main([*argv, "--task", "mer", "--task", "msa"]) == 0  # resuming a finished file adds nothing
    assert re.search(r"0 predictions written \(\d+ cut at max_new_tokens\), 12 already there", capsys.readouterr().out)
    assert len(out.read_text().splitlines()) == 2 + 12  # the two lines of others, twelve of meld
