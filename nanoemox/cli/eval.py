"""`nanoemox-eval`: benchmark metrics for our predictions, other systems' CSVs, and the report of a run."""

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from nanoemox.cli.common import add_config_args, config_from_args, run
from nanoemox.config import EvalConfig
from nanoemox.errors import NanoEmoXError
from nanoemox.fileio import storage
from nanoemox.fileio.files import read_text, writing

TASKS = ("mer", "ov-mer", "msa", "mir", "eri", "erg")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nanoemox-eval",
        description="Score predictions against a dataset's labels (`nanoemox-eval --predictions P --dataset D`); "
        "or other systems' files as published (`nanoemox-eval mer|ov-mer|eri --gt --pred`); or "
        "`nanoemox-eval report --run heads/<run>`.",
    )
    parser.add_argument("--predictions", help="predictions.jsonl from nanoemox-score (required without a command)")
    parser.add_argument("--dataset", help="the dataset the predictions answer (required without a command)")
    parser.add_argument("--root", help="dataset folder (default: datasets.<name> in the config)")
    parser.add_argument("--split", default="test")
    parser.add_argument("--layout", help="annotation layout (default: picked from disk)")
    parser.add_argument("--wheel-dir", help="AffectGPT's emotion_wheel folder (MER hit rate, OV-MER, MSA)")
    parser.add_argument("--extractor-url", help="OpenAI-compatible endpoint to extract emotion labels (MER-UniBench)")
    parser.add_argument(
        "--extractor-runs", type=int, help="extract labels N times (the extractor samples): scores are means with std"
    )
    parser.add_argument("--judge-url", help="OpenAI-compatible endpoint of the ERI judge")
    parser.add_argument(
        "--task",
        action="append",
        choices=TASKS,
        help="score only this task (repeatable); by default every task that can be scored, the others listed",
    )
    parser.add_argument("--no-cache", action="store_true", help="ask the LLMs again (no reply cache)")
    parser.add_argument(
        "--reparse", action="store_true", help="read every label from the raw outputs (MMLA rules for MIR)"
    )
    parser.add_argument(
        "--erg-turns", choices=("last", "all"), help="ERG emotion: each dialogue's last turn (default) or all"
    )
    parser.add_argument("--out", help="results JSON (default: <run>/eval/<dataset>-<split>.json)")
    add_config_args(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
    commands = parser.add_subparsers(dest="command", metavar="{mer,ov-mer,eri,report}")
    for name, truth in (("mer", "name(s),emo|emotions"), ("ov-mer", "name(s),openset")):
        sub = commands.add_parser(name, help=f"score a MER-UniBench CSV of any system ({name})")
        sub.add_argument("--gt", required=True, help=f"ground truth CSV ({truth})")
        sub.add_argument(
            "--pred",
            required=True,
            help="predictions CSV: name(s) with labels (openset | pred_label), or free-text reasons only "
            "(chi_reasons | reasons | reason), whose labels the --extractor-url LLM extracts",
        )
        sub.add_argument("--wheel-dir", required=True, help="AffectGPT's emotion_wheel folder")
        sub.add_argument("--extractor-url", help="OpenAI-compatible endpoint that extracts labels from reasons")
        add_csv_args(sub)
    sub = commands.add_parser("eri", help="judge the ERI reasons of any system (EMER)")
    sub.add_argument("--gt", required=True, help="ground truth CSV: names + reasons (the published gt-eng.csv)")
    sub.add_argument("--pred", required=True, help="predictions CSV: names + chi_reasons (or name + reason)")
    sub.add_argument("--judge-url", help="OpenAI-compatible endpoint of the judge (default: eval.judge_url)")
    add_csv_args(sub)
    sub = commands.add_parser("report", help="the paper's tables and plots for a run")
    sub.add_argument("--run", required=True, help="heads/<run> (a folder or a URL)")
    sub.add_argument("--out", help="output folder or URL (default <run>/report)")
    sub.add_argument(
        "--published",
        action="append",
        default=[],
        metavar="FILE",
        help="YAML of more published rows to show under ours (the paper's Tables 2-5 are always shown; layout of "
        "nanoemox/eval/paper_results.yaml); repeatable",
    )
    add_config_args(sub)  # its storage section reaches a --run given as a URL
    sub.add_argument("--json", action="store_true", help="print JSON")
    return parser


def add_csv_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-cache", action="store_true", help="ask the LLM again (replies otherwise cached)")
    add_config_args(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command in ("mer", "ov-mer", "eri"):
        return score_files(args)
    if args.command == "report":
        from nanoemox.eval.report import write_report
        from nanoemox.runs import RunFolder

        config_from_args(args)  # storage options, to reach a --run given as a URL
        with writing(args.out or RunFolder(args.run).report_dir):
            out = write_report(args.run, args.out, args.published)
        print(read_text(storage.join(out, "report.md"), "report"))
        print(f"report written to {out}")
        return 0
    missing = [flag for flag, value in (("--predictions", args.predictions), ("--dataset", args.dataset)) if not value]
    if missing:
        parser.error(f"the following arguments are required: {', '.join(missing)} (or a command: mer, ov-mer, eri)")
    return score_predictions(args)


def eval_settings(args: argparse.Namespace, section: EvalConfig) -> EvalConfig:
    """The config's eval section with the command line's endpoints and choices over it."""
    given = {
        "extractor_url": getattr(args, "extractor_url", None),
        "extractor_runs": getattr(args, "extractor_runs", None),
        "judge_url": getattr(args, "judge_url", None),
        "erg_turns": getattr(args, "erg_turns", None),
        "cache": False if args.no_cache else None,
    }
    if given["extractor_runs"] is not None and given["extractor_runs"] < 1:
        raise NanoEmoXError(f"--extractor-runs must be at least 1, got {given['extractor_runs']}")
    return replace(section, **{key: value for key, value in given.items() if value is not None})


def score_files(args: argparse.Namespace) -> int:
    """`mer`, `ov-mer`, `eri`: another system's files, replies cached beside its predictions."""
    from nanoemox.eval import csv_scoring
    from nanoemox.eval.llm import eval_clients

    settings = eval_settings(args, config_from_args(args).eval)
    cache = Path(args.pred).parent / "llm-cache" if settings.cache else None
    extractor, judge = eval_clients(settings, cache)
    if args.command == "eri":
        if judge is None:
            raise NanoEmoXError("eri needs an LLM judge: pass --judge-url (an OpenAI-compatible endpoint)")
        result = csv_scoring.score_eri_csv(args.gt, args.pred, judge, settings.judge_prompts)
    else:
        score = csv_scoring.score_mer_csv if args.command == "mer" else csv_scoring.score_ov_mer_csv
        result = score(args.gt, args.pred, args.wheel_dir, extractor)
    if args.json:
        print(json.dumps(result))
        return 0
    shown = {k: v for k, v in result.items() if not isinstance(v, list | dict) and k != "protocol"}
    print("  ".join(f"{k}={v}" for k, v in shown.items()))
    print(f"  protocol: {result['protocol']}")
    for key in ("left_out", "llm"):
        if key in result:
            print(f"  {key}: " + ", ".join(f"{name} {n}" for name, n in result[key].items()))
    for warning in result.get("warnings", []):
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def score_predictions(args: argparse.Namespace) -> int:
    """The default form: a predictions.jsonl against a dataset's own labels, results beside the run."""
    from nanoemox.eval.benchmark import result_lines
    from nanoemox.eval.run import eval_run

    cfg = config_from_args(args)
    settings = eval_settings(args, cfg.eval)
    root = args.root or cfg.datasets.get(args.dataset)
    if root is None:
        raise NanoEmoXError(
            f"no root for '{args.dataset}': pass --root DIR or set datasets.{args.dataset} in the config"
        )
    where = (args.predictions, args.dataset, args.split, root)
    result, out = eval_run(*where, settings, args.out, args.wheel_dir, args.layout, args.reparse, args.task or ())
    if args.json:
        print(json.dumps(result))
        return 0
    print("\n".join(result_lines(result)))
    for warning in result["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"results written to {out}")
    return 0


def entry() -> None:
    sys.exit(run(main))


if __name__ == "__main__":
    entry()
