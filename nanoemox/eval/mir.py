"""MIR intent metrics under the MMLA protocol (thuiar/MMLA `src/Zero-shot_Inference/eval.py`, `cal_metrics`).

Labels and predictions are lower-cased; predictions are read with `parse.parse_intent`, so "unknown" and
"multi" are wrong answers and, as in MMLA (scikit-learn without a fixed label list), classes of their own
in the macro averages. Fractions in [0, 1]; the tables show them x100.
"""

from collections.abc import Mapping

from nanoemox.eval.classification import accuracy, prf
from nanoemox.eval.ids import require_predictions


def mir_scores(gt: Mapping[str, str], pred: Mapping[str, str]) -> dict:
    """acc, weighted F1 / precision (wf1, wp) and macro F1 / precision / recall of intent predictions by id."""
    require_predictions(gt, pred)
    truth = [gt[sample].strip().lower() for sample in gt]
    guess = [pred[sample].strip().lower() for sample in gt]
    macro_p, macro_r, macro_f = prf(truth, guess, "macro")
    weighted_p, _, weighted_f = prf(truth, guess, "weighted")
    return {
        "acc": accuracy(truth, guess),
        "wf1": weighted_f,
        "wp": weighted_p,
        "f1": macro_f,
        "precision": macro_p,
        "recall": macro_r,
        "n": len(truth),
    }
