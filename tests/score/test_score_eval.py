"""nanoemox-score, nanoemox-eval and the report on synthetic shards (tiny preset, CPU)."""

import csv
import json
from pathlib import Path

import pytest
import yaml

from nanoemox.cli.eval import main as eval_main
from nanoemox.cli.score import main as score_main
from nanoemox.config import load_config
from nanoemox.errors import NanoEmoXError
from nanoemox.eval import report as report_module
from nanoemox.model.checkpoint import save_checkpoint

from conftest import make_model
from helpers import write_feature_shards, write_meld_corpus


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("score")
    cfg = load_config(preset="tiny")
    write_feature_shards(root / "shards", "meld", "test", cfg, 6, shard_size=4)
    checkpoint = save_checkpoint(make_model(cfg), cfg, root / "heads" / "run" / "phase3")
    return root, checkpoint


def score(root: Path, checkpoint: Path, *args: str) -> int:
    return score_main(["--run", str(checkpoint), "--features", str(root / "shards"), "--dataset", "meld", *args])


def test_score_writes_each_clip_and_task_once_and_resumes(setup, capsys):
    root, checkpoint = setup
    out = root / "heads" / "run" / "predictions" / "meld-test.jsonl"
    out.unlink(missing_ok=True)
    assert score(root, checkpoint) == 0
    printed = capsys.readouterr().out
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    cut = sum(r["truncated"] for r in rows)
    assert f"12 predictions written ({cut} cut at max_new_tokens), 0 already there" in printed
    assert sorted((r["task"], r["id"]) for r in rows) == sorted(
        (t, f"meld_test_{i}") for t in ("mer", "msa") for i in range(6)
    )
    assert {r["prompt_id"] for r in rows} == {"ov-mer", "msa"}  # MER-UniBench: the open question for MELD's MER
    assert all(set(r) == {"id", "dataset", "task", "prompt_id", "output", "answer", "truncated"} for r in rows)
    out.write_text(out.read_text() + '{"id": "torn')  # a job killed mid-line
    assert score(root, checkpoint) == 0
    assert "0 predictions written (0 cut at max_new_tokens), 12 already there" in capsys.readouterr().out
    assert len(out.read_text().splitlines()) == 12


def test_score_candidate_question_and_truncation_count(setup, tmp_path, capsys):
    root, checkpoint = setup
    out = tmp_path / "p.jsonl"
    overrides = ["--candidates", "--set", "score.max_new_tokens.mer=1"]
    assert score(root, checkpoint, "--task", "mer", "--out", str(out), *overrides) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["prompt_id"] for r in rows} == {"mer-candidates"}
    # one new token: an answer with any text was cut (its one token did not end it)
    assert all(r["truncated"] for r in rows if r["output"]) and any(r["output"] for r in rows)
    assert f"({sum(r['truncated'] for r in rows)} cut at max_new_tokens)" in capsys.readouterr().out


def test_score_errors(setup):
    root, checkpoint = setup
    with pytest.raises(NanoEmoXError, match="no finished training stage"):
        score(root, root / "heads")
    with pytest.raises(NanoEmoXError, match="nosuch: no such run folder"):
        score(root, root / "nosuch")
    with pytest.raises(NanoEmoXError, match="unknown task"):
        score(root, checkpoint, "--task", "dance")
    with pytest.raises(NanoEmoXError, match="'meld' has none; ask mir on mintrec or mintrec2"):
        score(root, checkpoint, "--task", "mir")
    with pytest.raises(NanoEmoXError, match="is a folder; give the predictions file's path"):
        score(root, checkpoint, "--out", str(root))
    with pytest.raises(NanoEmoXError, match=r"meld/dev: no shards of meld's split 'dev' \(the splits there are: test"):
        score(root, checkpoint, "--split", "dev")
    with pytest.raises(NanoEmoXError, match="--preset full: .*config.yaml was saved with preset 'tiny'"):
        score(root, checkpoint, "--preset", "full")


def test_eval_counts_bad_prediction_rows_and_reports(setup, reference, tmp_path, capsys, monkeypatch):
    root, _ = setup
    corpus = write_meld_corpus(tmp_path / "meld", [{"emotion": e, "file": "missing"} for e in ("joy", "anger", "joy")])
    rows = [
        {"id": "dia0_utt0", "task": "mer", "output": "The most likely label is joy.", "answer": ["joy"]},
        {"id": "dia1_utt0", "task": "mer", "output": "The most likely label is joy.", "answer": ["joy"]},
        {"id": "dia1_utt0", "task": "mer", "output": "dup", "answer": ["anger"]},
        {"id": "ghost", "task": "mer", "output": "", "answer": []},
        {"id": "dia2_utt0", "task": "mer", "output": "joy", "answer": [1, 2]},
        {"id": "dia2_utt0", "task": ["mer"], "output": "joy"},
        {"id": "dia2_utt0", "task": "mer", "output": 5},
    ]
    predictions = root / "heads" / "run" / "predictions" / "meld-test-handmade.jsonl"
    predictions.write_text("\n".join(json.dumps(r) for r in rows) + "\n{not json\n")
    wheel = str(reference / "emotion_wheel")
    assert (
        eval_main(["--predictions", str(predictions), "--dataset", "meld", "--root", str(corpus), "--wheel-dir", wheel])
        == 0
    )
    captured = capsys.readouterr()
    assert "mer: accuracy=0.3333" in captured.out  # dia0 right, dia1 wrong, dia2 missing
    for warning in (
        "malformed line skipped",
        "duplicate prediction for dia1_utt0",
        "1 predicted id(s) are not in",
        "1 id(s) have no prediction",
        "1 empty output",
        ":5: malformed row skipped ('answer' must be a list of strings)",
        ":6: malformed row skipped ('task' must be a string)",
        ":7: malformed row skipped ('output' must be a string)",
    ):
        assert warning in captured.err
    result = json.loads((root / "heads" / "run" / "eval" / "meld-test.json").read_text())
    assert result["tasks"]["mer"]["n"] == 3 and 0 <= result["tasks"]["mer"]["hitrate"] <= 1
    assert eval_main(["report", "--run", str(root / "heads" / "run")]) == 0
    report = root / "heads" / "run" / "report"
    markdown = (report / "report.md").read_text()
    assert "| meld (test) | " in markdown and "## Table 2. MER-UniBench: emotion recognition (MER)\n" in markdown
    # the paper's rows under ours without any flag, with ours minus theirs in brackets
    ours = 100 * result["tasks"]["mer"]["hitrate"]
    assert f"| meld, Nano-EmoX (paper, P2E) | 56.55 ({ours - 56.55:+.2f}) | - | as published |" in markdown
    assert "arXiv:2603.02123" in markdown and "labels read by the nanoemox parser" in markdown
    # stand-in published values (not the paper's), to check they are laid out beside ours, as printed
    published = tmp_path / "published.yaml"
    published.write_text(
        yaml.safe_dump({"AffectGPT (stand-in)": {"source": "a test", "results": {"mer": {"meld": {"hitrate": 12.5}}}}})
    )
    assert eval_main(["report", "--run", str(root / "heads" / "run"), "--published", str(published)]) == 0
    markdown = (report / "report.md").read_text()
    assert f"| meld, AffectGPT (stand-in) | 12.50 ({ours - 12.5:+.2f}) | - |" in markdown
    assert "AffectGPT (stand-in): a test" in markdown
    title = "Table 2. MER-UniBench: emotion recognition (MER)"
    rows = list(csv.reader((report / "report.csv").open()))
    assert rows[0] == ["table", "dataset", "split", "system", "metric", "value"]
    assert [title, "meld", "", "AffectGPT (stand-in)", "hitrate", "12.5"] in rows
    assert [title, "meld", "test", "ours", "hitrate", str(result["tasks"]["mer"]["hitrate"])] in rows
    assert (
        (report / "scores.png").is_file() and (report / "report.csv").is_file() and (report / "report.json").is_file()
    )


def test_eval_refuses_a_split_or_task_without_labels(tmp_path):
    corpus = write_meld_corpus(tmp_path / "meld", [{"file": "missing"}])
    predictions = tmp_path / "p.jsonl"
    predictions.write_text(json.dumps({"id": "dia0_utt0", "task": "mir", "output": "x", "answer": "thank"}) + "\n")
    args = ["--predictions", str(predictions), "--dataset", "meld", "--root", str(corpus)]
    with pytest.raises(NanoEmoXError, match=r"meld/test has no mir labels .*\(meld is scored on mer, msa\)"):
        eval_main(args)
    with pytest.raises(NanoEmoXError, match="meld/dev: no records under"):
        eval_main([*args, "--split", "dev"])


def test_eval_needs_wheels_for_wheel_metrics_and_a_predictions_file(tmp_path):
    corpus = write_meld_corpus(tmp_path / "meld", [{"file": "missing"}])
    predictions = tmp_path / "p.jsonl"
    predictions.write_text(json.dumps({"id": "dia0_utt0", "task": "msa", "output": "x", "answer": ["joy"]}) + "\n")
    with pytest.raises(NanoEmoXError, match="nothing to score .*msa: .*pass --wheel-dir"):
        eval_main(["--predictions", str(predictions), "--dataset", "meld", "--root", str(corpus)])
    with pytest.raises(NanoEmoXError, match="predictions file not found"):
        eval_main(["--predictions", str(tmp_path / "none.jsonl"), "--dataset", "meld", "--root", str(corpus)])


TWO = ("mer", "msa")


def test_eval_scores_what_it_can_and_lists_what_it_skipped(tmp_path, capsys):
    """nanoemox-score asks MELD both MER and MSA: without --wheel-dir MER is scored (accuracy), MSA skipped."""
    corpus = write_meld_corpus(tmp_path / "meld", [{"emotion": e, "file": "missing"} for e in ("joy", "anger")])
    rows = [{"id": f"dia{i}_utt0", "task": task, "output": "x", "answer": ["joy"]} for i in range(2) for task in TWO]
    predictions = tmp_path / "p.jsonl"
    predictions.write_text("".join(json.dumps(row) + "\n" for row in rows))
    argv = ["--predictions", str(predictions), "--dataset", "meld", "--root", str(corpus)]
    assert eval_main(argv) == 0
    out = capsys.readouterr().out
    assert "meld/test mer: accuracy=0.5000" in out
    assert "skipped msa: it is scored on the emotion wheels: pass --wheel-dir" in out
    result = json.loads((tmp_path / "p.eval.json").read_text())
    assert list(result["tasks"]) == ["mer"] and list(result["skipped"]) == ["msa"]
    with pytest.raises(NanoEmoXError, match=r"nothing to score \(mer: not selected \(--task\); msa: it is scored"):
        eval_main([*argv, "--task", "msa"])
    with pytest.raises(NanoEmoXError, match=r"--task mir: .*p\.jsonl has no such predictions \(it has: mer, msa\)"):
        eval_main([*argv, "--task", "mir"])
    assert eval_main([*argv, "--task", "mer"]) == 0
    assert json.loads((tmp_path / "p.eval.json").read_text())["skipped"] == {"msa": "not selected (--task)"}


def test_predict_one_clip(setup, tmp_path, capsys):
    from nanoemox.cli.common import run
    from nanoemox.cli.main import main
    from nanoemox.demo.media import voice, write_clip

    checkpoint = setup[1]
    clip = write_clip(tmp_path / "hello.mp4", 2.0, audio=voice(2.0))
    argv = ["predict", str(clip), "--run", str(checkpoint), "--subtitle", "hi", "--json", "--preset", "tiny"]
    assert main([*argv, "--threads", "1"]) == 0
    prediction = json.loads(capsys.readouterr().out)
    assert prediction["id"] == "hello" and prediction["task"] == "mer" and isinstance(prediction["answer"], list)
    assert run(main, ["predict", str(tmp_path / "missing.mp4"), "--run", str(checkpoint)]) == 1  # an OS error
    assert capsys.readouterr().err == f"error: {tmp_path / 'missing.mp4'}: No such file or directory\n"
    text = tmp_path / ("a-long-folder-name-" * 8) / "notes.mp4"  # a long path: the decoder's message stays whole
    text.parent.mkdir()
    text.write_text("not a video")
    with pytest.raises(NanoEmoXError, match=r"notes.mp4: cannot decode \(.*Invalid data found when processing input\)"):
        main(["predict", str(text), "--run", str(checkpoint)])
    with pytest.raises(NanoEmoXError, match="'meld' has none"):
        main(["predict", str(clip), "--run", str(checkpoint), "--task", "mir", "--labels", "meld"])
    with pytest.raises(NanoEmoXError, match="--labels meldd: unknown dataset"):
        main(["predict", str(clip), "--run", str(checkpoint), "--labels", "meldd"])
    with pytest.raises(NanoEmoXError, match="talk.txt: context file not found"):
        main(["predict", str(clip), "--run", str(checkpoint), "--task", "erg", "--context", str(tmp_path / "talk.txt")])
    with pytest.raises(NanoEmoXError, match="--device nosuch: not a device name"):
        main(["predict", str(clip), "--run", str(checkpoint), "--device", "nosuch"])


def test_scoring_on_ray_actors_matches_in_process(setup, tmp_path):
    from nanoemox.score.job import score_in_process, score_on_ray
    from nanoemox.score.run import checkpoint_and_config

    root, checkpoint = setup
    _, cfg = checkpoint_and_config(str(checkpoint), None, [])
    split = root / "shards" / "meld" / "test"
    local, actors = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    score_in_process(cfg, checkpoint, split, ["mer"], local, "cpu")
    summary = score_on_ray(cfg, checkpoint, split, ["mer"], actors, None, 0)
    assert summary.written == 6
    by_id = {json.loads(line)["id"]: json.loads(line) for line in actors.read_text().splitlines()}
    for line in local.read_text().splitlines():
        row = json.loads(line)
        assert by_id[row["id"]]["output"] == row["output"]  # greedy: the same answers


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("x: [1", "invalid YAML"),
        ("- a\n- b\n", "expected a mapping of row labels"),
        ("S: {results: {sentiment: {}}}", "unknown task 'sentiment'"),
        ("S: {results: {mer: {meld: {f1: 50}}}}", "mer/meld/f1: unknown metric"),
        ("S: {results: {mer: {meld: {hitrate: high}}}}", "value must be a number, got 'high'"),
        ("S: {source: x, extra: 1}", "must have only 'source' and 'results'"),
        ("S: {results: [1, 2]}", "'S' results must be a mapping"),
        ("S: {results: {mer: {meld: [hitrate]}}}", "'S' mer/meld must be a mapping"),
    ],
)
def test_published_rows_file_errors_name_file_and_key(tmp_path, content, message):
    path = tmp_path / "rows.yaml"
    path.write_text(content)
    with pytest.raises(NanoEmoXError, match=message) as err:
        report_module.load_published(path)
    assert str(path) in str(err.value)


def test_bundled_paper_rows_are_the_reference_transcription(reference):
    systems = report_module.load_published(report_module.BUNDLED)
    transcription = report_module.load_published(reference / "paper" / "tables.yaml")
    assert {label: system["results"] for label, system in systems.items()} == {
        label: system["results"] for label, system in transcription.items()
    }
    paper = systems["Nano-EmoX (paper, P2E)"]
    assert "arXiv:2603.02123" in paper["source"]
    # Table 2's nine MER-UniBench values of the paper's own row average to its printed 74.01 (Table 6)
    nine = [
        v for task in ("mer", "msa", "ov-mer") for scores in paper["results"][task].values() for v in scores.values()
    ]
    assert len(nine) == 9 and sum(nine) / 9 == pytest.approx(74.01, abs=0.005)


def test_score_bars_plot_every_task_beside_chance_or_the_paper():
    results = [
        {"dataset": "meld", "split": "test", "tasks": {"mer": {"accuracy": 0.5}}},  # no hit rate: accuracy
        {"dataset": "mintrec", "split": "test", "tasks": {"mir": {"acc": 0.6}}},
        {"dataset": "emer", "split": "test", "tasks": {"eri": {"mean": 7.0}}},
    ]
    systems = report_module.load_published(report_module.BUNDLED)
    with_paper = report_module.score_bars(results, systems, None)
    assert [bar[0] for bar in with_paper] == ["meld\nmer accuracy", "mintrec\nmir acc", "emer\neri mean"]
    assert with_paper[0][2] is None  # the paper prints MELD's hit rate, not accuracy: nothing to compare
    assert with_paper[1][1:] == pytest.approx((60.0, 58.20)) and with_paper[2][1:] == pytest.approx((70.0, 68.05))
    with_chance = report_module.score_bars(results, systems, {("meld", "mer"): 0.25})
    assert with_chance[0][1:] == pytest.approx((50.0, 25.0)) and with_chance[1][2] is None


def test_report_names_a_damaged_result_and_skips_a_torn_log_line(tmp_path):
    run = tmp_path / "run"
    (run / "eval").mkdir(parents=True)
    result = {"dataset": "meld", "split": "test", "tasks": {"mer": {"accuracy": 0.5, "n": 2}}, "warnings": []}
    (run / "eval" / "meld-test.json").write_text(json.dumps(result))
    log = run / "logs" / "phase3" / "metrics.jsonl"
    log.parent.mkdir(parents=True)
    gates = {"mer": [0.2, 0.3, 0.5]}
    log.write_text(json.dumps({"step": 5, "gates": gates}) + "\n" + '{"step": 10, "gates": {"mer": [0.1')  # killed
    out = Path(report_module.write_report(run))
    assert json.loads((out / "report.json").read_text())["gates"] == gates and (out / "gates.png").is_file()
    assert "| meld (test) | - | 50.00 |" in (out / "report.md").read_text()
    for damaged in ('{"dataset": "meld", "tas', "[1, 2]", '{"dataset": "meld", "tasks": {"mer": "high"}}'):
        (run / "eval" / "meld-test.json").write_text(damaged)
        with pytest.raises(NanoEmoXError, match="meld-test.json"):
            report_module.write_report(run)
