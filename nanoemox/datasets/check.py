"""`nanoemox datasets check`: counts per split, missing media, duplicate ids, labels outside the vocabulary."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

from nanoemox.datasets.base import DatasetReader
from nanoemox.datasets.labels import vocabulary
from nanoemox.runtime.progress import progress


@dataclass
class SplitReport:
    records: int = 0
    missing_media: int = 0
    tasks: Counter = field(default_factory=Counter)


@dataclass
class CheckReport:
    dataset: str
    layout: str
    splits: dict[str, SplitReport]
    duplicate_ids: list[str]
    unknown_labels: Counter
    missing_examples: list[str]
    skipped_rows: list[str]

    @property
    def ok(self) -> bool:
        problems = self.duplicate_ids or self.unknown_labels or self.missing_examples or self.skipped_rows
        return not problems and self.records > 0

    @property
    def records(self) -> int:
        return sum(split.records for split in self.splits.values())

    def lines(self) -> list[str]:
        out = [f"{self.dataset} ({self.layout} layout)"]
        for name, split in self.splits.items():
            tasks = ", ".join(f"{t} {n}" for t, n in sorted(split.tasks.items())) or "no labels"
            out.append(f"  {name:<6} {split.records:>7} records  {split.missing_media:>6} missing media  [{tasks}]")
        out += [f"  missing: {path}" for path in self.missing_examples[:5]]
        if self.duplicate_ids:
            out.append(f"  duplicate ids ({len(self.duplicate_ids)}): {', '.join(self.duplicate_ids[:5])}")
        for label, n in self.unknown_labels.most_common(5):
            out.append(f"  label outside the vocabulary: '{label}' x{n}")
        out += [f"  skipped: {message}" for message in self.skipped_rows[:5]]
        if not self.records:
            out.append("  no records: the annotation files hold no rows")
        out.append("  OK" if self.ok else "  ERRORS found")
        return out


def check_dataset(reader: DatasetReader, split: str | None = None) -> CheckReport:
    """Read every record of the split(s) and collect what a user must fix before extraction."""
    vocab = vocabulary(reader.name)
    seen: Counter = Counter()
    unknown: Counter = Counter()
    missing: list[str] = []
    splits: dict[str, SplitReport] = {}
    for name in [split] if split else reader.splits:
        report = splits.setdefault(name, SplitReport())
        for record in progress(reader.read(name), desc=f"{reader.name}/{name}", unit=" records", leave=False):
            report.records += 1
            report.tasks.update(record.labels.tasks())
            seen[(record.split, record.id)] += 1
            absent = [p for p in record.media_paths() if not os.path.exists(p)]
            if absent:
                report.missing_media += 1
                missing += absent
            label = record.labels.intent or record.labels.emotion
            if vocab and label is not None and label not in vocab:
                unknown[label] += 1
    duplicates = sorted(f"{s}/{i}" for (s, i), n in seen.items() if n > 1)
    return CheckReport(reader.name, reader.layout, splits, duplicates, unknown, missing, list(reader.skipped))
