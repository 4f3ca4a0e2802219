"""Accuracy and per-class precision/recall/F1 with scikit-learn's averaging rules, without scikit-learn.

The classes are every label seen in the truth or the predictions (sklearn's `unique_labels`), so a predicted
"unknown" is a class of its own in macro averages; a class with no predictions has precision 0 and one with no
true samples recall 0 (sklearn's zero_division default); weighted averages weight each class by its true count.
"""

from collections import Counter
from collections.abc import Hashable, Sequence

from nanoemox.eval.errors import EvalError


def accuracy(truth: Sequence[Hashable], pred: Sequence[Hashable]) -> float:
    """Share of positions where the prediction equals the truth."""
    _check(truth, pred)
    return sum(t == p for t, p in zip(truth, pred, strict=True)) / len(truth)


def prf(truth: Sequence[Hashable], pred: Sequence[Hashable], average: str) -> tuple[float, float, float]:
    """(precision, recall, F1) averaged 'macro' or 'weighted' over the classes."""
    _check(truth, pred)
    if average not in ("macro", "weighted"):
        raise ValueError(f"average must be 'macro' or 'weighted', not {average!r}")
    support, predicted = Counter(truth), Counter(pred)
    correct = Counter(t for t, p in zip(truth, pred, strict=True) if t == p)
    classes = sorted(set(support) | set(predicted), key=repr)
    weights = [1.0 if average == "macro" else float(support[c]) for c in classes]
    total = sum(weights)
    scores = [0.0, 0.0, 0.0]
    for label, weight in zip(classes, weights, strict=True):
        precision = correct[label] / predicted[label] if predicted[label] else 0.0
        recall = correct[label] / support[label] if support[label] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        for i, value in enumerate((precision, recall, f1)):
            scores[i] += weight * value / total
    return scores[0], scores[1], scores[2]


def _check(truth: Sequence[Hashable], pred: Sequence[Hashable]) -> None:
    if len(truth) != len(pred):
        raise EvalError(f"{len(truth)} ground-truth labels but {len(pred)} predictions")
    if not truth:
        raise EvalError("nothing to score: no samples")
