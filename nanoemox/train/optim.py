"""How a training step runs: AdamW and its schedule, precision, gradient checkpointing and torch.compile,
as the config's speed switches set them. Imports nothing the data pipeline needs, so bench/gpu_bench.py can use it."""

from __future__ import annotations

import functools
import math

import torch

from nanoemox.config import PhaseConfig, PipelineConfig
from nanoemox.model.nanoemox import NanoEmoX
from nanoemox.train.stages import Stage


def autocast_and_scaler(device: str, precision: str = "auto") -> tuple[torch.autocast, torch.amp.GradScaler]:
    """`auto`: bf16 autocast where the GPU has it, fp16 with a grad scaler on older GPUs, fp32 on CPU;
    `bf16`, `fp16` (with a grad scaler) or `fp32` on any device."""
    kind = device.split(":")[0]
    if precision == "auto":
        precision = "fp32" if kind != "cuda" else "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if precision == "fp32":
        return torch.autocast(kind, enabled=False), torch.amp.GradScaler(kind, enabled=False)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(kind, dtype=dtype), torch.amp.GradScaler(kind, enabled=precision == "fp16")


def speed_switches(model: NanoEmoX, cfg: PipelineConfig, trained: torch.nn.Module) -> torch.nn.Module:
    """Gradient checkpointing in the LM and torch.compile, as configured; returns the module to call."""
    if cfg.train.gradient_checkpointing:
        model.lm.get_base_model().activation_checkpointing_enable({"use_reentrant": False})
    return torch.compile(trained, dynamic=True) if cfg.train.compile else trained


def lr_factor(spec: PhaseConfig, steps: int, step: int) -> float:
    """The learning rate at `step` as a fraction of `spec.lr`: linear warm-up, then a cosine from lr to min_lr
    that starts `cosine_start` of the way along (the published scheduler starts one epoch in and keeps going past
    min_lr, so its rate climbs back; `cosine_start` 0: from lr down to min_lr exactly at the last step)."""
    if step < spec.warmup_steps:
        return step / spec.warmup_steps
    progress = spec.cosine_start + (step - spec.warmup_steps) / max(1, steps - spec.warmup_steps)
    floor = spec.min_lr / spec.lr
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def build_optimizer(model: NanoEmoX, cfg: PipelineConfig, stage: Stage) -> tuple[torch.optim.Optimizer, object]:
    """AdamW, weight decay on matrices only; the phase's schedule (`lr_factor`)."""
    spec = cfg.train.phases[stage.data]
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": cfg.train.weight_decay},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=spec.lr, betas=(0.9, 0.999), fused=cfg.train.fused_adamw)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, functools.partial(lr_factor, spec, stage.steps))
    return optimizer, scheduler
