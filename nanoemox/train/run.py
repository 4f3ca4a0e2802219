"""`nanoemox-train`'s whole job as one library call: lock the run, finish an interrupted checkpoint save, check
every stage's inputs, save the run's config, train the stages in order. The console script, the demo and
`nanoemox reproduce` all call `train_run`."""

from __future__ import annotations

import sys
from contextlib import nullcontext

import torch

from nanoemox.config import CADENCE_KEYS, SPEED_KEYS, PipelineConfig, diff_configs, save_config
from nanoemox.errors import NanoEmoXError
from nanoemox.fileio import storage
from nanoemox.fileio.files import read_yaml, writing
from nanoemox.fileio.locks import locked
from nanoemox.runs import RunFolder
from nanoemox.train.loop import Distributed, StageResult, check_stage_inputs, train_stage
from nanoemox.train.stages import plan_stages
from nanoemox.train.state import recover_run


def train_run(
    cfg: PipelineConfig,
    features: str,
    run_dir: str,
    strategy: str = "p2e",
    phase: str | None = None,
    branch: str | None = None,
    resume: bool = False,
    device: str | None = None,
) -> list[StageResult]:
    """Train a run's stages (the whole strategy, or one phase of it), printing each stage's summary line."""
    if not storage.is_dir(features):
        raise NanoEmoXError(f"features folder {features} does not exist; run nanoemox-extract first")
    dist = Distributed.from_env(device)
    with locked(run_dir, "nanoemox-train") if dist.main else nullcontext():  # one job per run; ranks share it
        if dist.main:
            recover_run(run_dir)
        if dist.world > 1:
            torch.distributed.barrier()
        return train_stages(cfg, features, RunFolder(run_dir), strategy, phase, branch, resume, dist)


def train_stages(
    cfg: PipelineConfig,
    features: str,
    run: RunFolder,
    strategy: str,
    phase: str | None,
    branch: str | None,
    resume: bool,
    dist: Distributed,
) -> list[StageResult]:
    """Check every stage's inputs, then train the stages in order (holding the run's lock)."""
    stages = plan_stages(cfg, strategy, phase, branch)
    planned = {s.name for s in stages}
    for stage in stages:  # every check before any compute
        check_stage_inputs(cfg, stage, features, run.path, planned)
        if storage.exists(run.stage(stage.name)) and not resume:
            raise NanoEmoXError(
                f"{run.stage(stage.name)} exists; pass --resume to continue it, or choose another --run"
            )
    if resume:
        check_same_run(cfg, run)
    results = []
    with writing(run.path):
        if dist.main:
            save_config(cfg, run.path)
        for stage in stages:
            results.append(train_stage(cfg, stage, features, run.path, resume, dist))
            if dist.main:
                print(results[-1].line(), flush=True)
    return results


def check_same_run(cfg: PipelineConfig, run: RunFolder) -> None:
    """--resume continues the same run: the model and training settings must be those it was started with
    (only how often it logs, validates and saves may change)."""
    if not storage.is_file(run.config):
        print(f"{run.path}: nothing to resume; starting the run", file=sys.stderr)
        return
    saved, current = read_yaml(run.config, "run config") or {}, cfg.to_dict()
    differences = [
        line
        for section in ("model", "train")
        for line in diff_configs(saved.get(section), current[section], f"{section}.")
        if not line.startswith(CADENCE_KEYS + SPEED_KEYS)
    ]
    if differences:
        listed = "\n  ".join(differences[:10])
        raise NanoEmoXError(
            f"{run.path}: --resume needs the settings the run started with (saved != now):\n  {listed}\n"
            "start a new --run to train with other settings"
        )
