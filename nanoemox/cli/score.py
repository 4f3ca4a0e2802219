"""`nanoemox-score`: batch generation over a dataset's shards, one JSON line per clip and task."""

import argparse
import sys

from nanoemox.cli.common import add_threads_arg, cli_overrides, run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nanoemox-score",
        description="Generate answers for every clip of a shard split. Re-running resumes (written ids are skipped).",
    )
    parser.add_argument(
        "--run", required=True, help="heads/<run> (its most advanced finished phase) or a phase folder; or a URL"
    )
    parser.add_argument("--features", default="shards", help="shards folder or URL (default shards/)")
    parser.add_argument("--dataset", required=True, help="dataset name, e.g. meld")
    parser.add_argument("--split", default="test", help="split to score (default test)")
    parser.add_argument("--task", action="append", help="task(s) to ask (default: every task the dataset has)")
    parser.add_argument("--out", help="predictions file (default: <run>/predictions/<dataset>-<split>.jsonl)")
    parser.add_argument(
        "--sample",
        action="store_true",
        help="sample as the published code does (inference_hybird.py: temperature 1, top-p 0.9); default greedy",
    )
    parser.add_argument(
        "--candidates",
        action="store_true",
        help="ask MER-UniBench datasets the candidate-list question (default: the open-vocabulary one, as the paper)",
    )
    parser.add_argument("--address", help="an existing Ray cluster: spread shards over actors")
    parser.add_argument("--num-gpus", type=int, default=0, help="Ray actors, one model per GPU")
    parser.add_argument("--device", help="in-process device (default: cuda when available)")
    add_threads_arg(parser)
    parser.add_argument("--config", help="config (default: the one saved with the heads)")
    parser.add_argument("--preset", help="the run's preset (checked against it), or the preset of --config")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from nanoemox.score.run import score_run

    overrides = cli_overrides(args) + (["score.do_sample=true"] if args.sample else [])
    overrides += ["score.unibench_question=candidates"] if args.candidates else []
    score_run(
        args.run,
        args.dataset,
        args.split,
        args.features,
        args.task or (),
        args.out,
        args.config,
        overrides,
        args.address,
        args.num_gpus,
        args.device,
        args.preset,
    )
    return 0


def entry() -> None:
    sys.exit(run(main))


if __name__ == "__main__":
    entry()
