"""An experiment as a plan of steps: check each dataset, extract each split, train each stage, score and evaluate
each benchmark, report. Each step names the steps it needs, the console command it equals, and a fingerprint of
exactly what its output depends on (its inputs' fingerprints, the config keys it reads, the dataset root), so a
config change makes stale only the steps that read the changed key and the steps after them."""

from __future__ import annotations

import copy
import hashlib
import json
import math
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nanoemox.config import CADENCE_KEYS, CONFIG_FILE, SPEED_KEYS, PipelineConfig, load_config
from nanoemox.datasets import open_dataset, reader_class
from nanoemox.datasets.base import DatasetError
from nanoemox.errors import NanoEmoXError
from nanoemox.reproduce.recipe import Benchmark, Recipe, load_recipe
from nanoemox.runs import RunFolder
from nanoemox.shards.contract import build_contract
from nanoemox.tasks import MER_UNIBENCH
from nanoemox.train.stages import Stage, plan_stages

EXTRACT_RUNTIME_KEYS = (  # where and how fast extraction runs, not what it stores
    "extract.address",
    "extract.num_cpus",
    "extract.num_gpus",
    "extract.batch_size",
    "extract.decode_timeout_s",
    "extract.detect_on",
    "extract.shard_size",
)
SCORE_RUNTIME_KEYS = ("score.batch_size", "score.sort_window")
EVAL_RUNTIME_KEYS = ("eval.cache", "eval.llm_concurrency", "eval.request_timeout_s")
JSON_BYTES_PER_CLIP = 2048  # the record stored beside each clip's features (labels, text, masks), about


@dataclass(frozen=True)
class Experiment:
    """An experiment's folder: DIR/shards, DIR/heads/<run>, DIR/reproduce (step markers, saved config and recipe)."""

    out: Path
    cfg: PipelineConfig
    recipe: Recipe

    @property
    def shards(self) -> str:
        return str(self.out / "shards")

    @property
    def heads(self) -> str:
        return str(self.out / "heads")

    @property
    def run(self) -> RunFolder:
        return RunFolder(str(self.out / "heads" / self.recipe.run))

    @property
    def report(self) -> str:
        return str(self.out / "report")

    @property
    def state_dir(self) -> Path:
        return self.out / "reproduce"

    @property
    def config(self) -> Path:
        """The effective config every step reads (each step's command passes it with --config)."""
        return self.state_dir / CONFIG_FILE

    @property
    def recipe_file(self) -> Path:
        return self.state_dir / "recipe.yaml"

    def marker(self, step_id: str) -> Path:
        return self.state_dir / "steps" / (step_id.replace("/", "__") + ".json")


@dataclass
class Step:
    id: str  # kind/what, e.g. extract/meld/test
    kind: str  # check | extract | train | score | eval | report
    needs: list[str]
    command: str  # the console command the step equals
    fingerprint: str
    size: str  # what it processes, from the datasets on disk and the shard contract
    blocked: str | None = None  # why it cannot run (a dataset root or an endpoint is missing)
    args: dict[str, Any] = field(default_factory=dict)  # what its runner needs (dataset, split, stage, ...)


def open_experiment(
    out: str | Path,
    recipe: str | None = None,
    config: str | None = None,
    preset: str | None = None,
    overrides: Sequence[str] = (),
) -> Experiment:
    """The experiment in `out` as the command line gives it: the recipe (default: the one `out` was run with, else
    the paper's), the config (--config or the packaged pipeline.yaml) with the recipe's preset and overrides,
    then --preset and --set."""
    out = Path(out)
    saved = out / "reproduce" / "recipe.yaml"
    chosen = load_recipe(recipe or (str(saved) if saved.is_file() else "paper"))
    cfg = load_config(config, preset or chosen.preset, [*chosen.overrides, *overrides])
    return Experiment(out, cfg, chosen)


def saved_experiment(out: str | Path) -> Experiment:
    """The experiment as its last `reproduce run` saved it (for `status` from another terminal)."""
    out = Path(out)
    recipe, config = out / "reproduce" / "recipe.yaml", out / "reproduce" / CONFIG_FILE
    if not recipe.is_file() or not config.is_file():
        raise NanoEmoXError(f"{out}: no experiment here yet (no reproduce/recipe.yaml); run nanoemox reproduce run")
    return Experiment(out, load_config(config), load_recipe(str(recipe)))


def fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def without(tree: dict[str, Any], prefix: str, dotted: Iterable[str]) -> dict[str, Any]:
    """A config section without the keys (dotted, under `prefix`) that do not change what a step writes."""
    kept = copy.deepcopy(tree)
    for key in dotted:
        if not key.startswith(prefix + "."):
            continue
        *parents, last = key[len(prefix) + 1 :].split(".")
        node = kept
        for part in parents:
            node = node.get(part, {})
        node.pop(last, None)
    return kept


def blocked_by(needs: list[Step]) -> str | None:
    """Why a step cannot run when a step it needs cannot: the first such step's root cause, named."""
    for need in needs:
        if need.blocked:
            return need.blocked if need.blocked.startswith("needs ") else f"needs {need.id} ({need.blocked})"
    return None


def mix_datasets(cfg: PipelineConfig, phase: str) -> list[str]:
    """The datasets a phase's mix draws from, each once, in the config's order."""
    spec = cfg.train.phases[phase]
    return list(dict.fromkeys(d for task in spec.tasks for d in spec.datasets[task]))


def clip_bytes(cfg: PipelineConfig) -> int:
    """Bytes a clip takes in a shard: its float16 features (shapes from the shard contract) plus its record."""
    model = build_contract(cfg)["model"]
    shapes = [model["clip"]["shape"], model["hubert"]["shape"], model["face"]["shape"]]
    return 2 * sum(math.prod(shape) for shape in shapes) + JSON_BYTES_PER_CLIP


def megabytes(count: int) -> str:
    return f"{count / 1e6:,.0f} MB" if count >= 1e6 else f"{count / 1e3:,.0f} KB"


class Planner:
    """Builds the steps of an experiment in dependency order."""

    def __init__(self, experiment: Experiment):
        self.x, self.cfg = experiment, experiment.cfg
        self.tree = self.cfg.to_dict()
        self.steps: dict[str, Step] = {}
        self.counts: dict[tuple[str, str], int | None] = {}
        self.config_flag = ["--config", str(experiment.config)]

    def add(self, step: Step) -> Step:
        self.steps[step.id] = step
        return step

    def root(self, dataset: str) -> str:
        """The dataset's root as a command line gives it (a placeholder naming the key while it is not set)."""
        return str(self.cfg.datasets.get(dataset, f"<datasets.{dataset}>"))

    def root_problem(self, dataset: str) -> str | None:
        root = self.cfg.datasets.get(dataset)
        if root is None:
            return f"dataset not provided: set datasets.{dataset} in the config"
        if not Path(root).is_dir():
            return f"datasets.{dataset}: {root} is not a folder"
        return None

    def clips(self, dataset: str, split: str) -> int | None:
        """Records of a split on disk (None when the dataset is not there or cannot be read)."""
        if (dataset, split) not in self.counts:
            count = None
            if self.root_problem(dataset) is None:
                try:
                    count = sum(1 for _ in open_dataset(dataset, self.cfg.datasets[dataset], lenient=True).read(split))
                except DatasetError:
                    count = None
            self.counts[dataset, split] = count
        return self.counts[dataset, split]

    def check(self, dataset: str) -> Step:
        step_id = f"check/{dataset}"
        if step_id in self.steps:
            return self.steps[step_id]
        root = self.cfg.datasets.get(dataset)
        command = ["nanoemox", "datasets", "check", dataset, "--root", self.root(dataset), "--lenient"]
        return self.add(
            Step(
                step_id,
                "check",
                [],
                shlex.join([*command, *self.config_flag]),
                fingerprint("check", dataset, root),
                "annotations and media",
                self.root_problem(dataset),
                {"dataset": dataset},
            )
        )

    def extract(self, dataset: str, split: str, required: bool) -> Step | None:
        """The split's extraction; None for a split that is not `required` and that the dataset does not have (or
        has no records in): a training dataset's held-out split is optional."""
        step_id = f"extract/{dataset}/{split}"
        if step_id in self.steps:
            return self.steps[step_id]
        if not required and split not in reader_class(dataset).splits:
            return None
        check = self.check(dataset)
        count = self.clips(dataset, split)
        if not required and count == 0:
            return None
        root = self.cfg.datasets.get(dataset)
        extract = without(self.tree["extract"], "extract", EXTRACT_RUNTIME_KEYS)
        command = ["nanoemox-extract", "--dataset", dataset, "--split", split, "--root", self.root(dataset)]
        size = "clips unknown" if count is None else f"{count:,} clips, {megabytes(count * clip_bytes(self.cfg))}"
        return self.add(
            Step(
                step_id,
                "extract",
                [check.id],
                shlex.join([*command, "--out", self.x.shards, *self.config_flag]),
                fingerprint("extract", dataset, split, root, build_contract(self.cfg)["model"], extract),
                size,
                check.blocked,
                {"dataset": dataset, "split": split},
            )
        )

    def train(self, stage: Stage, previous: Step | None) -> Step:
        phases = self.tree["train"]["phases"]
        data = [
            self.extract(d, s, required=s == "train")
            for d in mix_datasets(self.cfg, stage.data)
            for s in self.x.recipe.train_splits
        ]
        needs = [step for step in data if step is not None] + ([previous] if previous else [])
        train = without(self.tree["train"], "train", (*CADENCE_KEYS, *SPEED_KEYS, "train.phases"))
        mix = phases if stage.phase == "joint" else {stage.data: phases[stage.data]}  # joint: all phases' steps
        phase, branch = stage.command_line
        command = ["nanoemox-train", "--strategy", self.x.recipe.strategy]
        command += ["--phase", phase] if phase else []
        command += ["--branch", branch] if branch else []
        command += ["--run-name", self.x.recipe.run, "--features", self.x.shards, "--out", self.x.heads, "--resume"]
        blocked = blocked_by(needs)
        size = f"{stage.steps:,} steps x {self.cfg.train.batch_size * self.cfg.train.grad_accum} samples"
        return self.add(
            Step(
                f"train/{stage.name}",
                "train",
                [s.id for s in needs],
                shlex.join([*command, *self.config_flag]),
                fingerprint(
                    "train",
                    stage,
                    self.x.recipe.strategy,
                    without(self.tree["model"], "model", SPEED_KEYS),
                    train,
                    mix,
                    [s.fingerprint for s in needs],
                ),
                size,
                blocked,
                {"stage": stage.name, "phase": phase, "branch": branch},
            )
        )

    def score(self, bench: Benchmark, model: Step) -> Step:
        extract = self.extract(bench.dataset, bench.split, required=True)
        assert extract is not None
        needs = [model, extract]
        command = ["nanoemox-score", "--run", self.x.run.path, "--dataset", bench.dataset, "--split", bench.split]
        command += [arg for task in bench.tasks for arg in ("--task", task)]
        count = self.clips(bench.dataset, bench.split)
        size = "clips unknown" if count is None else f"{count:,} clips x {len(bench.tasks)} task(s)"
        score = without(self.tree["score"], "score", SCORE_RUNTIME_KEYS)
        return self.add(
            Step(
                f"score/{bench.name}",
                "score",
                [s.id for s in needs],
                shlex.join([*command, "--features", self.x.shards, *self.config_flag]),
                fingerprint("score", bench, score, [s.fingerprint for s in needs]),
                size,
                blocked_by(needs),
                {"dataset": bench.dataset, "split": bench.split, "tasks": list(bench.tasks)},
            )
        )

    def evaluate(self, bench: Benchmark, score: Step) -> Step:
        root = self.cfg.datasets.get(bench.dataset)
        predictions = self.x.run.predictions(bench.dataset, bench.split)
        command = ["nanoemox-eval", "--predictions", predictions, "--dataset", bench.dataset, "--split", bench.split]
        command += ["--root", self.root(bench.dataset), *self.config_flag]
        evaluation = without(self.tree["eval"], "eval", EVAL_RUNTIME_KEYS)
        count = self.clips(bench.dataset, bench.split)
        size = "predictions" if count is None else f"{count * len(bench.tasks):,} predictions"
        blocked = blocked_by([score])
        return self.add(
            Step(
                f"eval/{bench.name}",
                "eval",
                [score.id],
                shlex.join(command),
                fingerprint("eval", bench, root, evaluation, score.fingerprint),
                size,
                blocked or self.endpoint_problem(bench),
                {"dataset": bench.dataset, "split": bench.split, "tasks": list(bench.tasks)},
            )
        )

    def endpoint_problem(self, bench: Benchmark) -> str | None:
        """What an evaluation lacks outside the dataset: the emotion wheels, or the ERI judge endpoint."""
        ev = self.cfg.eval
        open_mer = self.cfg.score.unibench_question == "open" and bench.dataset in MER_UNIBENCH
        needs_wheels = any(t in ("msa", "ov-mer") or (t == "mer" and open_mer) for t in bench.tasks)
        if needs_wheels and not ev.wheel_dir:
            return "no emotion wheels: set eval.wheel_dir (AffectGPT's emotion_wheel folder)"
        if needs_wheels and not Path(ev.wheel_dir).is_dir():
            return f"eval.wheel_dir: {ev.wheel_dir} is not a folder"
        if "eri" in bench.tasks and not ev.judge_url:
            return "no ERI judge: set eval.judge_url (an OpenAI-compatible endpoint)"
        return None

    def report(self, evaluations: list[Step]) -> Step:
        command = ["nanoemox-eval", "report", "--run", self.x.run.path, "--out", self.x.report]
        return self.add(
            Step(
                "report",
                "report",
                [s.id for s in evaluations],
                shlex.join(command),
                fingerprint("report", self.x.recipe.report, [s.fingerprint for s in evaluations]),
                f"{len(evaluations)} benchmark(s)",
            )
        )


def build_plan(experiment: Experiment) -> list[Step]:
    """Every step of the experiment, each after the steps it needs."""
    planner, recipe = Planner(experiment), experiment.recipe
    model = None
    for stage in plan_stages(experiment.cfg, recipe.strategy):
        model = planner.train(stage, model)
    assert model is not None
    evaluations = [planner.evaluate(bench, planner.score(bench, model)) for bench in recipe.benchmarks]
    planner.report(evaluations)
    order = {"check": 0, "extract": 1, "train": 2, "score": 3, "eval": 4, "report": 5}
    return sorted(planner.steps.values(), key=lambda step: order[step.kind])
