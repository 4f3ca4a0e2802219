"""`nanoemox-train`: the P2E curriculum (or joint / reverse) on cached features; one GPU, or many with torchrun."""

from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext
from typing import TYPE_CHECKING

from nanoemox import storage
from nanoemox.cli.common import add_config_args, add_threads_arg, config_from_args, run
from nanoemox.config import SPEED_KEYS, PipelineConfig, diff_configs
from nanoemox.errors import NanoEmoXError
from nanoemox.files import read_yaml, writing

if TYPE_CHECKING:
    from nanoemox.train.loop import Distributed


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nanoemox-train",
        description="Train the heads (and LoRA in phase 3) from shards, never from video. Without --phase, every "
        "phase of the strategy runs in order. Several GPUs: torchrun --nproc-per-node N -m nanoemox.train ...",
    )
    parser.add_argument(
        "--phase", choices=["1", "2", "3"], help="one phase (2 starts from phase 1's heads, 3 from 2's)"
    )
    parser.add_argument("--branch", choices=["speech", "visual"], help="with --phase 1: one branch only")
    parser.add_argument(
        "--strategy", default="p2e", choices=["p2e", "joint", "reverse"], help="curriculum (default p2e)"
    )
    parser.add_argument(
        "--run",
        "--run-name",
        dest="run",
        help="run name: heads go to OUT/RUN/<phase>/ (default: the strategy), or a run folder or URL "
        "(s3://bucket/heads/p2e); under torchrun write --run-name, since torchrun takes --run for its own --run-path",
    )
    parser.add_argument(
        "--features", default="shards", help="shards folder or URL from nanoemox-extract (default shards/)"
    )
    parser.add_argument("--out", default="heads", help="output folder or URL, e.g. s3://bucket/heads (default heads/)")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run exactly where it stopped")
    parser.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda when available)")
    add_threads_arg(parser)
    add_config_args(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cfg = config_from_args(args)
    import torch

    from nanoemox.locks import locked
    from nanoemox.train.loop import Distributed
    from nanoemox.train.state import recover_run

    features, run_dir = args.features, storage.join(args.out, args.run or args.strategy)
    if not storage.is_dir(features):
        raise NanoEmoXError(f"features folder {features} does not exist; run nanoemox-extract first")
    dist = Distributed.from_env(args.device)
    with locked(run_dir, "nanoemox-train") if dist.main else nullcontext():  # one job per run; ranks share it
        if dist.main:
            recover_run(run_dir)
        if dist.world > 1:
            torch.distributed.barrier()
        train_run(cfg, args, features, run_dir, dist)
    return 0


def train_run(cfg: PipelineConfig, args: argparse.Namespace, features: str, run_dir: str, dist: Distributed) -> None:
    """Check every stage's inputs, then train the stages in order (holding the run's lock)."""
    from nanoemox.config import save_config
    from nanoemox.train.loop import check_stage_inputs, train_stage
    from nanoemox.train.stages import plan_stages

    stages = plan_stages(cfg, args.strategy, args.phase, args.branch)
    planned = {s.name for s in stages}
    for stage in stages:  # every check before any compute
        check_stage_inputs(cfg, stage, features, run_dir, planned)
        if storage.exists(storage.join(run_dir, stage.name)) and not args.resume:
            raise NanoEmoXError(
                f"{storage.join(run_dir, stage.name)} exists; pass --resume to continue it, or choose another --run"
            )
    if args.resume:
        check_same_run(cfg, run_dir)
    with writing(run_dir):
        if dist.main:
            save_config(cfg, run_dir)
        for stage in stages:
            result = train_stage(cfg, stage, features, run_dir, args.resume, dist)
            if dist.main:
                print(result.line())


CADENCE_KEYS = ("train.save_every", "train.eval_every", "train.log_every")  # may change on --resume


def check_same_run(cfg: PipelineConfig, run_dir: str) -> None:
    """--resume continues the same run: the model and training settings must be those it was started with
    (only how often it logs, validates and saves may change)."""
    saved_path = storage.join(run_dir, "config.yaml")
    if not storage.is_file(saved_path):
        print(f"{run_dir}: nothing to resume; starting the run", file=sys.stderr)
        return
    saved, current = read_yaml(saved_path, "run config") or {}, cfg.to_dict()
    differences = [
        line
        for section in ("model", "train")
        for line in diff_configs(saved.get(section), current[section], f"{section}.")
        if not line.startswith(CADENCE_KEYS + SPEED_KEYS)
    ]
    if differences:
        listed = "\n  ".join(differences[:10])
        raise NanoEmoXError(
            f"{run_dir}: --resume needs the settings the run started with (saved != now):\n  {listed}\n"
            "start a new --run to train with other settings"
        )


def entry() -> None:
    sys.exit(run(main))


if __name__ == "__main__":
    entry()
