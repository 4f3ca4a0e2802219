"""A recipe: what an experiment trains on and what it reports (the paper's ships in the package, and the demo's).

It names datasets and tasks, never folders: dataset roots come from the config's `datasets:`, as everywhere else.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nanoemox.datasets import reader_class
from nanoemox.errors import NanoEmoXError
from nanoemox.fileio.files import read_yaml
from nanoemox.train.stages import STRATEGIES

BUNDLED = Path(__file__).parent / "recipes"
KEYS = {"name", "strategy", "run", "preset", "set", "train_splits", "benchmarks", "report"}
BENCHMARK_KEYS = {"dataset", "split", "tasks", "table"}
REPORT_KEYS = {"compare", "chance", "data_note"}


class RecipeError(NanoEmoXError):
    """A recipe file with an unknown key, a wrong type or an unknown dataset, split or task."""


@dataclass(frozen=True)
class Benchmark:
    dataset: str
    split: str
    tasks: tuple[str, ...]
    table: int

    @property
    def name(self) -> str:
        return f"{self.dataset}/{self.split}"


@dataclass(frozen=True)
class ReportSettings:
    compare: bool = True  # the paper's rows beside ours, with the differences
    chance: bool = False  # the majority label's share beside each score
    data_note: str | None = None


@dataclass(frozen=True)
class Recipe:
    name: str
    source: str  # the file it was read from
    strategy: str
    run: str
    preset: str | None
    overrides: tuple[str, ...]
    train_splits: tuple[str, ...]
    benchmarks: tuple[Benchmark, ...]
    report: ReportSettings

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "strategy": self.strategy,
            "run": self.run,
            "preset": self.preset,
            "set": list(self.overrides),
            "train_splits": list(self.train_splits),
            "benchmarks": [
                {"table": b.table, "dataset": b.dataset, "split": b.split, "tasks": list(b.tasks)}
                for b in self.benchmarks
            ],
            "report": asdict(self.report),
        }


def recipe_path(name_or_path: str) -> Path:
    """A bundled recipe's name (paper, demo) or a YAML file."""
    bundled = BUNDLED / f"{name_or_path}.yaml"
    if bundled.is_file():
        return bundled
    path = Path(name_or_path)
    if not path.is_file():
        names = ", ".join(sorted(p.stem for p in BUNDLED.glob("*.yaml")))
        raise RecipeError(f"--recipe {name_or_path}: no such file, and not a bundled recipe ({names})")
    return path


def load_recipe(name_or_path: str = "paper") -> Recipe:
    """Read and check a recipe: every key known, every dataset, split and task one the readers have."""
    path = recipe_path(name_or_path)
    raw = read_yaml(path, "recipe") or {}
    where = str(path)
    if not isinstance(raw, dict):
        raise RecipeError(f"{where}: the top level must be a mapping")
    unknown_keys(raw, KEYS, where)
    strategy = str(raw.get("strategy", "p2e"))
    if strategy not in STRATEGIES:
        raise RecipeError(f"{where}: strategy '{strategy}' is not one of {', '.join(STRATEGIES)}")
    report = raw.get("report") or {}
    if not isinstance(report, dict):
        raise RecipeError(f"{where}: report must be a mapping of {', '.join(sorted(REPORT_KEYS))}")
    unknown_keys(report, REPORT_KEYS, f"{where}: report")
    if not isinstance(raw.get("benchmarks"), list):
        raise RecipeError(f"{where}: benchmarks must be a list of {{dataset, tasks}} entries")
    return Recipe(
        name=str(raw.get("name", path.stem)),
        source=where,
        strategy=strategy,
        run=str(raw.get("run", strategy)),
        preset=raw.get("preset"),
        overrides=tuple(str(item) for item in string_list(raw.get("set", []), f"{where}: set")),
        train_splits=tuple(string_list(raw.get("train_splits", ["train", "dev"]), f"{where}: train_splits")),
        benchmarks=tuple(benchmark(entry, f"{where}: benchmarks[{i}]") for i, entry in enumerate(raw["benchmarks"])),
        report=ReportSettings(bool(report.get("compare", True)), bool(report.get("chance")), report.get("data_note")),
    )


def benchmark(entry: Any, where: str) -> Benchmark:
    from nanoemox.tasks import check_askable

    if not isinstance(entry, dict) or "dataset" not in entry or "tasks" not in entry:
        raise RecipeError(f"{where}: expected {{dataset: NAME, tasks: [TASK, ...]}} (and optionally split, table)")
    unknown_keys(entry, BENCHMARK_KEYS, where)
    reader = reader_class(str(entry["dataset"]))
    split = str(entry.get("split", "test"))
    if split not in reader.splits:
        raise RecipeError(f"{where}: {reader.name} has no split '{split}' (it has {', '.join(reader.splits)})")
    tasks = tuple(string_list(entry["tasks"], f"{where}: tasks"))
    for task in tasks:
        if task not in reader.tasks:
            scored = ", ".join(reader.tasks)
            raise RecipeError(f"{where}: {reader.name} has no {task} labels (it is scored on {scored})")
        try:
            check_askable(task, reader.name)
        except NanoEmoXError as err:
            raise RecipeError(f"{where}: {err}") from err
    return Benchmark(reader.name, split, tasks, int(entry.get("table", 0)))


def string_list(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RecipeError(f"{where}: expected a list of strings, got {value!r}")
    return value


def unknown_keys(raw: dict, known: set[str], where: str) -> None:
    extra = sorted(set(raw) - known)
    if extra:
        raise RecipeError(f"{where}: unknown key(s) {', '.join(extra)}; known: {', '.join(sorted(known))}")
