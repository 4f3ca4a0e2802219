"""MER-UniBench's emotion-wheel protocol: MER hit rate and OV-MER set precision/recall/F over five wheels.

A faithful port of AffectGPT's `my_affectgpt/evaluation/wheel.py` and `ew_metric.py`
(github.com/ouyangjutian/AffectGPT, which ships the same wheel files as zeroQiaoba/AffectGPT):

1. `format.csv` maps every word form ("abandonment") to its base labels ("abandoned"); base labels map to
   themselves (`read_format2raws`).
2. `synonym.xlsx` (8 GPT runs, columns word_runK / synonym_runK) maps each synonym and each wheel word to
   wheel words; the 8 runs are merged by union (`read_candidate_synonym_merge`).
3. Each `wheelN.xlsx` (columns level1, level2, level3, blank cells repeat the cell above) maps every word on
   that wheel to its level-1 class (`func_get_wheel_cluster(level='level1')`).
4. A label goes form -> base labels -> wheel words; the alphabetically first wheel word present on wheel N gives
   its level-1 class; a label that does not map is dropped (`func_backward_case3`).
5. Metrics are computed per wheel on the sets of level-1 classes and then averaged over the five wheels
   (`hitrate_metric_calculation`, `wheel_metric_calculation`). A sample whose ground truth maps to nothing
   (for instance "neutral") is skipped on that wheel; an empty mapped prediction scores 0.

One deviation: when a wheel's mean precision and recall are both 0 the reference divides 0 by 0 (NaN); here
that wheel's F is 0.
"""

import csv
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import openpyxl

from nanoemox.eval.errors import EvalError
from nanoemox.eval.ids import require_predictions
from nanoemox.fileio.files import read_text

WHEELS = ("wheel1", "wheel2", "wheel3", "wheel4", "wheel5")
SYNONYM_RUNS = 8
LEVELS = ("level1", "level2", "level3")


def split_label_list(text: str | None) -> list[str]:
    """AffectGPT's `string_to_list`: "[happy, 'sad']" -> ["happy", "sad"] (quotes and commas separate items)."""
    if not text:
        return []
    text = text[1:] if text[0] == "[" else text
    text = text[:-1] if text and text[-1] == "]" else text
    return [item.strip() for item in re.split(r"['\",]", text) if item.strip()]


def _require(path: Path) -> Path:
    if not path.is_file():
        raise EvalError(f"emotion-wheel file missing: {path}")
    return path


def _sheet_rows(path: Path, columns: Sequence[str]) -> list[tuple[str | None, ...]]:
    """The named columns of the first sheet of an .xlsx file (header in row 1), cell values as stripped text."""
    try:
        book = openpyxl.load_workbook(_require(path), read_only=True, data_only=True)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:  # what openpyxl raises for a non-.xlsx file
        raise EvalError(f"{path}: not a readable .xlsx file ({err})") from err
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = [str(cell).strip() if cell is not None else "" for cell in next(rows, ())]
        missing = [name for name in columns if name not in header]
        if missing:
            raise EvalError(f"{path}: missing column(s) {', '.join(missing)} (has {', '.join(filter(None, header))})")
        index = [header.index(name) for name in columns]
        return [
            tuple(None if i >= len(row) or row[i] is None else str(row[i]) for i in index)
            for row in rows
            if any(cell is not None for cell in row)
        ]
    finally:
        book.close()


def read_format_map(path: Path) -> dict[str, list[str]]:
    """format.csv: word form -> base labels, each base label also mapping to itself (`read_format2raws`)."""
    reader = csv.DictReader(read_text(_require(path), "emotion-wheel file").splitlines(keepends=True))
    if reader.fieldnames is None or not {"name", "format"} <= set(reader.fieldnames):
        raise EvalError(f"{path}: expected columns name,format (has {','.join(reader.fieldnames or [])})")
    form_to_raws: dict[str, list[str]] = {}
    for row in reader:
        raw = row["name"] or ""
        for form in split_label_list(row["format"]):
            form_to_raws.setdefault(form, []).append(raw)
        form_to_raws.setdefault(raw, []).append(raw)
    return form_to_raws


def read_synonym_map(path: Path) -> dict[str, set[str]]:
    """synonym.xlsx: label -> wheel words, merged over the 8 runs (`read_candidate_synonym_merge`)."""
    columns = [f"{kind}_run{run}" for run in range(1, SYNONYM_RUNS + 1) for kind in ("word", "synonym")]
    label_to_wheel: dict[str, set[str]] = {}
    for row in _sheet_rows(path, columns):
        for word, synonyms in zip(row[::2], row[1::2], strict=True):
            if word is None:
                continue
            raw = word.strip().lower()
            label_to_wheel.setdefault(raw, set()).add(raw)
            for synonym in split_label_list(synonyms):
                label_to_wheel.setdefault(synonym.strip().lower(), set()).add(raw)
    return label_to_wheel


def read_wheel_level1(path: Path) -> dict[str, str]:
    """wheelN.xlsx: every word on the wheel -> its level-1 class (`func_get_wheel_cluster`, level1)."""
    tree: dict[str, dict[str, list[str]]] = {}
    current = ["", "", ""]
    for row in _sheet_rows(path, LEVELS):
        current = [cell.lower().strip() if cell is not None else kept for cell, kept in zip(row, current, strict=True)]
        level1, level2, level3 = current
        tree.setdefault(level1, {}).setdefault(level2, []).append(level3)
    word_to_level1: dict[str, str] = {}
    for level1, branches in tree.items():
        word_to_level1[level1] = level1
        for level2, leaves in branches.items():
            word_to_level1[level2] = level1
            for level3 in leaves:
                word_to_level1[level3] = level1
    return word_to_level1


@dataclass(frozen=True)
class EmotionWheels:
    """The five emotion wheels with their word-form and synonym expansions."""

    form_to_raws: Mapping[str, list[str]]
    raw_to_wheel_words: Mapping[str, set[str]]
    wheels: tuple[Mapping[str, str], ...]
    _cache: dict[tuple[int, str], str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def load(cls, wheel_dir: str | Path) -> "EmotionWheels":
        """Read format.csv, synonym.xlsx and wheel1..5.xlsx from `wheel_dir`."""
        root = Path(wheel_dir)
        if not root.is_dir():
            raise EvalError(f"emotion-wheel folder not found: {root}")
        return cls(
            form_to_raws=read_format_map(root / "format.csv"),
            raw_to_wheel_words=read_synonym_map(root / "synonym.xlsx"),
            wheels=tuple(read_wheel_level1(root / f"{name}.xlsx") for name in WHEELS),
        )

    def wheel_words(self, label: str) -> list[str]:
        """The wheel words `label` reaches through its word forms and synonyms, sorted, with repeats."""
        return sorted(word for raw in self.form_to_raws.get(label, ()) for word in self.raw_to_wheel_words.get(raw, ()))

    def level1(self, label: str, wheel: int) -> str:
        """The level-1 class of `label` on wheel index `wheel` (0-4), or "" when it does not map."""
        key = (wheel, label)
        if key not in self._cache:
            words = self.wheel_words(label)
            self._cache[key] = next((self.wheels[wheel][word] for word in words if word in self.wheels[wheel]), "")
        return self._cache[key]

    def classes(self, labels: Iterable[str], wheel: int) -> set[str]:
        """The level-1 classes of `labels` (lower-cased and stripped first) on one wheel; unmapped labels drop out."""
        mapped = (self.level1(label.lower().strip(), wheel) for label in labels)
        return {name for name in mapped if name}

    def hitrate(self, gt: Mapping[str, str], pred: Mapping[str, Sequence[str]]) -> float:
        """MER hit rate: share of samples whose predicted classes contain the ground-truth class, mean of 5 wheels."""
        require_predictions(gt, pred)
        per_wheel = []
        for wheel, name in enumerate(WHEELS):
            hits = []
            for sample, label in gt.items():
                truth = self.classes(split_label_list(label), wheel)
                if truth:
                    hits.append(len(truth & self.classes(pred[sample], wheel)))
            per_wheel.append(_mean(hits, name))
        return float(np.mean(per_wheel))

    def ov_scores(self, gt: Mapping[str, Sequence[str]], pred: Mapping[str, Sequence[str]]) -> dict:
        """OV-MER set precision, recall and F (F from the mean P and R of each wheel), averaged over 5 wheels."""
        require_predictions(gt, pred)
        per_wheel, counted = [], []
        for wheel, name in enumerate(WHEELS):
            precision, recall = [], []
            for sample, labels in gt.items():
                truth = self.classes(labels, wheel)
                if not truth:
                    continue
                guess = self.classes(pred[sample], wheel)
                overlap = len(truth & guess)
                precision.append(overlap / len(guess) if guess else 0.0)
                recall.append(overlap / len(truth) if guess else 0.0)
            p, r = _mean(precision, name), _mean(recall, name)
            per_wheel.append((2 * p * r / (p + r) if p + r else 0.0, p, r))
            counted.append(len(precision))
        f, p, r = np.mean(per_wheel, axis=0).tolist()
        return {"f": f, "precision": p, "recall": r, "n": len(gt), "n_per_wheel": counted}


def _mean(values: list[float], wheel: str) -> float:
    if not values:
        raise EvalError(f"no ground-truth label maps onto {wheel}: nothing to score (only neutral or unknown labels?)")
    return float(np.mean(values))
