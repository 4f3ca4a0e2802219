"""Score a predictions.jsonl against a dataset's own labels (read with its reader), every task it holds."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nanoemox.config import EvalConfig
from nanoemox.datasets import open_dataset
from nanoemox.datasets.record import Labels
from nanoemox.eval.erg import erg_scores
from nanoemox.eval.errors import EvalError
from nanoemox.eval.judge import judge_eri, judge_protocol
from nanoemox.eval.llm import EXTRACTOR_PROMPT_VERSION, eval_clients, extract_emotions_llm
from nanoemox.eval.mir import mir_scores
from nanoemox.eval.msa import msa_scores, sentiment_llm, wheel_polarity
from nanoemox.eval.parse import parse_emotions, parse_intent
from nanoemox.eval.pool import CallStats
from nanoemox.eval.published_rules import published_scores
from nanoemox.eval.wheel import EmotionWheels
from nanoemox.fileio import storage
from nanoemox.fileio.files import read_text
from nanoemox.tasks import candidates

EMOTION_TASKS = ("mer", "ov-mer", "msa")  # answers are lists of emotion words
CALLS = ("calls", "cached", "failed")


@dataclass
class Predictions:
    """Rows of a predictions file by task and id, with what was wrong with the file."""

    rows: dict[str, dict[str, dict]] = field(default_factory=lambda: defaultdict(dict))
    warnings: list[str] = field(default_factory=list)


def row_problem(row: dict) -> str:
    """What makes a prediction row unusable (fields of the wrong type), or ''."""
    task, output, answer = row["task"], row.get("output"), row.get("answer")
    if not isinstance(task, str):
        return "'task' must be a string"
    if output is not None and not isinstance(output, str):
        return "'output' must be a string"
    if task in EMOTION_TASKS and isinstance(answer, list) and not all(isinstance(a, str) for a in answer):
        return "'answer' must be a list of strings"
    if task == "mir" and answer is not None and not isinstance(answer, str):
        return "'answer' must be a string"
    return ""


def read_predictions(path: str | Path) -> Predictions:
    if not storage.exists(path):
        raise EvalError(f"{path}: predictions file not found; run nanoemox-score first")
    found = Predictions()
    for number, line in enumerate(read_text(path, "predictions file").splitlines(), start=1):
        try:
            row = json.loads(line)
            clip_id, task = str(row["id"]), row["task"]
        except (json.JSONDecodeError, KeyError, TypeError):
            found.warnings.append(f"{path}:{number}: malformed line skipped")
            continue
        problem = row_problem(row)
        if problem:
            found.warnings.append(f"{path}:{number}: malformed row skipped ({problem})")
            continue
        row["output"] = row.get("output") or ""
        if clip_id in found.rows[task]:
            found.warnings.append(f"{path}:{number}: duplicate prediction for {clip_id} ({task}); the first is kept")
            continue
        found.rows[task][clip_id] = row
    return found


QUESTIONS = {"mer-candidates": "candidate-list question", "mer": "single-label question"}  # else: open question


def question_of(rows: dict[str, dict]) -> str:
    """Which question the rows answer, from their prompt_id (rows of other systems may not record it)."""
    asked = {QUESTIONS.get(row.get("prompt_id"), "open question") for row in rows.values() if row.get("prompt_id")}
    return " + ".join(sorted(asked)) or "question not recorded"


def mean_and_std(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The first run's fields, each score replaced by its mean over the runs, with `<score>_std` beside it."""
    result = dict(runs[0])
    if len(runs) > 1:
        for key, value in runs[0].items():
            if isinstance(value, float):
                values = [run[key] for run in runs]
                result[key], result[f"{key}_std"] = statistics.fmean(values), statistics.stdev(values)
        result["runs"] = [{key: value for key, value in run.items() if isinstance(value, float)} for run in runs]
    return result


class Scorer:
    """The metric of each task, under the protocol behind the paper's tables; LLMs only where configured."""

    def __init__(self, cfg: EvalConfig, wheel_dir: str | None, cache_dir: Path | None = None, reparse: bool = False):
        wheel_dir = wheel_dir or cfg.wheel_dir
        self.wheels = EmotionWheels.load(wheel_dir) if wheel_dir else None
        self.cfg, self.reparse = cfg, reparse
        self.extractor, self.judge = eval_clients(cfg, cache_dir)

    def emotions(self, rows: dict[str, dict], ids: list[str], draw: int | None) -> dict[str, list[str]]:
        """Each id's predicted emotion words: the LLM extractor's `draw`-th reading, or our parser's (draw None)."""
        found = [i for i in ids if i in rows]
        if draw is not None and self.extractor is not None:
            extracted = extract_emotions_llm(self.extractor, [rows[i].get("output", "") for i in found], draw)
            words = dict(zip(found, extracted, strict=True))
        else:
            words = {i: self.parsed_emotions(rows[i]) for i in found}
        return {i: words.get(i, []) for i in ids}

    def parsed_emotions(self, row: dict) -> list[str]:
        if isinstance(row.get("answer"), list) and not self.reparse:
            return row["answer"]
        return parse_emotions(row.get("output", ""))

    def unscorable(self, task: str, rows: dict[str, dict]) -> str:
        """Why `task` cannot be scored with what was given ('' when it can)."""
        wheels = "it is scored on the emotion wheels: pass --wheel-dir (AffectGPT's emotion_wheel)"
        if task == "ov-mer" and self.wheels is None:
            return wheels
        if task == "msa" and self.wheels is None and not self.emotion_protocol(rows)[1]:
            return wheels + " or, for open answers, --extractor-url"
        if task == "eri" and self.judge is None:
            return "it needs an LLM judge: pass --judge-url or set eval.judge_url (an OpenAI-compatible endpoint)"
        return ""

    def emotion_protocol(self, rows: dict[str, dict]) -> tuple[dict[str, Any], bool]:
        """How MER / OV-MER / MSA answers become labels (recorded in the result), and whether the LLM does it."""
        question = question_of(rows)
        if "candidate" in question or self.extractor is None:
            stand_in = "" if "candidate" in question else "; our parser stands in for MER-UniBench's LLM extractor"
            return {"protocol": f"{question}, labels read by the nanoemox parser{stand_in}"}, False
        settings = self.extractor.settings() | {"prompt_version": EXTRACTOR_PROMPT_VERSION}
        runs = self.cfg.extractor_runs
        described = (
            f"{question}, labels extracted by {self.extractor.model} (temperature {self.extractor.temperature}, "
            f"top-p {self.extractor.top_p}), mean of {runs} run(s)"
        )
        return {"protocol": f"MER-UniBench: {described}", "extractor": settings, "extractor_runs": runs}, True

    def emotion_task(self, task: str, labels: dict[str, Labels], rows: dict[str, dict]) -> dict[str, Any]:
        protocol, with_llm = self.emotion_protocol(rows)
        draws: list[int | None] = list(range(self.cfg.extractor_runs)) if with_llm else [None]
        runs = [self.emotion_scores(task, labels, rows, draw) for draw in draws]
        return mean_and_std(runs) | protocol

    def emotion_scores(self, task: str, labels: dict[str, Labels], rows: dict[str, dict], draw: int | None) -> dict:
        if task == "mer":
            gt = {i: lab.emotion for i, lab in labels.items() if lab.emotion}
            pred = self.emotions(rows, list(gt), draw)
            exact = sum(bool(pred[i]) and pred[i][0] == gt[i] for i in gt) / len(gt)
            result = {"accuracy": exact, "n": len(gt)}
            if self.wheels is not None:
                result["hitrate"] = self.wheels.hitrate(gt, pred)
            return result
        if task == "ov-mer":
            gt_sets = {i: lab.ov_emotions for i, lab in labels.items() if lab.ov_emotions is not None}
            return self.wheels.ov_scores(gt_sets, self.emotions(rows, list(gt_sets), draw))
        gt_values = {i: lab.sentiment for i, lab in labels.items() if lab.sentiment is not None}
        pred = self.emotions(rows, list(gt_values), draw)
        if draw is not None and self.extractor is not None:
            polarity = dict(zip(pred, sentiment_llm(self.extractor, list(pred.values()), draw), strict=True))
        else:
            polarity = {i: wheel_polarity(self.wheels, words) for i, words in pred.items()}
        return msa_scores(gt_values, polarity)

    def intents(self, rows: dict[str, dict], ids: list[str], dataset: str) -> tuple[dict[str, str], int]:
        """Each id's intent: the row's parsed answer, else (or with --reparse) MMLA's reading of its output."""
        options = candidates("mir", dataset) or []
        pred, reparsed = {}, 0
        for i in ids:
            row = rows.get(i) or {}
            answer = row.get("answer")
            if isinstance(answer, str) and answer and not self.reparse:
                pred[i] = answer
            else:
                pred[i] = parse_intent(row.get("output", ""), options) if row else "unknown"
                reparsed += bool(row)
        return pred, reparsed

    def score(self, task: str, labels: dict[str, Labels], rows: dict[str, dict], dataset: str) -> dict[str, Any]:
        """The task's scores, with what its LLM requests cost (`llm`: calls, cached, failed) when it made any."""
        clients = [client for client in (self.extractor, self.judge) if client is not None]
        for client in clients:
            client.stats = CallStats()
        scores = self.task_scores(task, labels, rows, dataset)
        spent = {key: sum(client.stats.as_dict()[key] for client in clients) for key in CALLS}
        return scores | ({"llm": spent} if any(spent.values()) else {})

    def task_scores(self, task: str, labels: dict[str, Labels], rows: dict[str, dict], dataset: str) -> dict:
        if task in ("mir", "erg") and self.cfg.protocol == "published-code":
            return published_scores(task, labels, rows)
        if task in EMOTION_TASKS:
            return self.emotion_task(task, labels, rows)
        if task == "mir":
            gt = {i: lab.intent for i, lab in labels.items() if lab.intent}
            pred, reparsed = self.intents(rows, list(gt), dataset)
            return mir_scores(gt, pred) | {
                "protocol": f"MMLA rules: {reparsed} of {len(gt)} intents read from the output here, the rest "
                "as nanoemox-score parsed them",
                "n_read_from_output": reparsed,
            }
        if task == "erg":
            gt = {i: lab.empathy.emotion for i, lab in labels.items() if lab.empathy}
            scores = erg_scores(gt, {i: (rows.get(i) or {}).get("output", "") for i in gt}, self.cfg.erg_turns)
            turns = "each dialogue's last turn" if self.cfg.erg_turns == "last" else "every turn"
            return scores | {"protocol": f"E3RG: emotion of {turns}, Dist-n per response over every turn"}
        if task == "eri":
            items = [(i, lab.reason, (rows.get(i) or {}).get("output", "")) for i, lab in labels.items() if lab.reason]
            prompts = self.cfg.judge_prompts
            return judge_eri(self.judge, items, prompts) | judge_protocol(self.judge, prompts)
        raise EvalError(f"unknown task '{task}'")


def count_truncated(rows: dict[str, dict]) -> int:
    """Rows whose generation stopped at max_new_tokens (nanoemox-score marks them)."""
    return sum(1 for row in rows.values() if row.get("truncated") is True)


def evaluate(
    predictions: str | Path,
    dataset: str,
    root: str,
    split: str,
    cfg: EvalConfig,
    wheel_dir: str | None = None,
    layout: str | None = None,
    cache_dir: Path | None = None,
    reparse: bool = False,
    only: Sequence[str] = (),
) -> dict[str, Any]:
    """Metrics per task for one dataset split, with counted warnings about the predictions file.

    Every task that can be scored is; the others are listed under `skipped` with the reason (an error when
    nothing can be scored). `only` limits scoring to those tasks. LLM replies are cached in `cache_dir` (None: not
    cached); `reparse` reads every label from the raw output.
    """
    found = read_predictions(predictions)
    absent = [task for task in only if task not in found.rows]
    if absent:
        has = ", ".join(sorted(found.rows)) or "none"
        raise EvalError(f"--task {', '.join(absent)}: {predictions} has no such predictions (it has: {has})")
    reader = open_dataset(dataset, root, layout, lenient=True)
    labels = {record.id: record.labels for record in reader.read(split)}
    if not labels:
        raise EvalError(f"{dataset}/{split}: no records under {root} (check --split, --root and --layout)")
    scorer = Scorer(cfg, wheel_dir, cache_dir, reparse)
    tasks: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    warnings = list(found.warnings) + [f"{dataset} annotation: {message}" for message in reader.skipped]
    for task, rows in sorted(found.rows.items()):
        if only and task not in only:
            skipped[task] = "not selected (--task)"
            continue
        if not any(task in lab.tasks() for lab in labels.values()):
            skipped[task] = f"{dataset}/{split} has no {task} labels ({dataset} is scored on {', '.join(reader.tasks)})"
            continue
        if reason := scorer.unscorable(task, rows):
            skipped[task] = reason
            continue
        warnings += row_warnings(task, rows, labels, f"{dataset}/{split}")
        truncated = count_truncated(rows)
        tasks[task] = scorer.score(task, labels, rows, dataset) | {"n_truncated": truncated}
    if not tasks:
        reasons = "; ".join(f"{task}: {reason}" for task, reason in skipped.items())
        raise EvalError(f"{predictions}: nothing to score{' (' + reasons + ')' if reasons else ''}")
    return {"dataset": dataset, "split": split, "tasks": tasks, "skipped": skipped, "warnings": warnings}


def row_warnings(task: str, rows: dict[str, dict], labels: dict[str, Labels], where: str) -> list[str]:
    """What is wrong with one task's predictions: ids unknown or missing, empty or cut outputs."""
    warnings = []
    unknown = sorted(set(rows) - set(labels))
    if unknown:
        warnings.append(f"{task}: {len(unknown)} predicted id(s) are not in {where}: {', '.join(unknown[:3])}")
    missing = [i for i in labels if i not in rows]
    if missing:
        warnings.append(f"{task}: {len(missing)} id(s) have no prediction and are scored as wrong")
    empty = sum(1 for row in rows.values() if not str(row.get("output", "")).strip())
    if empty:
        warnings.append(f"{task}: {empty} empty output(s)")
    truncated = count_truncated(rows)
    if truncated:
        warnings.append(f"{task}: {truncated} output(s) were cut at max_new_tokens")
    return warnings


def result_lines(result: dict[str, Any]) -> list[str]:
    """An eval result as the lines a person reads: each task's numbers and protocol, then each skipped task."""
    lines = []
    for task, scores in result["tasks"].items():
        shown = "  ".join(
            f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
            for k, v in scores.items()
            if not isinstance(v, list | dict) and k != "protocol"
        )
        lines.append(f"{result['dataset']}/{result['split']} {task}: {shown}")
        if "protocol" in scores:
            lines.append(f"  protocol: {scores['protocol']}")
        if "llm" in scores:
            lines.append("  llm requests: " + ", ".join(f"{n} {k}" for k, n in scores["llm"].items()))
    lines += [f"skipped {task}: {reason}" for task, reason in result.get("skipped", {}).items()]
    return lines
