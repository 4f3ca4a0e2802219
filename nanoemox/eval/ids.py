"""Matching predictions to ground truth by sample id, so every metric fails the same clear way on missing ids."""

from collections.abc import Mapping

from nanoemox.eval.errors import EvalError


def require_predictions(gt: Mapping[str, object], pred: Mapping[str, object]) -> None:
    """Raise when a ground-truth id has no prediction (predictions for other ids are ignored)."""
    if not gt:
        raise EvalError("nothing to score: the ground truth is empty")
    missing = [sample for sample in gt if sample not in pred]
    if missing:
        shown = ", ".join(map(str, missing[:5])) + (", ..." if len(missing) > 5 else "")
        raise EvalError(f"{len(missing)} ground-truth id(s) have no prediction: {shown}")
