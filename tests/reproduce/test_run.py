"""`nanoemox reproduce run` on the demo recipe (a reduced corpus and phases): killed during training and re-run,
a config change, a missing dataset; each asserts which steps ran and what the scores are."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from nanoemox.cli.main import main
from nanoemox.demo.run import corpus, demo_overrides, run_demo
from nanoemox.reproduce.execute import Where
from nanoemox.reproduce.plan import open_experiment
from nanoemox.reproduce.recipe import load_recipe
from nanoemox.reproduce.runner import run_experiment, selector

SCALE, STEPS_SCALE = 0.25, 0.05
SETTINGS = ["train.save_every=20"]  # phase 3 (75 steps here) checkpoints on its way, so a kill lands after one


def scores(out: Path) -> dict:
    """Every benchmark's eval result (tasks -> metrics), by file name."""
    return {p.name: json.loads(p.read_text())["tasks"] for p in sorted((out / "heads" / "p2e" / "eval").glob("*.json"))}


def results(outcomes) -> dict[str, str]:
    return {o.step.id: o.result for o in outcomes}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """The demo recipe, uninterrupted."""
    out = tmp_path_factory.mktemp("reproduce") / "demo"
    run_demo(out, SCALE, STEPS_SCALE, overrides=SETTINGS)
    return out


def experiment(out: Path, *overrides: str, recipe: str = "demo"):
    roots, _ = corpus(out / "corpus", SCALE)
    return open_experiment(out, recipe, overrides=[*demo_overrides(roots, STEPS_SCALE), *SETTINGS, *overrides])


def test_the_demo_runs_every_step_and_status_shows_them_done(demo, capsys):
    summary = json.loads((demo / "report" / "summary.json").read_text())
    assert set(summary["tasks"]) == {"mer", "mir", "erg"}
    for entry in summary["tasks"].values():
        assert 0.0 <= entry["score"] <= 1.0 and 0.0 < entry["chance"] <= 1.0
    report = (demo / "report" / "report.md").read_text()
    assert "generated corpus" in report and "paper" not in report.split("\n## ")[1]  # no ours-minus-paper cells
    assert "(+" not in report and "(-" not in report
    assert (demo / "report" / "scores.png").is_file()
    assert main(["reproduce", "status", "--out", str(demo)]) == 0
    assert capsys.readouterr().out.rstrip().endswith("24 done")


def test_a_killed_run_resumes_without_redoing_finished_steps(demo, tmp_path):
    out = tmp_path / "demo"
    corpus(out / "corpus", SCALE)
    command = [sys.executable, "-m", "nanoemox.cli.main", "demo", "run", "--out", str(out), "--scale", str(SCALE)]
    command += ["--steps-scale", str(STEPS_SCALE), *(arg for s in SETTINGS for arg in ("--set", s))]
    job = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoint = out / "heads" / "p2e" / "phase3" / "trainer_state.json"
    deadline = time.monotonic() + 600
    while not checkpoint.is_file() and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    assert checkpoint.is_file(), "the run ended before phase 3 saved a checkpoint"
    step = json.loads(checkpoint.read_text())["step"]
    assert 0 < step < 75

    outcomes = run_experiment(experiment(out), selector([], []), Where(device="cpu"))
    ran = results(outcomes)
    assert {i for i, r in ran.items() if r == "ran"} == {
        "train/phase3",
        "score/meld/test",
        "score/mintrec/test",
        "score/avamerg/test",
        "eval/meld/test",
        "eval/mintrec/test",
        "eval/avamerg/test",
        "report",
    }
    assert all(r == "done already" for i, r in ran.items() if i.startswith(("check/", "extract/", "train/phase1")))
    log = (out / "heads" / "p2e" / "logs" / "phase3" / "metrics.jsonl").read_text().splitlines()
    steps = [json.loads(line)["step"] for line in log if "loss" in json.loads(line)]
    assert steps == sorted(set(steps)) and steps[-1] == 75  # no step logged twice or lost
    assert scores(out) == scores(demo)


def test_an_eval_key_change_reruns_only_evaluation(demo, tmp_path):
    out = tmp_path / "demo"
    shutil.copytree(demo, out, symlinks=True)  # the same corpus roots (corpus.json): only the eval key differs
    outcomes = run_experiment(experiment(out, "eval.erg_turns=all"), selector([], []), Where(device="cpu"))
    ran = {o.step.id for o in outcomes if o.result == "ran"}
    assert ran == {"eval/meld/test", "eval/mintrec/test", "eval/avamerg/test", "report"}
    assert json.loads((out / "heads/p2e/eval/avamerg-test.json").read_text())["tasks"]["erg"]["turns"] == "all"


def test_a_missing_dataset_blocks_its_steps_and_the_report_says_why(demo, tmp_path):
    recipe = load_recipe("demo").to_dict()
    recipe["benchmarks"].append({"table": 4, "dataset": "mintrec2", "split": "test", "tasks": ["mir"]})
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    x = experiment(demo, recipe=str(tmp_path / "recipe.yaml"))
    outcomes = run_experiment(x, selector([], []), Where(device="cpu"))
    ran = results(outcomes)
    assert ran["check/mintrec2"] == ran["score/mintrec2/test"] == ran["eval/mintrec2/test"] == "blocked"
    assert {i for i, r in ran.items() if r == "ran"} == {"report"}
    report = (demo / "report" / "report.md").read_text()
    assert "| mintrec2 | n/a | n/a | n/a | not produced: needs extract/mintrec2/test (dataset not provided" in report


def test_a_phase_3_change_reruns_it_and_what_follows_on_torchrun(demo, tmp_path):
    """train.phases.3.steps: phase 3 (here in two DDP processes on the CPU), scoring, evaluation and the report
    run again; extraction and the earlier stages do not."""
    out = tmp_path / "demo"
    shutil.copytree(demo, out, symlinks=True)
    x = experiment(out, "train.phases.3.steps=10")
    outcomes = run_experiment(x, selector([], []), Where(device="cpu", nproc_per_node=2))
    ran = {o.step.id for o in outcomes if o.result == "ran"}
    assert ran == {"train/phase3"} | {
        f"{kind}/{d}/test" for kind in ("score", "eval") for d in ("meld", "mintrec", "avamerg")
    } | {"report"}
    state = json.loads((out / "heads" / "p2e" / "phase3" / "trainer_state.json").read_text())
    assert state["step"] == 10 and state["finished"]
