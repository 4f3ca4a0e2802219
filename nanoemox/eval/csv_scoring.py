"""Scoring other systems' MER-UniBench-style CSVs (name,openset) with the emotion-wheel protocol.

Ground-truth files must be clean: a missing column, a row with the wrong number of fields or an id given twice
is an error naming the file and line. Prediction files are scored as far as they can be, and every problem is
counted in `warnings`: a ground-truth id without a prediction scores as an empty prediction (0), a repeated id
keeps its first row, malformed rows and ids that are not in the ground truth are skipped.
"""

import csv
from collections.abc import Sequence
from pathlib import Path

from nanoemox.eval.errors import EvalError
from nanoemox.eval.wheel import EmotionWheels, split_label_list
from nanoemox.files import read_text

MAX_LISTED = 5
PROTOCOL = "MER-UniBench emotion wheels on the CSV's open-set labels as given (extracted by the system's own run)"


def _rows(path: Path, columns: Sequence[str]) -> list[tuple[int, list[str] | None]]:
    """(line number, values of `columns`) per data row; values None for a row with the wrong number of fields."""
    reader = csv.reader(read_text(path, "CSV file").splitlines(keepends=True))
    try:
        header = [name.strip() for name in next(reader, [])]
        missing = [name for name in columns if name not in header]
        if missing:
            raise EvalError(f"{path}: missing column(s) {', '.join(missing)} (has {', '.join(header) or 'no header'})")
        index = [header.index(name) for name in columns]
        return [
            (reader.line_num, [row[i].strip() for i in index] if len(row) == len(header) else None)
            for row in reader
            if any(cell.strip() for cell in row)
        ]
    except csv.Error as err:
        raise EvalError(f"{path}, line {reader.line_num}: {err}") from err


def _listed(kind: str, ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:MAX_LISTED]) + (", ..." if len(ids) > MAX_LISTED else "")
    return f"{len(ids)} {kind}: {shown}"


def read_ground_truth(path: str | Path, column: str) -> dict[str, str]:
    """{name: value of `column`} of a ground-truth CSV; any malformed or repeated row is an error."""
    path = Path(path)
    truth: dict[str, str] = {}
    for line, values in _rows(path, ("name", column)):
        if values is None or not values[0]:
            raise EvalError(f"{path}, line {line}: malformed row (wrong number of fields or empty name)")
        if values[0] in truth:
            raise EvalError(f"{path}, line {line}: id '{values[0]}' appears more than once")
        truth[values[0]] = values[1]
    if not truth:
        raise EvalError(f"{path}: no ground-truth rows")
    return truth


def read_predictions(path: str | Path, gt_ids: Sequence[str]) -> tuple[dict[str, list[str]], list[str]]:
    """{name: predicted labels} for every ground-truth id (missing ones empty), and the warnings found."""
    path = Path(path)
    known = set(gt_ids)
    pred: dict[str, list[str]] = {}
    malformed, repeated, unknown = [], [], []
    for line, values in _rows(path, ("name", "openset")):
        if values is None or not values[0]:
            malformed.append(f"line {line}")
        elif values[0] not in known:
            unknown.append(values[0])
        elif values[0] in pred:
            repeated.append(values[0])
        else:
            pred[values[0]] = split_label_list(values[1])
    missing = [sample for sample in gt_ids if sample not in pred]
    warnings = [
        _listed(kind, ids)
        for kind, ids in (
            ("malformed row(s) skipped", malformed),
            ("repeated id(s), first row kept", repeated),
            ("id(s) not in the ground truth, skipped", unknown),
            ("ground-truth id(s) without a prediction, scored as empty", missing),
        )
        if ids
    ]
    return {sample: pred.get(sample, []) for sample in gt_ids}, [f"{path.name}: {text}" for text in warnings]


def score_mer_csv(gt_csv: str | Path, pred_csv: str | Path, wheel_dir: str | Path) -> dict:
    """MER hit rate of a prediction CSV (name,openset) against a ground-truth CSV (name,emo)."""
    truth = read_ground_truth(gt_csv, "emo")
    pred, warnings = read_predictions(pred_csv, list(truth))
    hitrate = EmotionWheels.load(wheel_dir).hitrate(truth, pred)
    return {"hitrate": hitrate, "n": len(truth), "protocol": PROTOCOL, "warnings": warnings}


def score_ov_mer_csv(gt_csv: str | Path, pred_csv: str | Path, wheel_dir: str | Path) -> dict:
    """OV-MER F, precision and recall of a prediction CSV (name,openset) against a ground truth (name,openset)."""
    truth = {sample: split_label_list(text) for sample, text in read_ground_truth(gt_csv, "openset").items()}
    pred, warnings = read_predictions(pred_csv, list(truth))
    scores = EmotionWheels.load(wheel_dir).ov_scores(truth, pred)
    kept = {key: scores[key] for key in ("f", "precision", "recall", "n")}
    return kept | {"protocol": PROTOCOL, "warnings": warnings}
