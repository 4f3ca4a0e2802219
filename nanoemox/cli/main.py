"""`nanoemox`: the commands that are not a pipeline stage (info)."""

import argparse
import json
import sys

from nanoemox.cli.common import add_config_args, config_from_args, run
from nanoemox.info import format_report, parameter_report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nanoemox", description="Nano-EmoX tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    info = commands.add_parser(
        "info",
        help="parameter counts per module and trainable per phase (no weights needed)",
    )
    add_config_args(info)
    info.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "info":
        report = parameter_report(config_from_args(args))
        if args.json:
            print(json.dumps({k: report[k] for k in ("modules", "total", "trainable")}, indent=2))
        else:
            print(format_report(report))
    return 0


def entry() -> None:
    sys.exit(run(main))


if __name__ == "__main__":
    entry()
