"""Score a predictions.jsonl against a dataset's own labels (read with its reader), every task it holds."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nanoemox.config import EvalConfig
from nanoemox.datasets import open_dataset
from nanoemox.datasets.record import Labels
from nanoemox.eval.erg import erg_scores
from nanoemox.eval.errors import EvalError
from nanoemox.eval.judge import judge_eri
from nanoemox.eval.llm import ChatClient, extract_emotions_llm
from nanoemox.eval.mir import mir_scores
from nanoemox.eval.msa import msa_scores, sentiment_llm, wheel_polarity
from nanoemox.eval.parse import parse_emotions
from nanoemox.eval.wheel import EmotionWheels
from nanoemox.files import read_text

EMOTION_TASKS = ("mer", "ov-mer", "msa")  # answers are lists of emotion words


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


def read_predictions(path: Path) -> Predictions:
    if not path.exists():
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


class Scorer:
    """The metric of each task; LLM-backed parts only when their endpoint is configured."""

    def __init__(self, cfg: EvalConfig, wheel_dir: str | None):
        wheel_dir = wheel_dir or cfg.wheel_dir
        self.wheels = EmotionWheels.load(wheel_dir) if wheel_dir else None
        cache = Path.home() / ".cache" / "nanoemox" / "llm"
        self.extractor = (
            ChatClient(cfg.extractor_url, cfg.judge_model, cfg.api_key_env, cache) if cfg.extractor_url else None
        )
        self.judge = ChatClient(cfg.judge_url, cfg.judge_model, cfg.api_key_env, cache) if cfg.judge_url else None

    def emotions(self, row: dict | None) -> list[str]:
        """The predicted emotion words: our parser by default, the MER-UniBench LLM extractor if configured."""
        if row is None:
            return []
        if self.extractor is not None:
            return extract_emotions_llm(self.extractor, row.get("output", ""))
        return row["answer"] if isinstance(row.get("answer"), list) else parse_emotions(row.get("output", ""))

    def need_wheels(self, task: str) -> EmotionWheels:
        if self.wheels is None:
            raise EvalError(
                f"task {task} is scored on the emotion wheels: pass --wheel-dir (AffectGPT's emotion_wheel)"
            )
        return self.wheels

    def score(self, task: str, labels: dict[str, Labels], rows: dict[str, dict]) -> dict[str, Any]:
        if task == "mer":
            gt = {i: lab.emotion for i, lab in labels.items() if lab.emotion}
            pred = {i: self.emotions(rows.get(i)) for i in gt}
            exact = sum(bool(pred[i]) and pred[i][0] == gt[i] for i in gt) / len(gt)
            result = {"accuracy": exact, "n": len(gt)}
            if self.wheels is not None:
                result["hitrate"] = self.wheels.hitrate(gt, pred)
            return result
        if task == "ov-mer":
            gt = {i: lab.ov_emotions for i, lab in labels.items() if lab.ov_emotions is not None}
            return self.need_wheels(task).ov_scores(gt, {i: self.emotions(rows.get(i)) for i in gt})
        if task == "msa":
            gt = {i: lab.sentiment for i, lab in labels.items() if lab.sentiment is not None}
            if self.extractor is not None:
                polarity = {i: sentiment_llm(self.extractor, self.emotions(rows.get(i))) for i in gt}
            else:
                wheels = self.need_wheels(task)
                polarity = {i: wheel_polarity(wheels, self.emotions(rows.get(i))) for i in gt}
            return msa_scores(gt, polarity)
        if task == "mir":
            gt = {i: lab.intent for i, lab in labels.items() if lab.intent}
            return mir_scores(gt, {i: (rows.get(i) or {}).get("answer") or "unknown" for i in gt})
        if task == "erg":
            gt = {i: lab.empathy.emotion for i, lab in labels.items() if lab.empathy}
            return erg_scores(gt, {i: (rows.get(i) or {}).get("output", "") for i in gt})
        if task == "eri":
            if self.judge is None:
                raise EvalError("task eri needs an LLM judge: set eval.judge_url (an OpenAI-compatible endpoint)")
            items = [(i, lab.reason, (rows.get(i) or {}).get("output", "")) for i, lab in labels.items() if lab.reason]
            return judge_eri(self.judge, items)
        raise EvalError(f"unknown task '{task}'")


def evaluate(
    predictions: Path,
    dataset: str,
    root: str,
    split: str,
    cfg: EvalConfig,
    wheel_dir: str | None = None,
    layout: str | None = None,
) -> dict[str, Any]:
    """Metrics per task for one dataset split, with counted warnings about the predictions file."""
    found = read_predictions(predictions)
    reader = open_dataset(dataset, root, layout, lenient=True)
    labels = {record.id: record.labels for record in reader.read(split)}
    if not labels:
        raise EvalError(f"{dataset}/{split}: no records under {root} (check --split, --root and --layout)")
    scorer = Scorer(cfg, wheel_dir)
    tasks: dict[str, Any] = {}
    warnings = list(found.warnings) + [f"{dataset} annotation: {message}" for message in reader.skipped]
    for task, rows in sorted(found.rows.items()):
        if not any(task in lab.tasks() for lab in labels.values()):
            raise EvalError(
                f"{dataset}/{split} has no {task} labels to score {predictions} against "
                f"({dataset} is scored on {', '.join(reader.tasks)})"
            )
        unknown = sorted(set(rows) - set(labels))
        if unknown:
            warnings.append(
                f"{task}: {len(unknown)} predicted id(s) are not in {dataset}/{split}: {', '.join(unknown[:3])}"
            )
        missing = [i for i in labels if i not in rows]
        if missing:
            warnings.append(f"{task}: {len(missing)} id(s) have no prediction and are scored as wrong")
        empty = sum(1 for row in rows.values() if not str(row.get("output", "")).strip())
        if empty:
            warnings.append(f"{task}: {empty} empty output(s)")
        tasks[task] = scorer.score(task, labels, rows)
    if not tasks:
        raise EvalError(f"{predictions}: no predictions to score")
    return {"dataset": dataset, "split": split, "tasks": tasks, "warnings": warnings}
