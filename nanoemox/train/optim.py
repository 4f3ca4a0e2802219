"""How a training step runs: AdamW and its schedule, precision, gradient checkpointing and torch.compile,
as the config's speed switches set them. Imports nothing the data pipeline needs, so bench/gpu_bench.py can use it."""

from __future__ import annotations

import torch
from transformers import get_cosine_with_min_lr_schedule_with_warmup

from nanoemox.config import PipelineConfig
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


def build_optimizer(model: NanoEmoX, cfg: PipelineConfig, stage: Stage) -> tuple[torch.optim.Optimizer, object]:
    """AdamW, weight decay on matrices only; linear warm-up, then cosine down to the phase's min_lr."""
    spec = cfg.train.phases[stage.data]
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": cfg.train.weight_decay},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=spec.lr, betas=(0.9, 0.999), fused=cfg.train.fused_adamw)
    scheduler = get_cosine_with_min_lr_schedule_with_warmup(
        optimizer, num_warmup_steps=spec.warmup_steps, num_training_steps=stage.steps, min_lr=spec.min_lr
    )
    return optimizer, scheduler
