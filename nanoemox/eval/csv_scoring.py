"""Scoring other systems' output files as they are published: MER-UniBench CSVs (MER, OV-MER) and EMER (ERI).

Columns are read under our names and under the published evaluation's (Nano-EmoX `eval_ovmerd.py` and
`evaluation/`, AffectGPT's MER-UniBench): ids in `name` or `names`; MER ground truth in `emo` or `emotions`;
OV-MER ground truth and predicted labels in `openset` (predictions also `pred_label`); reasons in `reasons`,
`chi_reasons` or `reason`, quoted over several lines. A prediction file with free-text reasons but no labels has
its labels extracted by the extractor LLM, as MER-UniBench does.

Ground-truth files must be clean: a missing column, a row with the wrong number of fields or an id given twice
is an error naming the file and line. Prediction files are scored as far as they can be, and every problem is
counted in `warnings`: for MER and OV-MER a ground-truth id without a prediction scores as an empty prediction
(0); for ERI, as the published loop does, only the names in both files are judged and the others are counted
under `left_out`. A repeated id keeps its first row; malformed rows and unknown ids are skipped.
"""

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nanoemox.eval.errors import EvalError
from nanoemox.eval.judge import judge_eri, judge_protocol
from nanoemox.eval.llm import EXTRACTOR_PROMPT_VERSION, ChatClient, extract_emotions_llm
from nanoemox.eval.wheel import EmotionWheels, split_label_list
from nanoemox.fileio.files import read_text

MAX_LISTED = 5
PROTOCOL = "MER-UniBench emotion wheels on the CSV's open-set labels as given (extracted by the system's own run)"
NAME = ("name", "names")
MER_TRUTH = ("emo", "emotions")
OV_TRUTH = ("openset",)
LABELS = ("openset", "pred_label")
TRUTH_REASONS = ("reasons", "chi_reasons", "reason")  # the published EMER gt-eng.csv has `reasons`
PRED_REASONS = ("chi_reasons", "reasons", "reason")  # the published systems' files have `chi_reasons`


@dataclass
class Table:
    """The data rows of a CSV, each as {field: value} (None: wrong number of fields), and the column each
    field was read from."""

    path: Path
    header: list[str]
    columns: dict[str, str]
    rows: list[tuple[int, dict[str, str] | None]] = field(default_factory=list)


def read_table(path: str | Path, fields: dict[str, Sequence[str]]) -> Table:
    """A CSV's rows; each field is read from the first of its accepted column names in the header (absent: no key)."""
    path = Path(path)
    reader = csv.reader(io.StringIO(read_text(path, "CSV file"), newline=""), strict=True)  # no quote left open
    try:
        header = [name.strip().lstrip("\ufeff") for name in next(reader, [])]
        present = {key: [name for name in names if name in header] for key, names in fields.items()}
        columns = {key: names[0] for key, names in present.items() if names}
        index = {key: header.index(column) for key, column in columns.items()}
        rows = [
            (reader.line_num, {key: row[i].strip() for key, i in index.items()} if len(row) == len(header) else None)
            for row in reader
            if any(cell.strip() for cell in row)
        ]
    except csv.Error as err:
        raise EvalError(f"{path}, line {reader.line_num}: {err}") from err
    return Table(path, header, columns, rows)


def require(table: Table, *needed: tuple[str, Sequence[str]]) -> None:
    """Raise naming the file when a needed field has none of its accepted columns."""
    missing = [" or ".join(names) for key, names in needed if key not in table.columns]
    if missing:
        raise EvalError(f"{table.path}: missing column(s) {'; '.join(missing)} (has {', '.join(table.header)})")


def _listed(kind: str, ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:MAX_LISTED]) + (", ..." if len(ids) > MAX_LISTED else "")
    return f"{len(ids)} {kind}: {shown}"


def read_ground_truth(path: str | Path, column: Sequence[str]) -> dict[str, str]:
    """{name: value of the first of `column` present} of a ground-truth CSV; a malformed or repeated row is an error."""
    table = read_table(path, {"name": NAME, "value": column})
    require(table, ("name", NAME), ("value", column))
    truth: dict[str, str] = {}
    for line, values in table.rows:
        if values is None or not values["name"]:
            raise EvalError(f"{table.path}, line {line}: malformed row (wrong number of fields or empty name)")
        if values["name"] in truth:
            raise EvalError(f"{table.path}, line {line}: id '{values['name']}' appears more than once")
        truth[values["name"]] = values["value"]
    if not truth:
        raise EvalError(f"{table.path}: no ground-truth rows")
    return truth


@dataclass
class Predictions:
    """One system's rows, the first per known id, and what was wrong with its file."""

    table: Table
    rows: dict[str, dict[str, str]]
    unknown: list[str]
    warnings: list[str]


def read_predictions(path: str | Path, gt_ids: Sequence[str], fields: dict[str, Sequence[str]]) -> Predictions:
    """The rows of a prediction CSV for the ground-truth ids (first row kept), with its malformed, repeated and
    unknown rows counted."""
    table = read_table(path, {"name": NAME, **fields})
    require(table, ("name", NAME))
    known = set(gt_ids)
    rows: dict[str, dict[str, str]] = {}
    malformed, repeated, unknown = [], [], []
    for line, values in table.rows:
        if values is None or not values["name"]:
            malformed.append(f"line {line}")
        elif values["name"] not in known:
            unknown.append(values["name"])
        elif values["name"] in rows:
            repeated.append(values["name"])
        else:
            rows[values["name"]] = values
    warnings = [
        f"{table.path.name}: {_listed(kind, ids)}"
        for kind, ids in (("malformed row(s) skipped", malformed), ("repeated id(s), first row kept", repeated))
        if ids
    ]
    return Predictions(table, rows, unknown, warnings)


def predicted_labels(
    path: str | Path, gt_ids: Sequence[str], extractor: ChatClient | None
) -> tuple[dict[str, list[str]], list[str], dict]:
    """{name: predicted labels} for every ground-truth id (missing ones empty), the warnings found, and how the
    labels were read (protocol, extractor settings, LLM requests)."""
    found = read_predictions(path, gt_ids, {"labels": LABELS, "reasons": PRED_REASONS})
    if "labels" not in found.table.columns and "reasons" not in found.table.columns:
        require(found.table, ("labels", LABELS + PRED_REASONS))
    labelled = "labels" in found.table.columns and any(row["labels"] for row in found.rows.values())
    if labelled or "reasons" not in found.table.columns:
        pred = {name: split_label_list(row.get("labels", "")) for name, row in found.rows.items()}
        how: dict = {"protocol": PROTOCOL}
    else:
        column = found.table.columns["reasons"]
        if extractor is None:
            raise EvalError(
                f"{found.table.path}: no labels, only free-text reasons (column {column}): pass --extractor-url to "
                "extract the labels with an LLM, as MER-UniBench does"
            )
        names = list(found.rows)
        pred = dict(zip(names, extract_emotions_llm(extractor, [found.rows[n]["reasons"] for n in names]), strict=True))
        described = f"{extractor.model} (temperature {extractor.temperature}, top-p {extractor.top_p}), one run"
        how = {
            "protocol": f"MER-UniBench emotion wheels on labels extracted from the CSV's {column} by {described}",
            "extractor": extractor.settings() | {"prompt_version": EXTRACTOR_PROMPT_VERSION},
            "llm": extractor.stats.as_dict(),
        }
    missing = [sample for sample in gt_ids if sample not in pred]
    warnings = found.warnings + [
        f"{found.table.path.name}: {_listed(kind, ids)}"
        for kind, ids in (
            ("id(s) not in the ground truth, skipped", found.unknown),
            ("ground-truth id(s) without a prediction, scored as empty", missing),
        )
        if ids
    ]
    return {sample: pred.get(sample, []) for sample in gt_ids}, warnings, how


def score_mer_csv(
    gt_csv: str | Path, pred_csv: str | Path, wheel_dir: str | Path, extractor: ChatClient | None = None
) -> dict:
    """MER hit rate of a prediction CSV (labels, or reasons the extractor reads) against a ground truth of one
    emotion per name."""
    truth = read_ground_truth(gt_csv, MER_TRUTH)
    pred, warnings, how = predicted_labels(pred_csv, list(truth), extractor)
    hitrate = EmotionWheels.load(wheel_dir).hitrate(truth, pred)
    return {"hitrate": hitrate, "n": len(truth), **how, "warnings": warnings}


def score_ov_mer_csv(
    gt_csv: str | Path, pred_csv: str | Path, wheel_dir: str | Path, extractor: ChatClient | None = None
) -> dict:
    """OV-MER F, precision and recall of a prediction CSV (labels, or reasons the extractor reads) against a
    ground truth of open-set labels."""
    truth = {sample: split_label_list(text) for sample, text in read_ground_truth(gt_csv, OV_TRUTH).items()}
    pred, warnings, how = predicted_labels(pred_csv, list(truth), extractor)
    scores = EmotionWheels.load(wheel_dir).ov_scores(truth, pred)
    kept = {key: scores[key] for key in ("f", "precision", "recall", "n")}
    return kept | how | {"warnings": warnings}


def score_eri_csv(gt_csv: str | Path, pred_csv: str | Path, judge: ChatClient, prompts: str = "published") -> dict:
    """ERI clue and label overlap of a system's reasons (names + chi_reasons / reasons / reason) against the
    reference reasons, judged on the names present in both files."""
    truth = read_ground_truth(gt_csv, TRUTH_REASONS)
    found = read_predictions(pred_csv, list(truth), {"reason": PRED_REASONS})
    require(found.table, ("reason", PRED_REASONS))
    common = [name for name in truth if name in found.rows]
    gt_only = [name for name in truth if name not in found.rows]
    if not common:
        raise EvalError(
            f"{found.table.path}: no name in common with {gt_csv} ({len(truth)} ground-truth names, "
            f"{len(found.unknown)} other predicted names): do both files name the same clips?"
        )
    result = judge_eri(judge, [(name, truth[name], found.rows[name]["reason"]) for name in common], prompts)
    warnings = found.warnings + [
        f"{path.name}: {_listed(kind, ids)}"
        for path, kind, ids in (
            (Path(gt_csv), "name(s) without a prediction, left out", gt_only),
            (found.table.path, "name(s) not in the ground truth, left out", found.unknown),
        )
        if ids
    ]
    left_out = {"ground_truth": len(gt_only), "predictions": len(found.unknown)}
    accounts = {"left_out": left_out, "llm": judge.stats.as_dict(), "warnings": warnings}
    return result | judge_protocol(judge, prompts) | accounts
