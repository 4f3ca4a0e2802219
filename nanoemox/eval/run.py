"""`nanoemox-eval`'s whole job for one predictions file as a library call: score it against the dataset's own
labels and write the result where the run layout puts it (`<run>/eval/<dataset>-<split>.json`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nanoemox.config import EvalConfig
from nanoemox.errors import NanoEmoXError
from nanoemox.eval.benchmark import evaluate
from nanoemox.fileio import storage
from nanoemox.fileio.files import writing
from nanoemox.runs import eval_result_for


def eval_run(
    predictions: str,
    dataset: str,
    split: str,
    root: str,
    settings: EvalConfig,
    out: str | None = None,
    wheel_dir: str | None = None,
    layout: str | None = None,
    reparse: bool = False,
    only: Sequence[str] = (),
) -> tuple[dict[str, Any], str]:
    """The metrics of a predictions file (of the tasks in `only`, or all), written as JSON; returns the result
    and where it was written."""
    out = out or eval_result_for(predictions, dataset, split)
    if storage.is_dir(out):
        raise NanoEmoXError(f"--out {out}: is a folder; give the results file's path")
    local = not storage.is_url(out)  # the LLM cache is a local folder: kept beside local results only
    cache = Path(out).parent / "llm-cache" if settings.cache and local else None
    result = evaluate(predictions, dataset, root, split, settings, wheel_dir, layout, cache, reparse, only)
    with writing(out):
        storage.put_text(out, json.dumps(result, indent=1))
    return result, out
