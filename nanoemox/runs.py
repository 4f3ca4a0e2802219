"""The layout of a run folder (`heads/<run>`): the one module that names its files and folders.

    heads/<run>/
      config.yaml                          the effective config the run was trained with
      phase1-speech/ ... phase3/ | joint/  one checkpoint per training stage (stage folders)
        heads.safetensors, lora/, config.yaml, trainer_state.json, optimizer.safetensors, rng.safetensors
        (on object storage: step-N/ holding those files, and checkpoint.json naming the complete one)
      logs/<stage>/                        metrics.jsonl and TensorBoard events
      predictions/<dataset>-<split>.jsonl  nanoemox-score
      eval/<dataset>-<split>.json          nanoemox-eval
      report/                              nanoemox-eval report

Everything else asks this module where a run's things are, so a folder or URL string never has to be parsed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nanoemox.config import CONFIG_FILE
from nanoemox.errors import NanoEmoXError
from nanoemox.fileio import storage
from nanoemox.fileio.files import read_json
from nanoemox.train.stages import STAGE_PHASES

STAGES = tuple(STAGE_PHASES)  # stage folder names
STAGE_PREFERENCE = ("phase3", "joint", "phase2", "phase1-visual", "phase1-speech")  # most advanced first
HEADS_FILE = "heads.safetensors"
LORA_DIR = "lora"
STATE_FILE = "trainer_state.json"  # written last: a folder holding it is a complete training checkpoint
MARKER_FILE = "checkpoint.json"  # on object storage: names the folder of the last complete checkpoint


@dataclass(frozen=True)
class RunFolder:
    """A run folder or URL and the paths of what the stages write into it."""

    path: str

    @property
    def config(self) -> str:
        return storage.join(self.path, CONFIG_FILE)

    def stage(self, name: str) -> str:
        return storage.join(self.path, name)

    def logs(self, stage: str) -> str:
        return storage.join(self.path, "logs", stage)

    @property
    def predictions_dir(self) -> str:
        return storage.join(self.path, "predictions")

    def predictions(self, dataset: str, split: str) -> str:
        return storage.join(self.predictions_dir, f"{dataset}-{split}.jsonl")

    @property
    def eval_dir(self) -> str:
        return storage.join(self.path, "eval")

    def eval_result(self, dataset: str, split: str) -> str:
        return storage.join(self.eval_dir, f"{dataset}-{split}.json")

    @property
    def report_dir(self) -> str:
        return storage.join(self.path, "report")

    def stage_logs(self) -> list[str]:
        """The metrics logs of its stages, most advanced first."""
        paths = [storage.join(self.logs(stage), "metrics.jsonl") for stage in STAGE_PREFERENCE]
        return [path for path in paths if storage.is_file(path)]

    def finished_stage(self) -> str | None:
        """The most advanced stage whose training finished, or None."""
        for stage in STAGE_PREFERENCE:
            state = stage_state(self.stage(stage))
            if state is not None and state.get("finished"):
                return stage
        return None


def eval_result_for(predictions: str, dataset: str, split: str) -> str:
    """Where a predictions file's eval result goes: heads/<run>/predictions/x.jsonl ->
    heads/<run>/eval/<dataset>-<split>.json; a file outside a run: beside it, as <stem>.eval.json."""
    folder = storage.parent(predictions)
    if storage.name(folder) == "predictions":
        return RunFolder(storage.parent(folder)).eval_result(dataset, split)
    stem = storage.name(predictions).rsplit(".", 1)[0]
    return storage.join(folder, f"{stem}.eval.json")


def checkpoint_folder(stage_dir: str | Path) -> str:
    """Where a stage's checkpoint files are: the folder its marker names (object storage, where a checkpoint is
    several objects published by writing the marker last), else the stage folder itself."""
    marker = storage.join(stage_dir, MARKER_FILE)
    if not storage.is_file(marker):
        return str(stage_dir)
    folder = read_json(marker, "checkpoint marker").get("folder")
    if not isinstance(folder, str) or "/" in folder or folder in ("", ".", ".."):
        raise NanoEmoXError(f"{marker}: damaged checkpoint marker (no folder name)")
    return storage.join(stage_dir, folder)


def stage_state(stage_dir: str | Path) -> dict[str, Any] | None:
    """The saved trainer state of a stage folder (JSON), or None when the stage never saved one."""
    return _state_in(checkpoint_folder(stage_dir))


def _state_in(folder: str) -> dict[str, Any] | None:
    path = storage.join(folder, STATE_FILE)
    return read_json(path, "trainer state") if storage.is_file(path) else None


@dataclass(frozen=True)
class Checkpoint:
    """A trained stage to score with: the run it belongs to, and the folder its files are in (marker resolved)."""

    run: RunFolder
    folder: str

    @property
    def config(self) -> str:
        return storage.join(self.folder, CONFIG_FILE)


def find_checkpoint(path: str | Path) -> Checkpoint:
    """`heads/<run>/phase3` as given, or, for `heads/<run>`, its most advanced finished stage (folders or URLs).
    A stage folder's run is its parent; a checkpoint folder of another name is a run of its own."""
    path = str(path)
    if not storage.is_dir(path):
        raise NanoEmoXError(f"{path}: no such run folder; pass heads/<run> or one of its phase folders")
    folder = checkpoint_folder(path)
    if storage.is_file(storage.join(folder, HEADS_FILE)):
        run = storage.parent(path) if storage.name(path) in STAGES else path
        return Checkpoint(RunFolder(run), folder)
    for stage in STAGE_PREFERENCE:
        folder = checkpoint_folder(storage.join(path, stage))
        state = _state_in(folder)
        if state is not None and state.get("finished"):
            return Checkpoint(RunFolder(path), folder)
    raise NanoEmoXError(f"{path}: no finished training stage ({', '.join(STAGE_PREFERENCE)}); run nanoemox-train first")
