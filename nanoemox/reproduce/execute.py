"""Running one step of a plan: each kind calls the same library entry point as its console script, so a step and
its printed command do the same thing, with the same lock, resume and summary."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from nanoemox.datasets import open_dataset
from nanoemox.datasets.check import check_dataset
from nanoemox.errors import NanoEmoXError
from nanoemox.fileio import storage
from nanoemox.reproduce.plan import Experiment, Step
from nanoemox.runs import stage_state
from nanoemox.shards.index import INDEX_FILE


@dataclass(frozen=True)
class Where:
    """Where extraction, training and scoring run: a Ray cluster, GPUs, a torch device."""

    address: str | None = None
    num_gpus: int = 0
    device: str | None = None
    nproc_per_node: int = 1  # training processes (torchrun, DDP); 1: in this process


def output_complete(x: Experiment, step: Step) -> bool:
    """Whether a step's output is there in full (a done marker whose output was deleted means: run it again)."""
    a = step.args
    if step.kind == "extract":
        return storage.is_file(storage.join(x.shards, a["dataset"], a["split"], INDEX_FILE))
    if step.kind == "train":
        state = stage_state(x.run.stage(a["stage"]))
        return bool(state and state.get("finished"))
    if step.kind == "score":
        return storage.is_file(x.run.predictions(a["dataset"], a["split"]))
    if step.kind == "eval":
        return storage.is_file(x.run.eval_result(a["dataset"], a["split"]))
    if step.kind == "report":
        return storage.is_file(storage.join(x.report, "report.md"))
    return True


def clear_output(x: Experiment, step: Step) -> None:
    """Remove what a step wrote for other inputs or config (a stale step starts over; extraction overwrites)."""
    a = step.args
    stale = []
    if step.kind == "train":
        stale = [x.run.stage(a["stage"]), x.run.logs(a["stage"])]
    elif step.kind == "score":
        stale = [x.run.predictions(a["dataset"], a["split"])]
    for path in stale:
        if Path(path).is_dir():
            shutil.rmtree(path)
        elif Path(path).exists():
            Path(path).unlink()


def execute(x: Experiment, step: Step, stale: bool, where: Where, missing: dict[str, str]) -> str:
    """Run a step; returns its summary line. `stale`: its output was made for other inputs or config; `missing`:
    why each benchmark (dataset/split) has no eval result, for the report."""
    if stale:
        clear_output(x, step)
    cfg, a = x.cfg, step.args
    if step.kind == "check":
        return check(x, a["dataset"])
    if step.kind == "extract":
        return extract_splits(x, [(step, stale)])[step.id]
    if step.kind == "train":
        from nanoemox.train.run import train_run

        resume = not stale  # a stage started for the same fingerprint (or by hand) continues where it stopped
        if where.nproc_per_node > 1:
            return train_on_torchrun(step, resume, where.nproc_per_node)
        results = train_run(cfg, x.shards, x.run.path, x.recipe.strategy, a["phase"], a["branch"], resume, where.device)
        return "; ".join(r.line() for r in results)
    if step.kind == "score":
        from nanoemox.score.run import score_run

        summary, _ = score_run(
            x.run.path, a["dataset"], a["split"], x.shards, a["tasks"], None, str(x.config), (),
            where.address, where.num_gpus, where.device,
        )  # fmt: skip
        return summary.line()
    if step.kind == "eval":
        from nanoemox.eval.run import eval_run

        predictions = x.run.predictions(a["dataset"], a["split"])
        result, _ = eval_run(predictions, a["dataset"], a["split"], cfg.datasets[a["dataset"]], cfg.eval)
        return "; ".join(
            f"{task} " + " ".join(f"{k}={v:.4f}" for k, v in scores.items() if isinstance(v, float))
            for task, scores in result["tasks"].items()
        )
    if step.kind == "report":
        from nanoemox.reproduce.report import report

        return report(x, missing)
    raise NanoEmoXError(f"unknown step kind '{step.kind}'")


def train_on_torchrun(step: Step, resume: bool, processes: int) -> str:
    """A training step on several GPUs: its own command (`nanoemox-train ...`) under torchrun, as `python -m
    nanoemox.train`, which runs the same `train_run` in every process."""
    args = [arg for arg in shlex.split(step.command)[1:] if resume or arg != "--resume"]
    command = [sys.executable, "-m", "torch.distributed.run", f"--nproc-per-node={processes}", "-m", "nanoemox.train"]
    if subprocess.run([*command, *args], check=False).returncode:
        raise NanoEmoXError(f"torchrun {' '.join(args)} failed (its output is above)")
    return f"{step.id}: trained in {processes} processes (torchrun)"


def extract_splits(x: Experiment, steps: list[tuple[Step, bool]]) -> dict[str, str]:
    """Extraction steps (each with whether it is stale, i.e. overwritten) in one job; each step's summary line."""
    from nanoemox.extract.job import ExtractOptions, extract

    options = [
        ExtractOptions(s.args["dataset"], x.cfg.datasets[s.args["dataset"]], x.shards, s.args["split"], overwrite=stale)
        for s, stale in steps
    ]
    lines = {(s.dataset, s.split): s.line() for s in extract(x.cfg, *options)}
    return {s.id: lines[s.args["dataset"], s.args["split"]] for s, _ in steps}


def check(x: Experiment, dataset: str) -> str:
    """`nanoemox datasets check`: a dataset with no records fails; missing media and malformed rows are counted
    (extraction records each such clip in failures.jsonl and goes on)."""
    result = check_dataset(open_dataset(dataset, x.cfg.datasets[dataset], lenient=True))
    if not result.records:
        raise NanoEmoXError("\n".join(result.lines()))
    missing = sum(report.missing_media for report in result.splits.values())
    splits = ", ".join(f"{split} {report.records:,}" for split, report in result.splits.items())
    return (
        f"{dataset}: {result.records:,} records ({splits}); {missing} missing media, "
        f"{len(result.duplicate_ids)} duplicate ids, {len(result.skipped_rows)} malformed rows"
    )
