"""Chance level: the share of a split's majority label, i.e. what always answering it scores (the demo reports
its held-out scores beside it, since its generated corpus has no published numbers)."""

from __future__ import annotations

from collections import Counter

from nanoemox.datasets import open_dataset
from nanoemox.eval.erg import last_turns

LABEL_OF = {"mer": "emotion", "erg": "emotion", "mir": "intent"}  # the tasks scored by accuracy on one label


def chance_level(dataset: str, root: str, split: str, task: str) -> float | None:
    """The majority label's share of the split (ERG: of each dialogue's last turn, as E3RG scores), or None for
    a task not scored by accuracy on one label."""
    if task not in LABEL_OF:
        return None
    records = list(open_dataset(dataset, root).read(split))
    if task == "erg":
        scored = last_turns(r.id for r in records)
        records = [r for r in records if r.id in scored]
    values = [getattr(r.labels, LABEL_OF[task]) for r in records]
    values = [v for v in values if v is not None]
    return max(Counter(values).values()) / len(values) if values else None
