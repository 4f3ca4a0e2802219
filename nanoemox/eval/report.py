"""`nanoemox-eval report`: every benchmark scored for a run, as the paper's tables (markdown, CSV, JSON) and plots."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nanoemox.eval.errors import EvalError
from nanoemox.fileio import storage
from nanoemox.fileio.files import jsonl_objects, read_json, read_yaml
from nanoemox.runs import RunFolder

TABLES = [  # (title, task, metrics shown x100, the first the main one): the paper's Tables 2-5, its numbering
    ("Table 2. MER-UniBench: emotion recognition (MER)", "mer", ("hitrate", "accuracy")),
    ("Table 2. MER-UniBench: sentiment analysis (MSA), positive vs non-positive", "msa", ("waf", "acc")),
    ("Table 2. MER-UniBench: open-vocabulary emotion recognition (OV-MER)", "ov-mer", ("f", "precision", "recall")),
    ("Table 3. Emotion reasoning (ERI) on EMER, LLM judge 1-10", "eri", ("mean", "clue_overlap", "label_overlap")),
    ("Table 4. Intent recognition (MIR)", "mir", ("acc", "wf1", "wp")),
    ("Table 5. Empathetic response generation (ERG)", "erg", ("emotion_acc", "coarse_hit", "dist1", "dist2")),
]
BUNDLED = Path(__file__).parent / "paper_results.yaml"  # the paper's published rows (Tables 2-5)
SCALED = {"mean", "clue_overlap", "label_overlap"}  # already on the judge's 1-10 scale
OURS = "ours"  # the system column of our rows in report.csv (published rows: their label, no split)


def collect(run: str | Path, allow_empty: bool = False) -> list[dict[str, Any]]:
    """Every eval result saved for the run (heads/<run>/eval/*.json)."""
    folder = RunFolder(str(run)).eval_dir
    files = [storage.join(folder, name) for name in storage.list_names(folder) if name.endswith(".json")]
    if not files and not allow_empty:
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


def load_published(path: str | Path) -> dict[str, dict[str, Any]]:
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


def published_value(printed: dict[str, Any], metric: str) -> Any:
    """A printed value; the ERI mean, which the paper's Table 3 does not print, from its two judge scores."""
    if metric == "mean" and "mean" not in printed and {"clue_overlap", "label_overlap"} <= set(printed):
        return (printed["clue_overlap"] + printed["label_overlap"]) / 2
    return printed.get(metric)


def published_cell(metric: str, printed: Any, ours: Any) -> str:
    """A published value as printed, with ours minus it in brackets (both on the table's scale)."""
    cell = shown(metric, printed, scale=False)
    if isinstance(printed, int | float) and isinstance(ours, int | float):
        cell += f" ({(ours if metric in SCALED else 100 * ours) - printed:+.2f})"
    return cell


def tables(
    results: list[dict[str, Any]],
    published: dict[str, dict[str, Any]],
    missing: dict[tuple[str, str], str] | None = None,
) -> tuple[str, list[list[str]]]:
    """Markdown of all tables, and the same rows for the CSV; published rows (as printed) under ours.

    Each of our rows names the protocol its numbers follow; each published row shows, in brackets, ours minus it.
    A benchmark in `missing` ((dataset, task) -> why) gets a row that says why it has no numbers.
    """
    lines, rows = [], [["table", "dataset", "split", "system", "metric", "value"]]
    cited: dict[str, str] = {}
    missing = missing or {}
    for title, task, metrics in TABLES:
        found = [r for r in results if task in r["tasks"]]
        absent = {dataset: reason for (dataset, t), reason in missing.items() if t == task}
        if not found and not absent:
            continue
        lines += [f"## {title}", "", "| dataset | " + " | ".join(metrics) + " | protocol |"]
        lines.append("|---" * (len(metrics) + 2) + "|")
        for result in found:
            scores = result["tasks"][task]
            cells = " | ".join(shown(m, scores.get(m)) for m in metrics)
            lines.append(f"| {result['dataset']} ({result['split']}) | {cells} | {scores.get('protocol', '-')} |")
            rows += [[title, result["dataset"], result["split"], OURS, m, scores.get(m)] for m in metrics]
        for dataset, reason in absent.items():
            lines.append(f"| {dataset} | " + " | ".join("n/a" for _ in metrics) + f" | not produced: {reason} |")
            rows += [[title, dataset, "", OURS, m, f"not produced: {reason}"] for m in metrics]
        for dataset in dict.fromkeys(r["dataset"] for r in found):
            ours = next(r for r in found if r["dataset"] == dataset)["tasks"][task]
            for label, system in published.items():
                printed = ((system.get("results") or {}).get(task) or {}).get(dataset)
                if printed:
                    cited[label] = system.get("source", "")
                    values = [published_value(printed, m) for m in metrics]
                    cells = " | ".join(published_cell(m, v, ours.get(m)) for m, v in zip(metrics, values, strict=True))
                    lines.append(f"| {dataset}, {label} | {cells} | as published |")
                    rows += [[title, dataset, "", label, m, v] for m, v in zip(metrics, values, strict=True)]
        lines.append("")
    notes = [f"{label}: {source}" for label, source in cited.items()]
    if cited:
        notes.append("Published rows show, in brackets, our value minus the published one.")
    elif published:
        notes.append(
            "No published rows for these datasets; add rows with `--published FILE` in the layout of "
            "nanoemox/eval/paper_results.yaml."
        )
    return "\n\n".join([*notes, "\n".join(lines)]), rows


def same_length_lists(values: Any) -> bool:
    lists = list(values)
    return all(isinstance(v, list) and all(isinstance(w, int | float) for w in v) for v in lists) and (
        len({len(v) for v in lists}) == 1
    )


def latest_gates(run: str | Path) -> dict[str, list[float]]:
    """Fusion gate weights per task from the last logged step of the last stage that logged them."""
    for path in RunFolder(str(run)).stage_logs():  # most advanced first; phase-1 stages log no gates
        for entry in reversed(jsonl_objects(path)):
            gates = entry.get("gates")
            if isinstance(gates, dict) and gates and same_length_lists(gates.values()):
                return gates
    return {}


def save_figure(fig: Any, location: str) -> str:
    image = io.BytesIO()
    fig.savefig(image, format="png", dpi=120, bbox_inches="tight")
    storage.put_bytes(location, image.getvalue())
    return location


def bar_value(metric: str, value: float) -> float:
    """A score on the plot's 0-100 axis: fractions x100, judge scores (1-10) x10."""
    return 10 * value if metric in SCALED else 100 * value


def score_bars(
    results: list[dict[str, Any]],
    published: dict[str, dict[str, Any]],
    chance: dict[tuple[str, str], float] | None,
) -> list[tuple[str, float, float | None]]:
    """(label, ours, reference) per scored dataset and task, on its table's first metric that we have.

    The reference is the chance level when `chance` is given (the demo), else the first published row's value.
    """
    metrics_of = {task: metrics for _, task, metrics in TABLES}
    bars = []
    for result in results:
        for task, scores in result["tasks"].items():
            metric = next((m for m in metrics_of.get(task, ()) if isinstance(scores.get(m), int | float)), None)
            if metric is None:
                continue
            reference = None
            if chance is not None:
                level = chance.get((result["dataset"], task))
                reference = None if level is None else bar_value(metric, level)
            else:
                for system in published.values():
                    printed = ((system.get("results") or {}).get(task) or {}).get(result["dataset"]) or {}
                    value = published_value(printed, metric)
                    if isinstance(value, int | float):
                        reference = value * 10 if metric in SCALED else value
                        break
            bars.append((f"{result['dataset']}\n{task} {metric}", bar_value(metric, scores[metric]), reference))
    return bars


def plot(
    results: list[dict[str, Any]],
    gates: dict[str, list[float]],
    out: str | Path,
    published: dict[str, dict[str, Any]] | None = None,
    chance: dict[tuple[str, str], float] | None = None,
) -> list[str]:
    """scores.png (every scored dataset and task beside chance or the paper) and gates.png; the paths written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    bars = score_bars(results, published or {}, chance)
    if bars:
        reference_label = "chance (majority class)" if chance is not None else "paper (first published row)"
        fig, ax = plt.subplots(figsize=(max(5, 1.6 * len(bars)), 4))
        places = range(len(bars))
        ax.bar([i - 0.2 for i in places], [b[1] for b in bars], 0.4, color="#4c72b0", label="ours")
        ax.bar(
            [i + 0.2 for i, b in zip(places, bars, strict=True) if b[2] is not None],
            [b[2] for b in bars if b[2] is not None],
            0.4,
            color="#bbbbbb",
            label=reference_label,
        )
        ax.set_xticks(list(places), [b[0] for b in bars])
        ax.set_ylabel("score (x100; judge 1-10 x10)")
        ax.set_ylim(0, 105)
        ax.set_title("Scores per dataset and task")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        written.append(save_figure(fig, storage.join(out, "scores.png")))
        plt.close(fig)
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
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))  # beside the axes: never over a bar
        written.append(save_figure(fig, storage.join(out, "gates.png")))
        plt.close(fig)
    return written


def write_report(
    run: str | Path,
    out: str | Path | None = None,
    published: Sequence[str | Path] = (),
    chance: dict[tuple[str, str], float] | None = None,
    missing: dict[tuple[str, str], str] | None = None,
    compare: bool = True,
    note: str | None = None,
) -> str:
    """Tables, CSV, JSON and plots for a run (folders or URLs); rows from the bundled paper file and each
    `published` file (none when not `compare`: scores on a generated corpus mean nothing beside the paper's).
    Returns the report folder. `missing`: why each (dataset, task) without a result has none; `note`: a line on
    where the data come from.

    `chance`, by (dataset, task), puts the chance level beside our bars instead of the published value (the demo).
    """
    out = str(out or RunFolder(str(run)).report_dir)
    results = collect(run, allow_empty=bool(missing))
    systems: dict[str, dict[str, Any]] = {}
    for path in (BUNDLED, *published) if compare else ():
        systems.update(load_published(path))
    storage.makedirs(out)
    markdown, rows = tables(results, systems, missing)
    heading = f"# Nano-EmoX results: {storage.name(run)}\n\n" + (f"{note}\n\n" if note else "")
    storage.put_text(storage.join(out, "report.md"), heading + markdown)
    table = io.StringIO(newline="")
    csv.writer(table).writerows(rows)
    storage.put_text(storage.join(out, "report.csv"), table.getvalue())
    gates = latest_gates(run)
    missed = [{"dataset": d, "task": t, "why": why} for (d, t), why in (missing or {}).items()]
    summary = {"results": results, "gates": gates, "missing": missed}
    storage.put_text(storage.join(out, "report.json"), json.dumps(summary, indent=1))
    plot(results, gates, out, systems, chance)
    return out
