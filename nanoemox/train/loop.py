"""The training recipe: set up one stage, run its steps, checkpoint, resume. Read top to bottom."""

from __future__ import annotations

import logging
import os
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel

from nanoemox import storage
from nanoemox.batching import ModelBatch, TrainingExample, collate_training, training_examples
from nanoemox.config import PipelineConfig
from nanoemox.devices import pick_device
from nanoemox.errors import NanoEmoXError
from nanoemox.model.checkpoint import load_checkpoint
from nanoemox.model.inputs import bos_id
from nanoemox.model.nanoemox import NanoEmoX
from nanoemox.model.phases import phase_modalities, set_trainable
from nanoemox.model.prompts import load_prompts
from nanoemox.progress import progress
from nanoemox.threads import use_threads
from nanoemox.train.data import LengthGroupedBatches, Prefetcher, TaskMixer, phase_sources, validation_examples
from nanoemox.train.metrics import MetricsLog
from nanoemox.train.optim import autocast_and_scaler, build_optimizer, speed_switches
from nanoemox.train.stages import Stage
from nanoemox.train.state import TrainerState, load_training, read_state, save_training

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
        state = read_state(storage.join(run_dir, stage.init_from))
        if state is None or not state.finished:
            raise NanoEmoXError(
                f"{stage.name} starts from the heads of {stage.init_from}, but "
                f"{storage.join(run_dir, stage.init_from)} holds "
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


def gate_means(gates: torch.Tensor | None, tasks: list[str], sums: dict, counts: dict) -> None:
    """Accumulate the fusion gate weights per task, to log which expert each task leans on."""
    if gates is None:
        return
    for task, weights in zip(tasks, gates.detach().float().cpu(), strict=True):
        sums[task] = sums.get(task, 0) + weights
        counts[task] += 1


def train_stage(
    cfg: PipelineConfig, stage: Stage, features: str | Path, run_dir: str | Path, resume: bool, dist: Distributed
) -> StageResult:
    # ---- setup
    out = storage.join(run_dir, stage.name)
    state = read_state(out)
    if state is not None and not resume:
        raise NanoEmoXError(f"{out} exists; pass --resume to continue it, or choose another --run")
    if state is not None and state.finished:
        return StageResult(stage.name, state.step, float("nan"), None, 0.0, 0.0, state.skipped_steps, out, True)
    threads = use_threads(cfg)
    torch.manual_seed(cfg.train.seed + dist.rank)
    model = NanoEmoX.from_config(cfg.model, dist.device)
    if stage.init_from:
        load_checkpoint(model, cfg, storage.join(run_dir, stage.init_from))
    set_trainable(model, stage.phase)
    modalities = phase_modalities(stage.phase, cfg.model.heads.modalities)
    optimizer, scheduler = build_optimizer(model, cfg, stage)
    autocast, scaler = autocast_and_scaler(dist.device, cfg.train.precision)
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
        state = load_training(out, model, cfg, optimizer, scheduler, scaler)
        grouped.restore(state.data)
        grouped.skipped = []  # the restored window's skips were counted before the checkpoint
        logger.info("%s: resuming from the checkpoint in %s at step %d of %d", stage.name, out, state.step, stage.steps)
    elif resume:
        logger.info("%s: no checkpoint in %s; starting at step 0", stage.name, out)
    state = state or TrainerState()
    trained = DistributedDataParallel(model, find_unused_parameters=True) if dist.world > 1 else model
    trained = speed_switches(model, cfg, trained)
    trainable = [p for p in model.parameters() if p.requires_grad]
    log = MetricsLog(storage.join(run_dir, "logs", stage.name), state.step, enabled=dist.main)

    def next_step_batches() -> tuple[list[ModelBatch], list[str]]:
        """One optimizer step's micro-batches, and the over-length samples skipped while drawing them."""
        grouped.skipped = []
        batches = [collate_training(next(grouped), model.tokenizer.pad_token_id) for _ in range(accum)]
        return batches, grouped.skipped

    prefetch = Prefetcher(next_step_batches, grouped.state)  # the next step's batches build while this one computes

    # ---- loop
    started, window_start, window_samples = time.perf_counter(), time.perf_counter(), 0
    loss_sum, loss_count, bad_in_a_row, val_loss, last_loss, session_samples = 0.0, 0, 0, None, float("nan"), 0
    gate_sums: dict = {}
    gate_counts: dict = defaultdict(int)
    bar = progress(total=stage.steps, initial=state.step, desc=stage.name, unit="step", disable=not dist.main)
    try:  # the prefetch thread stops however the loop ends, so a failed run exits cleanly
        while state.step < stage.steps:
            optimizer.zero_grad(set_to_none=True)
            step_loss, finite = 0.0, True
            (micro_batches, over_length), position = prefetch.next()
            if over_length:
                state.over_length += len(over_length)
                log.log(state.step, {"skipped_over_length": over_length})
                bar.write(
                    f"{stage.name}: skipped {len(over_length)} sample(s) longer than model.lm.max_length: "
                    + ", ".join(over_length)
                )
            for micro_batch in micro_batches:
                batch = to_device(micro_batch, dist.device)
                with autocast:
                    output = trained(batch.text.input_ids, batch.text.attention_mask, batch.features, batch.text.labels)
                loss = output.loss / accum
                if not torch.isfinite(loss):
                    finite = False
                    break
                scaler.scale(loss).backward()
                step_loss += loss.item()
                gate_means(output.gate_weights, batch.tasks, gate_sums, gate_counts)
            state.samples += batch_size * accum
            session_samples += batch_size * accum * dist.world
            window_samples += batch_size * accum * dist.world
            if not finite:  # a non-finite loss skips the step; too many in a row stop the run
                optimizer.zero_grad(set_to_none=True)
                state.skipped_steps += 1
                bad_in_a_row += 1
                if bad_in_a_row >= cfg.train.max_bad_steps:
                    raise NanoEmoXError(
                        f"{stage.name}: {bad_in_a_row} non-finite losses in a row at step {state.step}; "
                        "lower the learning rate or check the shards for NaN features"
                    )
                continue
            bad_in_a_row = 0
            scaler.unscale_(optimizer)
            clip = cfg.train.grad_clip or float("inf")  # 0: no clipping, the norm is still measured for the log
            grad_norm = torch.nn.utils.clip_grad_norm_(trainable, clip)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            state.step += 1
            loss_sum, loss_count = loss_sum + step_loss, loss_count + 1
            bar.update()

            if state.step % cfg.train.log_every == 0 or state.step == stage.steps:
                rate = window_samples / (time.perf_counter() - window_start)
                values = {
                    "loss": loss_sum / loss_count,
                    "lr": scheduler.get_last_lr()[0],
                    "grad_norm": float(grad_norm),
                    "samples_per_s": rate,
                    "skipped_steps": state.skipped_steps,
                    "over_length": state.over_length,
                    "gates": {t: (gate_sums[t] / gate_counts[t]).tolist() for t in gate_sums},
                }
                bar.set_postfix(loss=f"{values['loss']:.4f}", lr=f"{values['lr']:.2e}", samples_s=f"{rate:.1f}")
                log.log(state.step, values)
                last_loss = values["loss"]
                loss_sum, loss_count, window_start, window_samples = 0.0, 0, time.perf_counter(), 0
                gate_sums, gate_counts = {}, defaultdict(int)
            if held_out and (state.step % cfg.train.eval_every == 0 or state.step == stage.steps):
                val_loss = validation_loss(model, held_out, batch_size, dist.device, autocast)
                log.log(state.step, {"val_loss": val_loss})
            if state.step % cfg.train.save_every == 0 or state.step == stage.steps:
                state.finished = state.step == stage.steps
                state.data = position
                if dist.main:
                    log.sync()  # the log holds every step the checkpoint does
                    save_training(out, model, cfg, optimizer, scheduler, scaler, state)
    finally:
        prefetch.close()
    bar.close()
    log.close()
    seconds = time.perf_counter() - started
    return StageResult(
        stage.name,
        state.step,
        last_loss,
        val_loss,
        session_samples / seconds if seconds else 0.0,
        seconds,
        state.skipped_steps,
        out,
        over_length=state.over_length,
        threads=threads,
    )
