"""The training recipe: set up one stage, run its steps, checkpoint, resume. Read top to bottom."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel

from nanoemox.config import PipelineConfig
from nanoemox.errors import NanoEmoXError
from nanoemox.model.batching import ModelBatch, TrainingExample, collate_training, training_examples
from nanoemox.model.checkpoint import load_checkpoint
from nanoemox.model.inputs import bos_id
from nanoemox.model.nanoemox import NanoEmoX
from nanoemox.model.phases import phase_modalities, set_trainable
from nanoemox.model.prompts import load_prompts
from nanoemox.runs import RunFolder, checkpoint_folder
from nanoemox.runtime.devices import pick_device
from nanoemox.runtime.progress import progress
from nanoemox.runtime.threads import use_threads
from nanoemox.train.data import LengthGroupedBatches, Prefetcher, TaskMixer, phase_sources, validation_examples
from nanoemox.train.metrics import MetricsLog, RunningMetrics
from nanoemox.train.optim import autocast_and_scaler, build_optimizer, speed_switches
from nanoemox.train.stages import Stage
from nanoemox.train.state import Trainer, TrainerState, load_training, read_state, save_training

VALIDATION_EXAMPLES_PER_SOURCE = 64

logger = logging.getLogger(__name__)


@dataclass
class Distributed:
    """torchrun's environment: rank, world size and this process's device."""

    rank: int = 0
    world: int = 1
    device: str = "cpu"

    @classmethod
    def from_env(cls, device: str | None) -> Distributed:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
        device = pick_device(device)
        if world > 1:
            backend = "nccl" if device.startswith("cuda") else "gloo"
            torch.distributed.init_process_group(backend)
            if device.startswith("cuda"):
                torch.cuda.set_device(local)
                device = f"cuda:{local}"
        return cls(int(os.environ.get("RANK", "0")), world, device)

    @property
    def main(self) -> bool:
        return self.rank == 0


@dataclass
class StageResult:
    stage: str
    steps: int
    loss: float
    val_loss: float | None
    samples_per_s: float
    seconds: float
    skipped_steps: int
    out: str
    already_finished: bool = False
    over_length: int = 0
    threads: int = 0  # torch's CPU threads

    def line(self) -> str:
        if self.already_finished:
            return f"{self.stage}: already finished at step {self.steps}; nothing to do -> {self.out}"
        val = f", val loss {self.val_loss:.4f}" if self.val_loss is not None else ""
        return (
            f"{self.stage}: {self.steps} steps, loss {self.loss:.4f}{val}, {self.samples_per_s:.1f} samples/s, "
            f"{self.seconds:.0f} s on {self.threads} CPU thread(s), {self.skipped_steps} non-finite steps skipped, "
            f"{self.over_length} over-length samples skipped -> {self.out}"
        )


def check_stage_inputs(
    cfg: PipelineConfig, stage: Stage, features: str | Path, run_dir: str | Path, planned: set[str]
) -> None:
    """Fail before any compute: the mix's shards must exist and match, the prompts file must be sound, the
    previous heads must be finished."""
    phase_sources(features, cfg, stage.data)
    load_prompts(cfg.model.prompts)
    if stage.init_from and stage.init_from not in planned:
        init_dir = RunFolder(str(run_dir)).stage(stage.init_from)
        state = read_state(init_dir)
        if state is None or not state.finished:
            raise NanoEmoXError(
                f"{stage.name} starts from the heads of {stage.init_from}, but {init_dir} holds "
                "no finished run; train that phase first (or name the run that has it with --run)"
            )


def to_device(batch: ModelBatch, device: str) -> ModelBatch:
    text = batch.text
    for name in ("input_ids", "attention_mask", "labels"):
        setattr(text, name, getattr(text, name).to(device))
    return ModelBatch(batch.tasks, text, batch.features.to(device))


@torch.no_grad()
def validation_loss(
    model: NanoEmoX, examples: list[TrainingExample], batch_size: int, device: str, autocast: torch.autocast
) -> float:
    model.eval()
    losses = []
    for start in range(0, len(examples), batch_size):
        batch = to_device(collate_training(examples[start : start + batch_size], model.tokenizer.pad_token_id), device)
        with autocast:
            losses.append(
                model(batch.text.input_ids, batch.text.attention_mask, batch.features, batch.text.labels).loss.item()
            )
    model.train()
    return sum(losses) / len(losses)


def train_stage(
    cfg: PipelineConfig, stage: Stage, features: str | Path, run_dir: str | Path, resume: bool, dist: Distributed
) -> StageResult:
    # ---- setup
    run = RunFolder(str(run_dir))
    out = run.stage(stage.name)
    state = read_state(out)
    if state is not None and not resume:
        raise NanoEmoXError(f"{out} exists; pass --resume to continue it, or choose another --run")
    if state is not None and state.finished:
        return StageResult(stage.name, state.step, float("nan"), None, 0.0, 0.0, state.skipped_steps, out, True)
    threads = use_threads(cfg)
    torch.manual_seed(cfg.train.seed + dist.rank)
    model = NanoEmoX.from_config(cfg.model, dist.device)
    if stage.init_from:
        load_checkpoint(model, cfg, checkpoint_folder(run.stage(stage.init_from)))
    set_trainable(model, stage.phase)
    modalities = phase_modalities(stage.phase, cfg.model.heads.modalities)
    optimizer, scheduler = build_optimizer(model, cfg, stage)
    autocast, scaler = autocast_and_scaler(dist.device, cfg.train.precision)
    trainer = Trainer(model, cfg, optimizer, scheduler, scaler)
    mixer = TaskMixer(
        phase_sources(features, cfg, stage.data), cfg.train.seed, dist.rank, dist.world, cfg.train.shuffle_buffer
    )
    batch_size, accum = cfg.train.batch_size, cfg.train.grad_accum
    bos = bos_id(model.tokenizer) if cfg.train.prepend_bos else None
    grouped = LengthGroupedBatches(
        mixer,
        batch_size,
        cfg.train.length_window,
        lambda examples: training_examples(model, examples, modalities, bos),
        cfg.train.seed,
    )
    dev = phase_sources(features, cfg, stage.data, "dev", required=False)  # no dev split: no validation loss
    held_out = validation_examples(dev, VALIDATION_EXAMPLES_PER_SOURCE)
    held_out = [ex for ex in training_examples(model, held_out, modalities, bos) if ex is not None]
    if state is not None:
        state = load_training(out, trainer)
        grouped.restore(state.data)
        grouped.skipped = []  # the restored window's skips were counted before the checkpoint
        logger.info("%s: resuming from the checkpoint in %s at step %d of %d", stage.name, out, state.step, stage.steps)
    elif resume:
        logger.info("%s: no checkpoint in %s; starting at step 0", stage.name, out)
    state = state or TrainerState()
    trained = DistributedDataParallel(model, find_unused_parameters=True) if dist.world > 1 else model
    trained = speed_switches(model, cfg, trained)
    trainable = [p for p in model.parameters() if p.requires_grad]
    log = MetricsLog(run.logs(stage.name), state.step, enabled=dist.main)

    def next_step_batches() -> tuple[list[ModelBatch], list[str]]:
        """One optimizer step's micro-batches, and the over-length samples skipped while drawing them."""
        grouped.skipped = []
        batches = [collate_training(next(grouped), model.tokenizer.pad_token_id) for _ in range(accum)]
        return batches, grouped.skipped

    prefetch = Prefetcher(next_step_batches, grouped.state)  # the next step's batches build while this one computes

    # ---- loop
    metrics = RunningMetrics()
    val_loss, bad_in_a_row = None, 0
    bar = progress(total=stage.steps, initial=state.step, desc=stage.name, unit="step", disable=not dist.main)
    try:  # the prefetch thread stops however the loop ends, so a failed run exits cleanly
        while state.step < stage.steps:
            (micro_batches, over_length), position = prefetch.next()
            if over_length:
                state.over_length += len(over_length)
                log.log(state.step, {"skipped_over_length": over_length})
                bar.write(
                    f"{stage.name}: skipped {len(over_length)} sample(s) longer than model.lm.max_length: "
                    + ", ".join(over_length)
                )
            step_loss = forward_backward(trained, micro_batches, trainer, autocast, dist.device, metrics)
            state.samples += batch_size * accum
            metrics.add_samples(batch_size * accum * dist.world)
            if step_loss is None:  # a non-finite loss skips the step; too many in a row stop the run
                state.skipped_steps += 1
                bad_in_a_row += 1
                if bad_in_a_row >= cfg.train.max_bad_steps:
                    raise NanoEmoXError(
                        f"{stage.name}: {bad_in_a_row} non-finite losses in a row at step {state.step}; "
                        "lower the learning rate or check the shards for NaN features"
                    )
                continue
            bad_in_a_row = 0
            grad_norm = optimizer_step(trainer, trainable)
            state.step += 1
            metrics.add_step(step_loss)
            bar.update()

            # ---- log, validate, checkpoint
            last = state.step == stage.steps
            if state.step % cfg.train.log_every == 0 or last:
                window = metrics.window()
                values = {
                    "loss": window["loss"],
                    "lr": scheduler.get_last_lr()[0],
                    "grad_norm": grad_norm,
                    "samples_per_s": window["samples_per_s"],
                    "skipped_steps": state.skipped_steps,
                    "over_length": state.over_length,
                    "gates": window["gates"],
                }
                bar.set_postfix(
                    loss=f"{values['loss']:.4f}", lr=f"{values['lr']:.2e}", samples_s=f"{values['samples_per_s']:.1f}"
                )
                log.log(state.step, values)
            if held_out and (state.step % cfg.train.eval_every == 0 or last):
                val_loss = validation_loss(model, held_out, batch_size, dist.device, autocast)
                log.log(state.step, {"val_loss": val_loss})
            if state.step % cfg.train.save_every == 0 or last:
                state.finished, state.data = last, position
                if dist.main:
                    log.sync()  # the log holds every step the checkpoint does
                    save_training(out, trainer, state)
    finally:
        prefetch.close()
    bar.close()
    log.close()
    seconds = metrics.seconds()
    return StageResult(
        stage.name,
        state.step,
        metrics.last_loss,
        val_loss,
        metrics.session_samples / seconds if seconds else 0.0,
        seconds,
        state.skipped_steps,
        out,
        over_length=state.over_length,
        threads=threads,
    )


def forward_backward(
    trained: torch.nn.Module,
    micro_batches: list[ModelBatch],
    trainer: Trainer,
    autocast: torch.autocast,
    device: str,
    metrics: RunningMetrics,
) -> float | None:
    """Gradients of one optimizer step, accumulated over its micro-batches: the step's loss, or None (and no
    gradients) when a loss is not finite."""
    trainer.optimizer.zero_grad(set_to_none=True)
    step_loss = 0.0
    for micro_batch in micro_batches:
        batch = to_device(micro_batch, device)
        with autocast:
            output = trained(batch.text.input_ids, batch.text.attention_mask, batch.features, batch.text.labels)
        loss = output.loss / len(micro_batches)
        if not torch.isfinite(loss):
            trainer.optimizer.zero_grad(set_to_none=True)
            return None
        trainer.scaler.scale(loss).backward()
        step_loss += loss.item()
        metrics.add_gates(output.gate_weights, batch.tasks)
    return step_loss


def optimizer_step(trainer: Trainer, trainable: list[torch.nn.Parameter]) -> float:
    """Clip, step the optimizer and the schedule; the gradient norm before clipping (for the log)."""
    trainer.scaler.unscale_(trainer.optimizer)
    clip = trainer.cfg.train.grad_clip or float("inf")  # 0: no clipping, the norm is still measured for the log
    grad_norm = torch.nn.utils.clip_grad_norm_(trainable, clip)
    trainer.scaler.step(trainer.optimizer)
    trainer.scaler.update()
    trainer.scheduler.step()
    return float(grad_norm)
