"""`nanoemox-train`: the P2E curriculum (or joint / reverse) on cached features; one GPU, or many with torchrun."""

from __future__ import annotations

import argparse
import sys

from nanoemox.cli.common import add_config_args, add_threads_arg, config_from_args, run
from nanoemox.fileio import storage
from nanoemox.train.stages import STRATEGIES


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
    parser.add_argument("--strategy", default="p2e", choices=STRATEGIES, help="curriculum (default p2e)")
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
    from nanoemox.train.run import train_run

    run_dir = storage.join(args.out, args.run or args.strategy)
    train_run(cfg, args.features, run_dir, args.strategy, args.phase, args.branch, args.resume, args.device)
    return 0


def entry() -> None:
    sys.exit(run(main))


if __name__ == "__main__":
    entry()
