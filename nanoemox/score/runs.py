"""Finding a run's heads: a stage folder, or the last finished stage of a run folder."""

from __future__ import annotations

from pathlib import Path

from nanoemox import storage
from nanoemox.config import PipelineConfig, load_config
from nanoemox.errors import NanoEmoXError
from nanoemox.model.checkpoint import HEADS_FILE, checkpoint_folder
from nanoemox.train.state import read_state

STAGE_PREFERENCE = ("phase3", "joint", "phase2", "phase1-visual", "phase1-speech")


def find_checkpoint(run: str | Path) -> str:
    """`heads/<run>/phase3` as given, or, for `heads/<run>`, its most advanced finished stage (folders or URLs)."""
    if not storage.is_dir(run):
        raise NanoEmoXError(f"{run}: no such run folder; pass heads/<run> or one of its phase folders")
    if storage.is_file(storage.join(checkpoint_folder(run), HEADS_FILE)):
        return str(run)
    for stage in STAGE_PREFERENCE:
        state = read_state(storage.join(run, stage))
        if state is not None and state.finished:
            return storage.join(run, stage)
    raise NanoEmoXError(f"{run}: no finished training stage ({', '.join(STAGE_PREFERENCE)}); run nanoemox-train first")


def run_config(
    checkpoint: str | Path, config: str | None, overrides: list[str], preset: str | None = None
) -> PipelineConfig:
    """The config the heads were trained with (or --config), with --set overrides (e.g. score.batch_size); a
    --preset other than the run's is refused, naming both."""
    return load_config(config or storage.join(checkpoint_folder(checkpoint), "config.yaml"), preset, overrides)
