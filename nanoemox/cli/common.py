"""Arguments every command shares (--config, --preset, --set) and the error-to-exit-status wrapper."""

import argparse
import logging
import sys
import warnings
from collections.abc import Callable
from dataclasses import asdict

from nanoemox.config import PipelineConfig, load_config
from nanoemox.errors import NanoEmoXError
from nanoemox.fileio import storage


def add_config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        help="pipeline config (default: the pipeline.yaml shipped in the package; `nanoemox config init` copies it)",
    )
    parser.add_argument(
        "--preset",
        help="full (the paper's sizes, default), tiny (small, random init), published-code (the published code's "
        "choices, FIDELITY.md, installed as nanoemox/docs/FIDELITY.md); stack them left to right: tiny,published-code",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set train.batch_size=4 (repeatable)",
    )


def add_threads_arg(parser: argparse.ArgumentParser) -> None:
    """`--threads N` on the commands that run torch in this process; it sets `runtime.threads`."""
    parser.add_argument(
        "--threads",
        type=positive_int,
        help="torch's CPU threads (default runtime.threads; null: one for the tiny preset, else every CPU this "
        "process may use)",
    )


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return int(text)


def cli_overrides(args: argparse.Namespace) -> list[str]:
    """`--set` overrides, and the flags that stand for a config key."""
    threads = getattr(args, "threads", None)
    return args.overrides + ([f"runtime.threads={threads}"] if threads is not None else [])


def config_from_args(args: argparse.Namespace) -> PipelineConfig:
    """The effective config; its `storage` section also sets how URLs (s3://...) are reached."""
    cfg = load_config(args.config, args.preset, cli_overrides(args))
    use_storage(cfg)
    return cfg


def use_storage(cfg: PipelineConfig) -> None:
    storage.configure(**asdict(cfg.storage))


def run(main: Callable[[list[str] | None], int], argv: list[str] | None = None) -> int:
    """Run a command; a user-facing error becomes `error: ...` on stderr and exit status 2, an OS error (read-only
    folder, full disk, permission denied) one line naming the path and exit status 1."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
    try:
        return main(argv)
    except NanoEmoXError as err:
        end_progress_bars()
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        end_progress_bars()
        paths = " -> ".join(str(p) for p in (err.filename, err.filename2) if p is not None)
        print(f"error: {paths + ': ' if paths else ''}{err.strerror or err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def end_progress_bars() -> None:
    """Close the bars a failed stage left open, so its error starts on a line of its own."""
    tqdm = sys.modules.get("tqdm")
    if tqdm is not None:
        for bar in list(getattr(tqdm.tqdm, "_instances", ())):
            bar.close()
