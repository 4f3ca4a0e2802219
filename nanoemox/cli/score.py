"""`nanoemox-score`: batch generation over a dataset's shards, one JSON line per clip and task."""

import argparse
import sys

from nanoemox import storage
from nanoemox.cli.common import add_threads_arg, cli_overrides, run, use_storage
from nanoemox.config import load_config
from nanoemox.errors import NanoEmoXError
from nanoemox.files import writing


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

    from nanoemox.datasets import reader_class
    from nanoemox.devices import pick_device
    from nanoemox.score.job import score_in_process, score_on_ray
    from nanoemox.score.runs import find_checkpoint, run_config
    from nanoemox.tasks import check_askable

    overrides = cli_overrides(args) + (["score.do_sample=true"] if args.sample else [])
    overrides += ["score.unibench_question=candidates"] if args.candidates else []
    use_storage(load_config(args.config, args.preset if args.config else None, overrides))  # for a --run URL
    checkpoint = find_checkpoint(args.run)
    cfg = run_config(checkpoint, args.config, overrides, args.preset)
    use_storage(cfg)
    split_dir = storage.join(args.features, args.dataset, args.split)
    check_split(args.features, args.dataset, args.split)
    tasks = list(dict.fromkeys(args.task or reader_class(args.dataset).tasks))  # each task once
    unknown = sorted(set(tasks) - set(cfg.score.max_new_tokens))
    if unknown:
        raise NanoEmoXError(f"unknown task(s) {', '.join(unknown)}; choose from {', '.join(cfg.score.max_new_tokens)}")
    for task in tasks:
        check_askable(task, args.dataset)
    run_dir = storage.parent(checkpoint) if storage.name(checkpoint).startswith(("phase", "joint")) else checkpoint
    out = args.out or storage.join(run_dir, "predictions", f"{args.dataset}-{args.split}.jsonl")
    if storage.is_dir(out):
        raise NanoEmoXError(f"--out {out}: is a folder; give the predictions file's path")
    with writing(out):
        storage.makedirs(storage.parent(out))
        if args.address or args.num_gpus:
            summary = score_on_ray(cfg, checkpoint, split_dir, tasks, out, args.address, args.num_gpus)
        else:
            summary = score_in_process(cfg, checkpoint, split_dir, tasks, out, pick_device(args.device))
    print(f"{summary.line()} -> {out}")
    return 0


def check_split(features: str, dataset: str, split: str) -> None:
    """A split that was never extracted is named with the splits that were (MER-Caption+ has no test split)."""
    from nanoemox.shards.index import INDEX_FILE

    if storage.is_file(storage.join(features, dataset, split, INDEX_FILE)):
        return
    folder = storage.join(features, dataset)
    have = [name for name in storage.list_names(folder) if storage.is_file(storage.join(folder, name, INDEX_FILE))]
    found = f"the splits there are: {', '.join(have)}; pass one with --split" if have else "no split of it is there"
    raise NanoEmoXError(f"{storage.join(folder, split)}: no shards of {dataset}'s split '{split}' ({found})")


def entry() -> None:
    sys.exit(run(main))


if __name__ == "__main__":
    entry()
