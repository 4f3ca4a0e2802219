"""`nanoemox-extract`: decode clips once, run the frozen encoders once, write WebDataset shards."""

import argparse
import sys

from nanoemox.cli.common import add_config_args, config_from_args, run
from nanoemox.errors import NanoEmoXError

FLAG_KEYS = {  # command-line flag -> config key it overrides (so the saved config records it)
    "address": "extract.address",
    "num_cpus": "extract.num_cpus",
    "num_gpus": "extract.num_gpus",
    "batch_size": "extract.batch_size",
    "shard_size": "extract.shard_size",
    "backend": "extract.backend",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nanoemox-extract",
        description="Turn a dataset's clips into shards of frozen CLIP / HuBERT / FaceXFormer features. "
        "Re-running the same command resumes: finished clips are skipped.",
    )
    parser.add_argument(
        "--dataset", required=True, help="dataset name, e.g. mer-caption+ (see `nanoemox datasets list`)"
    )
    parser.add_argument("--root", help="dataset folder (default: datasets.<name> in the config)")
    parser.add_argument(
        "--out", default="shards", help="output folder or URL, e.g. s3://bucket/shards (default: shards/)"
    )
    parser.add_argument("--split", help="only this split (default: all)")
    parser.add_argument("--layout", help="annotation layout (default: picked from the files on disk)")
    parser.add_argument("--lenient", action="store_true", help="skip and count malformed annotation rows")
    parser.add_argument("--limit", type=int, help="only the first N clips of each split")
    parser.add_argument("--overwrite", action="store_true", help="delete existing shards of the split and start over")
    parser.add_argument("--address", help="an existing Ray cluster (default: local ray.init())")
    parser.add_argument("--num-cpus", type=int, help="CPUs for local Ray")
    parser.add_argument("--num-gpus", type=float, help="GPUs for the encoder actors (one actor per GPU)")
    parser.add_argument("--batch-size", type=int, help="clips per encoder call (default: 16 with GPUs, 1 on the CPU)")
    parser.add_argument("--shard-size", type=int, help="clips per shard")
    parser.add_argument("--backend", choices=["decord", "torchcodec"], help="video decoder")
    add_config_args(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.overrides += [
        f"{key}={getattr(args, flag)}" for flag, key in FLAG_KEYS.items() if getattr(args, flag) is not None
    ]
    if args.limit is not None and args.limit < 1:
        raise NanoEmoXError(f"--limit {args.limit}: must be 1 or more (the first N clips of each split)")
    cfg = config_from_args(args)
    root = args.root or cfg.datasets.get(args.dataset)
    if root is None:
        raise NanoEmoXError(
            f"no root for '{args.dataset}': pass --root DIR or set datasets.{args.dataset} in the config"
        )
    from nanoemox.extract.job import ExtractOptions, extract

    extract(
        cfg,
        ExtractOptions(args.dataset, root, args.out, args.split, args.layout, args.lenient, args.limit, args.overwrite),
    )
    return 0


def entry() -> None:
    sys.exit(run(main))


if __name__ == "__main__":
    entry()
