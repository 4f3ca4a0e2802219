"""Resumable training checkpoints: heads + LoRA (the model checkpoint) plus optimizer, scheduler, RNG and data
position, all in safetensors and JSON. Locally: written to `<stage>.tmp` and swapped in so that a kill at any
instant leaves one complete checkpoint (`recover` finishes an interrupted swap); on object storage: uploaded to
a new folder, then published by a marker written last."""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from nanoemox.config import PipelineConfig
from nanoemox.errors import NanoEmoXError
from nanoemox.fileio import storage
from nanoemox.fileio.files import read_safetensors
from nanoemox.model.checkpoint import load_checkpoint, save_checkpoint
from nanoemox.model.nanoemox import NanoEmoX
from nanoemox.runs import MARKER_FILE, STATE_FILE, checkpoint_folder, stage_state

ADAMW_SLOTS = ("step", "exp_avg", "exp_avg_sq")  # what AdamW (build_optimizer) keeps per parameter

log = logging.getLogger(__name__)


@dataclass
class TrainerState:
    step: int = 0
    finished: bool = False
    samples: int = 0
    skipped_steps: int = 0
    over_length: int = 0  # samples skipped because prompt + whole answer exceed model.lm.max_length
    data: dict[str, Any] = field(default_factory=dict)
    python_rng: list = field(default_factory=list)
    optimizer_groups: list = field(default_factory=list)
    scheduler: dict[str, Any] = field(default_factory=dict)
    scaler: dict[str, Any] = field(default_factory=dict)


@dataclass
class Trainer:
    """The objects a training checkpoint saves and restores, beside the TrainerState counters."""

    model: NanoEmoX
    cfg: PipelineConfig
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler


def _flatten_optimizer(state: dict[int, dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {f"{index}.{key}": value.contiguous() for index, slots in state.items() for key, value in slots.items()}


def _unflatten_optimizer(flat: dict[str, torch.Tensor]) -> dict[int, dict[str, torch.Tensor]]:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in flat.items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    return state


def check_optimizer_state(path: str | Path, flat: dict[str, torch.Tensor], optimizer: torch.optim.Optimizer) -> None:
    """A damaged optimizer file fails on resume, naming it, not at the first step (a missing slot) or silently."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    slots: dict[int, set[str]] = {}
    for name, value in flat.items():
        index, _, slot = name.partition(".")
        if not index.isdigit() or int(index) >= len(params):
            raise NanoEmoXError(f"{path}: '{name}' is not a slot of one of the {len(params)} trained parameters")
        slots.setdefault(int(index), set()).add(slot)
        shape = list(params[int(index)].shape)
        if slot in ADAMW_SLOTS[1:] and list(value.shape) != shape:
            raise NanoEmoXError(f"{path}: '{name}' has shape {list(value.shape)}, its parameter {shape}")
    for index, present in sorted(slots.items()):
        missing = [slot for slot in ADAMW_SLOTS if slot not in present]
        if missing:
            raise NanoEmoXError(f"{path}: parameter {index} has no '{missing[0]}' slot; the optimizer state is damaged")


def save_training(out: str | Path, trainer: Trainer, state: TrainerState) -> None:
    """Everything to continue exactly; the folder is replaced only once the new one is complete."""
    if storage.is_url(out):
        with tempfile.TemporaryDirectory(prefix="nanoemox-ckpt-") as tmp:
            write_training(Path(tmp), trainer, state)
            publish_remote(Path(tmp), out, state.step)
        return
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    write_training(tmp, trainer, state)
    recover(out)


def publish_remote(local: Path, out: str, step: int) -> None:
    """A checkpoint on object storage: its files go to a new folder `step-N`, then the marker naming that folder
    is written (one PUT, so it switches at once); resume trusts only the folder the marker names."""
    folder = f"step-{step:09d}"
    current = storage.name(checkpoint_folder(out))
    for name in storage.list_names(out):  # an upload a killed job left half done
        if name.startswith("step-") and name != current:
            storage.remove(storage.join(out, name))
    storage.upload_folder(local, storage.join(out, folder))
    storage.put_text(storage.join(out, MARKER_FILE), json.dumps({"folder": folder, "step": step}))
    if current != folder and current.startswith("step-"):
        storage.remove(storage.join(out, current))


def write_training(tmp: Path, trainer: Trainer, state: TrainerState) -> None:
    """The checkpoint files, in a local folder."""
    save_checkpoint(trainer.model, trainer.cfg, tmp)
    optimizer_state = trainer.optimizer.state_dict()
    save_file(_flatten_optimizer(optimizer_state["state"]), tmp / "optimizer.safetensors")
    rng = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng |= {f"cuda.{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())}
    save_file(rng, tmp / "rng.safetensors")
    version, internal, gauss = random.getstate()
    state.python_rng = [version, list(internal), gauss]
    state.optimizer_groups = optimizer_state["param_groups"]
    state.scheduler = trainer.scheduler.state_dict()
    state.scaler = trainer.scaler.state_dict() if trainer.scaler.is_enabled() else {}
    (tmp / (STATE_FILE + ".part")).write_text(json.dumps(asdict(state)))
    os.replace(tmp / (STATE_FILE + ".part"), tmp / STATE_FILE)


def recover(out: Path) -> None:
    """Swap a complete `<out>.tmp` in for `out` (keeping the old one as `<out>.old` until the new one is in place),
    and drop leftovers. The swap is this function, so re-running it after a kill at any step finishes it."""
    tmp, old = out.with_name(out.name + ".tmp"), out.with_name(out.name + ".old")
    if (tmp / STATE_FILE).is_file():
        if out.exists():
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
        tmp.rename(out)
    shutil.rmtree(tmp, ignore_errors=True)  # a temporary folder the kill left unfinished
    shutil.rmtree(old, ignore_errors=True)


def recover_run(run_dir: str | Path) -> None:
    """`recover` every stage folder of a run whose checkpoint swap was interrupted; call it holding the run's lock.
    (On object storage the marker written last publishes a checkpoint, so there is no swap to finish.)"""
    if storage.is_url(run_dir):
        return
    leftovers = [p for pattern in ("*.tmp", "*.old") for p in Path(run_dir).glob(pattern) if p.is_dir()]
    for out in sorted({p.with_suffix("") for p in leftovers}):
        log.info("%s: completing a checkpoint save that a kill interrupted", out)
        recover(out)


def read_state(out: str | Path) -> TrainerState | None:
    """The trainer state of a stage folder, or None when the stage never saved one."""
    saved = stage_state(out)
    if saved is None:
        return None
    try:
        return TrainerState(**saved)
    except TypeError as err:
        path = storage.join(checkpoint_folder(out), STATE_FILE)
        raise NanoEmoXError(f"{path}: not a trainer state written by nanoemox-train ({err})") from err


def load_training(out: str | Path, trainer: Trainer) -> TrainerState:
    """Restore a stage folder written by `save_training` into freshly built objects."""
    state = read_state(out)
    if state is None:
        raise NanoEmoXError(f"{out}: no {STATE_FILE}; nothing to resume")
    folder = checkpoint_folder(out)
    model, optimizer = trainer.model, trainer.optimizer
    load_checkpoint(model, trainer.cfg, folder)
    device = next(p for p in model.parameters() if p.requires_grad).device
    saved = read_safetensors(storage.join(folder, "optimizer.safetensors"), "optimizer state")
    check_optimizer_state(storage.join(folder, "optimizer.safetensors"), saved, optimizer)
    flat = {k: v.to(device) if not k.endswith(".step") else v for k, v in saved.items()}
    optimizer.load_state_dict({"state": _unflatten_optimizer(flat), "param_groups": state.optimizer_groups})
    trainer.scheduler.load_state_dict(state.scheduler)
    if state.scaler:
        trainer.scaler.load_state_dict(state.scaler)
    rng = read_safetensors(storage.join(folder, "rng.safetensors"), "RNG state")
    torch.set_rng_state(rng["torch"])
    cuda = [rng[k] for k in sorted(k for k in rng if k.startswith("cuda."))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)
    version, internal, gauss = state.python_rng
    random.setstate((version, tuple(internal), gauss))
    return state
