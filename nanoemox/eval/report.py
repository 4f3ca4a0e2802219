"""`nanoemox-eval report`: every benchmark scored for a run, as the paper's tables (markdown, CSV, JSON) and plots."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nanoemox.eval.errors import EvalError
from nanoemox.files import jsonl_objects, read_json, read_yaml

TABLES = [  # (title, task, metrics shown x100): laid out like the paper's Tables 2-5
    ("Table 2. Emotion recognition (MER), hit rate", "mer", ("hitrate", "accuracy")),
    ("Table 2. Sentiment analysis (MSA), positive vs non-positive", "msa", ("waf", "acc")),
    ("Table 3. Open-vocabulary emotion recognition (OV-MER)", "ov-mer", ("f", "precision", "recall")),
    ("Table 4. Intent recognition (MIR), MMLA protocol", "mir", ("acc", "wf1", "wp")),
    ("Table 5. Emotion reasoning (ERI), LLM judge 1-10", "eri", ("clue_overlap", "label_overlap")),
    ("Table 5. Empathetic response generation (ERG)", "erg", ("emotion_acc", "coarse_hit", "dist1", "dist2")),
]
BUNDLED = Path(__file__).parent / "paper_results.yaml"  # the paper's own Nano-EmoX rows
MAIN_METRIC = {task: metrics[0] for _, task, metrics in TABLES}
SCALED = {"clue_overlap", "label_overlap"}  # already on the judge's 1-10 scale


def collect(run: Path) -> list[dict[str, Any]]:
    """Every eval result saved for the run (heads/<run>/eval/*.json)."""
    files = sorted((run / "eval").glob("*.json"))
    if not files:
        raise EvalError(f"{run}/eval has no results; run nanoemox-eval --predictions ... for this run first")
    results = []
    for path in files:
        result = read_json(path, "eval result")
        tasks = result.get("tasks") if isinstance(result, dict) else None
        if not isinstance(tasks, dict) or not isinstance(result.get("dataset"), str):
            raise EvalError(f"{path}: not an eval result written by nanoemox-eval (needs dataset and tasks)")
        if not all(isinstance(scores, dict) for scores in tasks.values()):
            raise EvalError(f"{path}: each task's scores must be a mapping of metric -> value")
        results.append({"split": "?"} | result)
    return results


def shown(metric: str, value: Any, scale: bool = True) -> str:
    if not isinstance(value, int | float):
        return "-"
    return f"{100 * value:.2f}" if scale and metric not in SCALED else f"{value:.2f}"


def load_published(path: Path) -> dict[str, dict[str, Any]]:
    """Rows of published results, checked: {label: {"source": str, "results": {task: {dataset: {metric: v}}}}}."""
    systems = read_yaml(path, "published results file") or {}
    metrics_of = {task: metrics for _, task, metrics in TABLES}
    if not isinstance(systems, dict):
        raise EvalError(f"{path}: expected a mapping of row labels, got {type(systems).__name__}")
    for label, system in systems.items():
        if not isinstance(system, dict) or set(system) - {"source", "results"}:
            raise EvalError(f"{path}: '{label}' must have only 'source' and 'results'")
        for task, datasets in mapping(system.get("results"), path, f"'{label}' results").items():
            if task not in metrics_of:
                raise EvalError(f"{path}: '{label}': unknown task '{task}' (one of {', '.join(metrics_of)})")
            for dataset, scores in mapping(datasets, path, f"'{label}' {task}").items():
                for metric, value in mapping(scores, path, f"'{label}' {task}/{dataset}").items():
                    where = f"{path}: '{label}' {task}/{dataset}/{metric}"
                    if metric not in metrics_of[task]:
                        raise EvalError(f"{where}: unknown metric (one of {', '.join(metrics_of[task])})")
                    if not isinstance(value, int | float) or isinstance(value, bool):
                        raise EvalError(f"{where}: value must be a number, got {value!r}")
    return systems


def mapping(value: Any, path: Path, where: str) -> dict:
    """A section of a published results file, which must be a mapping (or empty)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EvalError(f"{path}: {where} must be a mapping (task -> dataset -> metric -> value)")
    return value


def tables(results: list[dict[str, Any]], published: dict[str, dict[str, Any]]) -> tuple[str, list[list[str]]]:
    """Markdown of all tables, and the same rows for the CSV; published rows (as printed) under ours."""
    lines, rows = [], [["table", "dataset", "split", "metric", "value"]]
    cited: dict[str, str] = {}
    for title, task, metrics in TABLES:
        found = [r for r in results if task in r["tasks"]]
        if not found:
            continue
        lines += [f"## {title}", "", "| dataset | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
        for result in found:
            scores = result["tasks"][task]
            lines.append(
                f"| {result['dataset']} ({result['split']}) | "
                + " | ".join(shown(m, scores.get(m)) for m in metrics)
                + " |"
            )
            rows += [[title, result["dataset"], result["split"], m, scores.get(m)] for m in metrics]
        for dataset in dict.fromkeys(r["dataset"] for r in found):
            for label, system in published.items():
                printed = ((system.get("results") or {}).get(task) or {}).get(dataset)
                if printed:
                    cited[label] = system.get("source", "")
                    cells = " | ".join(shown(m, printed.get(m), scale=False) for m in metrics)
                    lines.append(f"| {dataset}, {label} | {cells} |")
                    rows += [[title, dataset, label, m, printed.get(m)] for m in metrics]
        lines.append("")
    notes = [f"{label}: {source}" for label, source in cited.items()]
    if not cited:
        notes.append(
            "No published rows for these datasets. The paper's values are not bundled (see "
            "nanoemox/eval/paper_results.yaml); add rows with `--published FILE` in the same layout."
        )
    return "\n\n".join(notes) + "\n\n" + "\n".join(lines), rows


def same_length_lists(values: Any) -> bool:
    lists = list(values)
    return all(isinstance(v, list) and all(isinstance(w, int | float) for w in v) for v in lists) and (
        len({len(v) for v in lists}) == 1
    )


def latest_gates(run: Path) -> dict[str, list[float]]:
    """Fusion gate weights per task from the last logged step of the last stage that logged them."""
    for stage in ("phase3", "joint", "phase2"):
        path = run / "logs" / stage / "metrics.jsonl"
        if path.is_file():
            for entry in reversed(jsonl_objects(path)):
                gates = entry.get("gates")
                if isinstance(gates, dict) and gates and same_length_lists(gates.values()):
                    return gates
    return {}


def plot(results: list[dict[str, Any]], gates: dict[str, list[float]], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    bars = [
        (f"{r['dataset']}\n{task}", r["tasks"][task].get(MAIN_METRIC.get(task, "")))
        for r in results
        for task in r["tasks"]
    ]
    bars = [(name, value) for name, value in bars if isinstance(value, int | float)]
    if bars:
        fig, ax = plt.subplots(figsize=(max(4, 1.2 * len(bars)), 3.5))
        ax.bar([b[0] for b in bars], [100 * b[1] for b in bars], color="#4c72b0")
        ax.set_ylabel("main metric (x100)")
        ax.set_title("Scores per dataset and task")
        fig.tight_layout()
        fig.savefig(out / "scores.png", dpi=120)
        plt.close(fig)
        written.append(out / "scores.png")
    if gates:
        fig, ax = plt.subplots(figsize=(4 + len(gates), 3.5))
        width = 0.8 / max(len(next(iter(gates.values()))), 1)
        for expert in range(len(next(iter(gates.values())))):
            ax.bar(
                [i + expert * width for i in range(len(gates))],
                [g[expert] for g in gates.values()],
                width,
                label=f"expert {expert + 1}",
            )
        ax.set_xticks([i + width for i in range(len(gates))], list(gates))
        ax.set_ylabel("gate weight")
        ax.set_title("Fusion gate weights per task")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "gates.png", dpi=120)
        plt.close(fig)
        written.append(out / "gates.png")
    return written


def write_report(run: Path, out: Path | None = None, published: Sequence[Path] = ()) -> Path:
    """Tables, CSV, JSON and plots for a run; rows from the bundled paper file and each `published` file."""
    out = out or run / "report"
    results = collect(run)
    systems: dict[str, dict[str, Any]] = {}
    for path in (BUNDLED, *published):
        systems.update(load_published(path))
    out.mkdir(parents=True, exist_ok=True)
    markdown, rows = tables(results, systems)
    (out / "report.md").write_text(f"# Nano-EmoX results: {run.name}\n\n{markdown}")
    with (out / "report.csv").open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    gates = latest_gates(run)
    (out / "report.json").write_text(json.dumps({"results": results, "gates": gates}, indent=1))
    plot(results, gates, out)
    return out
