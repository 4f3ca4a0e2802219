"""`nanoemox-eval`: benchmark metrics for our predictions, other systems' CSVs, and the report of a run."""

import argparse
import json
import sys

from nanoemox import storage
from nanoemox.cli.common import add_config_args, config_from_args, run, use_storage
from nanoemox.config import load_config
from nanoemox.errors import NanoEmoXError
from nanoemox.files import read_text, writing

COMMANDS = ("mer", "ov-mer", "report")


def build_parser(command: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"nanoemox-eval{' ' + command if command else ''}",
        description="Score predictions against a dataset's labels; or `nanoemox-eval mer|ov-mer --gt --pred` for "
        "MER-UniBench CSVs of any system; or `nanoemox-eval report --run heads/<run>`.",
    )
    if command in ("mer", "ov-mer"):
        parser.add_argument("--gt", required=True, help="ground truth CSV (mer: name,emo; ov-mer: name,openset)")
        parser.add_argument("--pred", required=True, help="predictions CSV (name,openset)")
        parser.add_argument("--wheel-dir", required=True, help="AffectGPT's emotion_wheel folder")
    elif command == "report":
        parser.add_argument("--run", required=True, help="heads/<run> (a folder or a URL)")
        parser.add_argument("--out", help="output folder or URL (default <run>/report)")
        parser.add_argument(
            "--published",
            action="append",
            default=[],
            metavar="FILE",
            help="YAML of more published rows to show under ours (the paper's Tables 2-5 are always shown; layout of "
            "nanoemox/eval/paper_results.yaml); repeatable",
        )
    else:
        parser.add_argument("--predictions", required=True, help="predictions.jsonl from nanoemox-score")
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--root", help="dataset folder (default: datasets.<name> in the config)")
        parser.add_argument("--split", default="test")
        parser.add_argument("--layout", help="annotation layout (default: picked from disk)")
        parser.add_argument("--wheel-dir", help="AffectGPT's emotion_wheel folder (MER hit rate, OV-MER, MSA)")
        parser.add_argument(
            "--extractor-url", help="OpenAI-compatible endpoint to extract emotion labels (MER-UniBench)"
        )
        parser.add_argument(
            "--extractor-runs",
            type=int,
            help="extract labels N times (the extractor samples): scores are means with their std",
        )
        parser.add_argument("--judge-url", help="OpenAI-compatible endpoint of the ERI judge")
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
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv.pop(0) if argv and argv[0] in COMMANDS else None
    args = build_parser(command).parse_args(argv)
    if command in ("mer", "ov-mer"):
        from nanoemox.eval.csv_scoring import score_mer_csv, score_ov_mer_csv

        score = score_mer_csv if command == "mer" else score_ov_mer_csv
        result = score(args.gt, args.pred, args.wheel_dir)
        if args.json:
            print(json.dumps(result))
            return 0
        print("  ".join(f"{k}={v}" for k, v in result.items() if k not in ("warnings", "protocol")))
        for warning in result.get("warnings", []):
            print(f"warning: {warning}", file=sys.stderr)
        return 0
    if command == "report":
        from nanoemox.eval.report import write_report

        use_storage(load_config())  # storage options of the default config, to reach a --run given as a URL
        from nanoemox.runs import RunFolder

        with writing(args.out or RunFolder(args.run).report_dir):
            out = write_report(args.run, args.out, args.published)
        print(read_text(storage.join(out, "report.md"), "report"))
        print(f"report written to {out}")
        return 0
    from dataclasses import replace

    cfg = config_from_args(args)
    given = {
        "extractor_url": args.extractor_url,
        "extractor_runs": args.extractor_runs,
        "judge_url": args.judge_url,
        "erg_turns": args.erg_turns,
        "cache": False if args.no_cache else None,
    }
    if args.extractor_runs is not None and args.extractor_runs < 1:
        raise NanoEmoXError(f"--extractor-runs must be at least 1, got {args.extractor_runs}")
    settings = replace(cfg.eval, **{key: value for key, value in given.items() if value is not None})
    root = args.root or cfg.datasets.get(args.dataset)
    if root is None:
        raise NanoEmoXError(
            f"no root for '{args.dataset}': pass --root DIR or set datasets.{args.dataset} in the config"
        )
    from nanoemox.eval.run import eval_run

    result, out = eval_run(
        args.predictions, args.dataset, args.split, root, settings, args.out, args.wheel_dir, args.layout, args.reparse
    )
    if args.json:
        print(json.dumps(result))
    else:
        for task, scores in result["tasks"].items():
            shown = "  ".join(
                f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                for k, v in scores.items()
                if not isinstance(v, list | dict) and k != "protocol"
            )
            print(f"{args.dataset}/{args.split} {task}: {shown}")
            if "protocol" in scores:
                print(f"  protocol: {scores['protocol']}")
        for warning in result["warnings"]:
            print(f"warning: {warning}", file=sys.stderr)
        print(f"results written to {out}")
    return 0


def entry() -> None:
    sys.exit(run(main))


if __name__ == "__main__":
    entry()
