"""The report step of an experiment: the run's tables beside the paper's rows (or, for a generated corpus, beside
chance), with every cell we could not produce saying why."""

from __future__ import annotations

from nanoemox.eval.chance import chance_level
from nanoemox.eval.report import write_report
from nanoemox.reproduce.plan import Experiment


def report(x: Experiment, missing: dict[str, str]) -> str:
    """Write DIR/report; `missing`: why each benchmark (dataset/split) without a result has none."""
    settings, benchmarks = x.recipe.report, x.recipe.benchmarks
    chance = None
    if settings.chance:
        chance = {
            (b.dataset, task): level
            for b in benchmarks
            if b.name not in missing
            for task in b.tasks
            if (level := chance_level(b.dataset, x.cfg.datasets[b.dataset], b.split, task)) is not None
        }
    reasons = {(b.dataset, task): missing[b.name] for b in benchmarks if b.name in missing for task in b.tasks}
    out = write_report(
        x.run.path, x.report, chance=chance, missing=reasons, compare=settings.compare, note=settings.data_note
    )
    return f"report written to {out}"
