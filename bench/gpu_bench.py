"""GPU benchmark, full preset with random-init weights (no download), one call of bench/gpu.sh under 8 minutes:
extraction encoders (clips/s per GPU, GPU-busy fraction), phase-3 training at the paper's batch 3 and at the
batch that fills the card (samples/s, MFU, peak memory), the effect of each speed switch, phases 1-2 at batch 3,
and scoring clips/s per task.

Decoding and face detection run on CPU workers (bench/extract_bench.py); here the encoders get decoded clips.
Phase-3 batches are built as training builds them: the phase's task mix, texts of realistic lengths
(bench/texts.py), length-grouped. Each row says which steps it ran; anything that would overrun the time budget
is skipped and says so. `--device cpu --preset tiny` runs the same code on a CPU in a minute
(tests/bench/test_gpu_bench.py runs it; nothing is recorded).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import math
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from texts import realistic_record

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the tests' helpers

from nanoemox.config import PipelineConfig, cached_layers, load_config
from nanoemox.datasets.record import Record
from nanoemox.extract.features import FeatureEncoder
from nanoemox.model.inputs import OverLength, encode_for_generation, training_ids
from nanoemox.model.nanoemox import NanoEmoX
from nanoemox.model.phases import set_trainable
from nanoemox.shards.sample import ModalityFeatures
from nanoemox.tasks import answer_for, prompt_for
from nanoemox.train.optim import autocast_and_scaler, build_optimizer, speed_switches
from nanoemox.train.stages import Stage

from helpers import encode_for_training, generate_texts
from results import update_section

RANDOM_INIT = [f"model.encoders.{name}.init=random" for name in ("clip", "hubert", "face")] + ["model.lm.init=random"]
PEAK_BF16_FLOPS = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L40S": 362e12, "4090": 165e12}
TASK_DATASET = {"mer": "meld", "ov-mer": "mer-caption+", "mir": "mintrec", "eri": "mer-caption+", "erg": "avamerg"}
SWITCHES = {  # measured one at a time against the defaults, in this order (checkpointing stays on once set)
    "train.precision=fp32 (no autocast)": ["train.precision=fp32"],
    "model.lm.attn_implementation=eager": ["model.lm.attn_implementation=eager"],
    "train.fused_adamw=false": ["train.fused_adamw=false"],
    "train.compile=true": ["train.compile=true"],
    "train.gradient_checkpointing=true": ["train.gradient_checkpointing=true"],
}


class Budget:
    """Seconds left of the run's time budget."""

    def __init__(self, seconds: float):
        self.end = time.perf_counter() + seconds

    def left(self) -> float:
        return self.end - time.perf_counter()


class GpuBusy:
    """Fraction of samples in which nvidia-smi reports the GPU busy."""

    def __enter__(self) -> GpuBusy:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        query = ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"]
        while not self._stop.wait(0.1):
            out = subprocess.run(query, capture_output=True, text=True).stdout.split()
            if out:
                self.samples.append(float(out[0]) / 100)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def fraction(self) -> float:
        return float(np.mean(self.samples)) if self.samples else float("nan")


def timed(step: Callable[[], None], steps: int, device: str, warmup: int = 1) -> tuple[float, float, float]:
    """Seconds for `steps` calls after `warmup` calls, peak GPU memory (GiB) and the GPU busy fraction."""
    cuda = device.startswith("cuda")
    for _ in range(warmup):
        step()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    with GpuBusy() if cuda else contextlib.nullcontext() as busy:
        start = time.perf_counter()
        for _ in range(steps):
            step()
        if cuda:
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else float("nan")
    return seconds, peak, busy.fraction if cuda else float("nan")


def free_memory(device: str) -> None:
    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()


def bench_encoders(cfg: PipelineConfig, device: str, batch: int, steps: int) -> dict[str, float]:
    encoder = FeatureEncoder(cfg.model.encoders, device)
    rng = np.random.default_rng(0)
    size = cfg.model.encoders.clip.image_size
    frames = rng.integers(0, 255, (batch, cfg.model.heads.frames, size, size, 3), dtype=np.uint8)
    windows = rng.standard_normal((batch, cfg.model.heads.windows, 32000)).astype(np.float32)
    mask = np.ones((batch, cfg.model.heads.frames), bool)

    def step() -> None:
        encoder.frames(frames)
        encoder.speech(windows)
        encoder.faces(frames, mask)

    seconds, peak, busy = timed(step, steps, device)
    return {"clips/s": batch * steps / seconds, "gpu busy": busy, "peak GiB": peak}


def random_features(cfg: PipelineConfig, batch: int, device: str) -> ModalityFeatures:
    """Features in the shard layout (float16), every modality present."""
    enc, heads = cfg.model.encoders, cfg.model.heads
    return ModalityFeatures(
        clip=torch.randn(batch, heads.frames, len(cached_layers(enc.clip)), enc.clip.hidden_size).half(),
        hubert=torch.randn(batch, heads.windows, len(cached_layers(enc.hubert)), enc.hubert.hidden_size).half(),
        face=torch.randn(batch, heads.frames, enc.face.out_dim).half(),
        face_mask=torch.ones(batch, heads.frames, dtype=torch.bool),
        has_video=torch.ones(batch, dtype=torch.bool),
        has_audio=torch.ones(batch, dtype=torch.bool),
    ).to(device)


def examples(cfg: PipelineConfig, count: int, seed: int, tasks: dict[str, float]) -> list[tuple[str, Record]]:
    """(task, record) pairs drawn with the tasks' weights, texts of realistic lengths."""
    rng = random.Random(seed)
    drawn = rng.choices(list(tasks), list(tasks.values()), k=count)
    stored = [realistic_record(TASK_DATASET[task], "train", seed * count + i, i) for i, task in enumerate(drawn)]
    return [(task, Record.from_dict(record)) for task, record in zip(drawn, stored, strict=True)]


def length(model: NanoEmoX, prompt: str, answer: str, max_length: int) -> float:
    """Tokens of a training example; an over-length one (training skips it) sorts last, outside the batch taken."""
    try:
        return sum(map(len, training_ids(model.tokenizer, prompt, answer, max_length)))
    except OverLength:
        return math.inf


def phase3_batch(model: NanoEmoX, cfg: PipelineConfig, batch: int, device: str):
    """A length-grouped phase-3 batch: the middle batch of a 16-batch window sorted by length."""
    window = examples(cfg, 16 * batch, batch, cfg.train.phases["3"].tasks)
    modalities = cfg.model.heads.modalities
    prompts = [prompt_for(task, record, modalities, model.token_counts) for task, record in window]
    answers = [answer_for(task, record) for task, record in window]
    max_length = cfg.model.lm.max_length
    lengths = [length(model, p, a, max_length) for p, a in zip(prompts, answers, strict=True)]
    order = sorted(range(len(window)), key=lengths.__getitem__)[8 * batch : 9 * batch]
    text = encode_for_training(model.tokenizer, [prompts[i] for i in order], [answers[i] for i in order], max_length)
    tensors = tuple(t.to(device) for t in (text.input_ids, text.attention_mask, text.labels))
    return tensors, random_features(cfg, batch, device)


def peak_flops(device: str) -> float:
    if not device.startswith("cuda"):
        return float("nan")
    name = torch.cuda.get_device_name()
    return next((value for key, value in PEAK_BF16_FLOPS.items() if key in name), 989e12)


def bench_step(model, cfg, device: str, batch: int, steps: int, phase: str = "3", trained=None) -> dict[str, float]:
    """One optimizer step per batch, as the training loop takes it, with `cfg`'s speed switches."""
    free_memory(device)  # what the previous measurement left
    set_trainable(model, phase)
    optimizer, _ = build_optimizer(model, cfg, Stage(f"phase{phase}", phase, phase, 10**6, None))
    autocast, scaler = autocast_and_scaler(device, cfg.train.precision)
    trained = trained or model
    (ids, mask, labels), features = phase3_batch(model, cfg, batch, device)

    def step() -> None:
        with autocast:
            loss = trained(ids, mask, features, labels).loss
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)

    seconds, peak, busy = timed(step, steps, device)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    lm_params = sum(p.numel() for p in model.lm.parameters())
    # forward 2NT + activation gradients 2NT through the frozen LM + weight gradients 2N'T of what trains
    tokens = ids.numel()
    flops = (4 * lm_params + 2 * trainable) * tokens * steps
    return {
        "batch": batch,
        "samples/s": batch * steps / seconds,
        "tokens/sample": tokens / batch,
        "step ms": 1000 * seconds / steps,
        "peak GiB": peak,
        "mfu": flops / seconds / peak_flops(device),
        "busy": busy,
        "steps": steps,
    }


def fill_batch(model, cfg, device: str, start: int, limit: int, budget: Budget) -> tuple[int, list[str]]:
    """The largest batch (doubling from `start`) whose step fits in 85% of the GPU memory."""
    total = torch.cuda.get_device_properties(0).total_memory / 2**30 if device.startswith("cuda") else float("inf")
    best, tried, size = start, [], start
    while size <= limit and budget.left() > 120:
        try:
            peak = bench_step(model, cfg, device, size, 1)["peak GiB"]
        except torch.OutOfMemoryError:
            tried.append(f"{size}: out of memory")
            free_memory(device)
            break
        tried.append(f"{size}: {peak:.0f} GiB")
        best = size
        if peak > 0.85 * total / 2:  # the next doubling would not fit
            break
        size *= 2
    return best, tried


def bench_generation(model, cfg, device: str, task: str, batch: int, new_tokens: int) -> float:
    """Batched greedy generation of up to `new_tokens` tokens for one task: clips/s."""
    drawn = examples(cfg, batch, 7, {task: 1.0})
    prompts = [prompt_for(t, r, cfg.model.heads.modalities, model.token_counts) for t, r in drawn]
    text = encode_for_generation(model.tokenizer, prompts, cfg.model.lm.max_length)
    ids, mask, features = text.input_ids.to(device), text.attention_mask.to(device), random_features(cfg, batch, device)

    def step() -> None:
        with torch.inference_mode():
            generate_texts(model, ids, mask, features, new_tokens)

    seconds, _, _ = timed(step, 1, device, warmup=0)
    return batch / seconds


def training_row(name: str, r: dict[str, float]) -> str:
    return (
        f"| {name} | {r['batch']} | {r['tokens/sample']:.0f} | {r['samples/s']:.1f} | {r['step ms']:.0f} | "
        f"{r['peak GiB']:.1f} | {r['mfu']:.1%} | {r['steps']} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--preset", default="full")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per training measurement")
    parser.add_argument("--encoder-batch", type=int, default=32)
    parser.add_argument("--max-batch", type=int, default=512, help="largest phase-3 batch tried")
    parser.add_argument("--score-batch", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=None, help="cap on score.max_new_tokens (dry runs)")
    parser.add_argument("--budget-s", type=float, default=400)
    args = parser.parse_args()
    budget, cuda = Budget(args.budget_s), args.device.startswith("cuda")
    cfg = load_config(preset=args.preset, overrides=RANDOM_INIT)
    name = torch.cuda.get_device_name() if cuda else "cpu"
    enc = bench_encoders(cfg, args.device, args.encoder_batch, max(1, args.steps // 2))
    free_memory(args.device)
    torch.manual_seed(0)
    model = NanoEmoX.from_config(cfg.model, args.device).train()
    rows = [training_row("phase 3, defaults, the paper's batch", bench_step(model, cfg, args.device, 3, args.steps))]
    fill, tried = fill_batch(model, cfg, args.device, min(8, args.max_batch), args.max_batch, budget)
    big = bench_step(model, cfg, args.device, fill, max(1, args.steps // 2))
    rows.append(training_row("phase 3, defaults, batch that fills the card", big))
    few = max(1, args.steps // 3)  # timed steps for each switch and phase row
    model.eval()
    scoring = []
    for task, dataset in TASK_DATASET.items():
        tokens = min(cfg.score.max_new_tokens[task], args.max_new_tokens or 10**9)
        if budget.left() < 90:
            scoring.append(f"| {task} on {dataset} | {tokens} | skipped: time budget |")
            continue
        rate = bench_generation(model, cfg, args.device, task, args.score_batch, tokens)
        scoring.append(f"| {task} on {dataset} | {tokens} | {rate:.1f} |")
    model.train()
    for switch, overrides in SWITCHES.items():
        if budget.left() < (150 if "compile" in switch else 45) or ("compile" in switch and not cuda):
            reason = "time budget" if cuda else "not on CPU (it would time the C++ compiler)"
            rows.append(f"| phase 3, {switch} | {fill} | skipped: {reason} | | | | | |")
            continue
        varied = load_config(preset=args.preset, overrides=RANDOM_INIT + overrides)
        model.lm.get_base_model().set_attn_implementation(varied.model.lm.attn_implementation)
        trained = speed_switches(model, varied, model)
        rows.append(
            training_row(f"phase 3, {switch}", bench_step(model, varied, args.device, fill, few, trained=trained))
        )
        model.lm.get_base_model().set_attn_implementation(cfg.model.lm.attn_implementation)
    for phase in ("1-speech", "1-visual", "2"):
        if budget.left() < 30:
            rows.append(f"| phase {phase} | 3 | skipped: time budget | | | | | |")
            continue
        rows.append(training_row(f"phase {phase}", bench_step(model, cfg, args.device, 3, few, phase)))
    encoder_row = (
        f"| extraction encoders (CLIP-L/14 + HuBERT-L + FaceXFormer), batch {args.encoder_batch} | "
        f"{enc['clips/s']:.1f} | {enc['gpu busy']:.0%} | {enc['peak GiB']:.1f} GiB |"
    )
    body = f"""## GPU: {name}

`bash bench/gpu.sh --steps {args.steps} --score-batch {args.score_batch}` (preset {args.preset}, random-init weights).
Encoders fp16. Training: one optimizer step per batch (accumulation 1: samples/s do not depend on it; the
paper's step of 12 samples is 4 of these batches), the defaults being bf16 autocast, SDPA attention, fused AdamW,
no compile, no checkpointing; each switch row changes one key from the defaults (checkpointing, measured last,
stays on for the phase 1-2 rows). Phase-3 batches: the 18:28:5:31:18 task mix, texts of realistic lengths,
length-grouped. MFU counts forward 2NT + activation gradients 2NT through the frozen LM + weight gradients 2N'T of
the trainable part (heads' own FLOPs left out), T the batch's tokens padding included, against the GPU's dense
bf16 peak. Batch search (85% of memory): {", ".join(tried)}.

| stage | clips/s | GPU busy | peak memory |
|---|---|---|---|
{encoder_row}

| training | batch | tokens/sample | samples/s | ms/step | peak GiB | MFU | timed steps |
|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Scoring: batched greedy generation, batch {args.score_batch}; the random-init LM never ends early, so every row
runs to the task's token limit (the worst case; a trained model stops at its answer end).

| task | new tokens | clips/s |
|---|---|---|
{chr(10).join(scoring)}

The paper trains 345,000 steps of batch 3 in 32 h on one RTX 4090: about 9 samples/s if each step sees one batch
(the published code; FIDELITY.md), 36 with the paper's gradient accumulation 4.
"""
    if cuda:
        update_section(f"gpu-{name.replace(' ', '-')}", body)
    print(body)


if __name__ == "__main__":
    main()
