"""`nanoemox`: the commands that are not one pipeline stage (info, config, setup, datasets, shards, reproduce,
predict, demo)."""

import argparse
import json
import sys

from nanoemox.cli import reproduce
from nanoemox.cli.common import add_config_args, add_threads_arg, cli_overrides, config_from_args, run
from nanoemox.config import TASKS, config_yaml, init_config
from nanoemox.datasets import DATASETS, open_dataset, reader_class
from nanoemox.datasets.check import check_dataset
from nanoemox.errors import NanoEmoXError
from nanoemox.fileio.files import writing


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nanoemox", description="Nano-EmoX tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    info = commands.add_parser(
        "info",
        help="parameter counts per module and trainable per phase (no weights needed)",
    )
    add_config_args(info)
    info.add_argument("--json", action="store_true", help="print the report as JSON")

    config = commands.add_parser("config", help="print the effective config, or write an editable copy of it")
    config_actions = config.add_subparsers(dest="action", required=True)
    show = config_actions.add_parser("show", help="the effective config as YAML (file, preset and --set applied)")
    add_config_args(show)
    init = config_actions.add_parser("init", help="copy the default pipeline.yaml to PATH (never overwrites)")
    init.add_argument("path", help="where to write it, e.g. pipeline.yaml; then pass --config PATH")

    setup = commands.add_parser("setup", help="check the configured face detector loads; --install what pip cannot")
    setup.add_argument(
        "--install", action="store_true", help="pip-install a missing detector package (facenet-pytorch: --no-deps)"
    )
    add_config_args(setup)

    datasets = commands.add_parser("datasets", help="list the supported datasets or check one on disk")
    actions = datasets.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="each dataset, its tasks, and split sizes where a root is configured")
    add_config_args(listing)
    check = actions.add_parser("check", help="counts per split, missing media, duplicate ids, unknown labels")
    check.add_argument("name", help="dataset name, e.g. meld")
    check.add_argument("--root", help="dataset folder (default: datasets.<name> in the config)")
    check.add_argument("--split", help="only this split")
    check.add_argument("--layout", help="annotation layout (default: picked from the files on disk)")
    check.add_argument("--lenient", action="store_true", help="skip and count malformed rows instead of stopping")
    add_config_args(check)

    shards = commands.add_parser("shards", help="inspect shards, or export/import a split to/from zarr")
    shard_actions = shards.add_subparsers(dest="action", required=True)
    inspect = shard_actions.add_parser("inspect", help="counts, contract and size per clip of every split under DIR")
    inspect.add_argument("dir", help="a shards folder, a dataset folder or one split folder")
    inspect.add_argument("--json", action="store_true", help="print as JSON")
    export = shard_actions.add_parser("export", help="copy a split into a zarr store (random access by clip id)")
    export.add_argument("split_dir")
    export.add_argument("store")
    add_config_args(export)
    restore = shard_actions.add_parser("import", help="write a zarr store back as shards of a split")
    restore.add_argument("store")
    restore.add_argument("split_dir")
    add_config_args(restore)

    demo = commands.add_parser("demo", help="the whole pipeline on a generated corpus (tiny preset, CPU)")
    demo_actions = demo.add_subparsers(dest="action", required=True)
    corpus = demo_actions.add_parser("make-corpus", help="write the demo corpus in four datasets' native formats")
    corpus.add_argument("--out", default="demo-out/corpus")
    corpus.add_argument("--scale", type=float, default=1.0, help="fraction of the default clip counts")
    demo_run = demo_actions.add_parser(
        "run", help="corpus -> extract -> train -> score -> eval -> report, as `nanoemox reproduce` (resumes)"
    )
    demo_run.add_argument("--out", default="demo-out")
    demo_run.add_argument("--scale", type=float, default=1.0, help="fraction of the default clip counts")
    demo_run.add_argument("--steps-scale", type=float, default=1.0, help="fraction of the default training steps")
    demo_run.add_argument("--fresh", action="store_true", help="delete --out first (default: resume what is there)")
    demo_run.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override a config key"
    )
    add_threads_arg(demo_run)

    reproduce.add_parser(commands)

    predict = commands.add_parser("predict", help="answer one task for one clip, in process (no Ray, no shards)")
    predict.add_argument("video", help="a video file")
    predict.add_argument("--run", required=True, help="heads/<run> or one of its phase folders")
    predict.add_argument("--task", default="mer", choices=TASKS)
    predict.add_argument("--subtitle", default="", help="what is said in the clip")
    predict.add_argument("--context", help="dialogue history file, one 'speaker: utterance' per line (erg)")
    predict.add_argument(
        "--labels", help="candidate labels of this dataset (e.g. meld, mintrec2); mir defaults to mintrec"
    )
    predict.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    predict.add_argument("--json", action="store_true", help="print the prediction as JSON")
    add_threads_arg(predict)
    predict.add_argument("--preset", help="the run's preset (checked against the config saved with its heads)")
    predict.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "config":
        return config_command(args)
    if args.command == "setup":
        return setup_command(args)
    if args.command == "datasets":
        return datasets_command(args)
    if args.command == "shards":
        return shards_command(args)
    if args.command == "predict":
        return predict_command(args)
    if args.command == "demo":
        return demo_command(args)
    if args.command == "reproduce":
        return reproduce.command(args)
    if args.command == "info":
        from nanoemox.model.info import format_report, parameter_report

        report = parameter_report(config_from_args(args))
        if args.json:
            print(json.dumps({k: report[k] for k in ("modules", "total", "trainable")}, indent=2))
        else:
            print(format_report(report))
    return 0


def config_command(args: argparse.Namespace) -> int:
    if args.action == "show":
        print(config_yaml(config_from_args(args)), end="")
    else:
        print(f"wrote {init_config(args.path)}; edit it and pass --config {args.path}")
    return 0


def setup_command(args: argparse.Namespace) -> int:
    from nanoemox.extract.faces import ensure_detector

    ext = config_from_args(args).extract
    ensure_detector(ext.face_detector, ext.face_min_size, install=args.install)
    print(f"face detector {ext.face_detector}: ready")
    return 0


def datasets_command(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    if args.action == "list":
        for name in DATASETS:
            reader = reader_class(name)
            line = f"{name:<14} tasks: {', '.join(reader.tasks):<22} layouts: {', '.join(reader.layouts)}"
            if name in cfg.datasets:
                report = check_dataset(open_dataset(name, cfg.datasets[name], lenient=True))
                sizes = " ".join(f"{s}={r.records}" for s, r in report.splits.items())
                line += f"\n{'':<14} {cfg.datasets[name]}: {sizes}, {len(report.missing_examples)} media missing"
            print(line)
        return 0
    root = args.root or cfg.datasets.get(args.name)
    if root is None:
        raise NanoEmoXError(f"no root for '{args.name}': pass --root DIR or set datasets.{args.name} in the config")
    report = check_dataset(open_dataset(args.name, root, args.layout, args.lenient), args.split)
    print("\n".join(report.lines()))
    return 0 if report.ok else 1


def demo_command(args: argparse.Namespace) -> int:
    if args.action == "make-corpus":
        from nanoemox.demo.corpus import make_corpus

        with writing(args.out):
            corpus = make_corpus(args.out, args.scale)
        for name, root in corpus.items():
            print(f"{name}: {root}")
        return 0
    from nanoemox.demo.run import run_demo

    with writing(args.out):
        run_demo(args.out, args.scale, args.steps_scale, args.fresh, cli_overrides(args))
    return 0


def predict_command(args: argparse.Namespace) -> int:
    from pathlib import Path

    from nanoemox.score.predict import predict_clip, read_context
    from nanoemox.score.run import checkpoint_and_config

    if args.labels and args.labels not in DATASETS:
        raise NanoEmoXError(f"--labels {args.labels}: unknown dataset; choose from {', '.join(DATASETS)}")
    checkpoint, cfg = checkpoint_and_config(args.run, None, cli_overrides(args), args.preset)
    context = read_context(Path(args.context)) if args.context else None
    labels = args.labels or ("mintrec" if args.task == "mir" else "predict")
    prediction = predict_clip(
        cfg, checkpoint.folder, Path(args.video), args.task, args.subtitle, context, labels, args.device
    )
    print(json.dumps(prediction) if args.json else f"{args.task}: {prediction['output']}")
    return 0


def shards_command(args: argparse.Namespace) -> int:
    if args.action == "inspect":
        from nanoemox.shards.inspect import format_inspection, inspect_shards

        entries = inspect_shards(args.dir)
        print(json.dumps(entries, indent=2) if args.json else format_inspection(entries))
        return 1 if any(entry["damaged"] for entry in entries) else 0
    from nanoemox.shards.zarr_store import export_zarr, import_zarr  # torch: only where tensors are read

    if args.action == "export":
        with writing(args.store):
            count = export_zarr(args.split_dir, args.store, config_from_args(args))
        print(f"exported {count} clips to {args.store}")
    else:
        with writing(args.split_dir):
            count = import_zarr(args.store, args.split_dir, config_from_args(args).extract.shard_size)
        print(f"imported {count} clips into {args.split_dir}")
    return 0


def entry() -> None:
    sys.exit(run(main))


if __name__ == "__main__":
    entry()
