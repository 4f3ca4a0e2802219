"""GPU benchmark, full preset with random-init weights (no download): extraction encoders, training steps of
each phase, and batched generation.

Run on a GPU machine through bench/gpu.sh; appends a section to bench/RESULTS.md named after the GPU.
Decoding and face detection run on CPU workers and are measured by bench/extract_bench.py; here the encoders
get already-decoded clips, so the figure is clips/s per GPU for the encode stage and the GPU busy fraction.
`--device cpu --preset tiny` runs the same code as a quick check on a CPU (nothing is recorded).
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import threading
import time

import numpy as np
import torch
from results import update_section

from nanoemox.config import cached_layers, load_config
from nanoemox.extract.features import FeatureEncoder
from nanoemox.model.inputs import encode_for_generation, encode_for_training
from nanoemox.model.nanoemox import ModalityFeatures, NanoEmoX, present_modalities
from nanoemox.model.phases import set_trainable
from nanoemox.model.prompts import build_answer, build_prompt

RANDOM_INIT = [f"model.encoders.{name}.init=random" for name in ("clip", "hubert", "face")] + ["model.lm.init=random"]
PEAK_BF16_FLOPS = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L40S": 362e12, "4090": 165e12}


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


def bench_encoders(cfg, device: str, batch: int, steps: int) -> dict[str, float]:
    encoder = FeatureEncoder(cfg.model.encoders, device)
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (batch, 8, 224, 224, 3), dtype=np.uint8)
    windows = rng.standard_normal((batch, 8, 32000)).astype(np.float32)
    mask = np.ones((batch, 8), bool)

    def step() -> None:
        encoder.frames(frames)
        encoder.speech(windows)
        encoder.faces(frames, mask)

    step()
    seconds, peak, busy = timed(step, steps, device)
    return {"clips/s": batch * steps / seconds, "gpu busy": busy, "peak GiB": peak}


def timed(step, steps: int, device: str) -> tuple[float, float, float]:
    """Seconds for `steps` calls after one warm-up, peak GPU memory (GiB) and the GPU busy fraction."""
    cuda = device.startswith("cuda")
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


def random_batch(model: NanoEmoX, cfg, batch: int, device: str, task: str = "mer"):
    """Features in the shard layout, and the prompts for what each clip has."""
    enc, heads = cfg.model.encoders, cfg.model.heads
    features = ModalityFeatures(
        clip=torch.randn(batch, heads.frames, len(cached_layers(enc.clip)), enc.clip.hidden_size).half(),
        hubert=torch.randn(batch, heads.windows, len(cached_layers(enc.hubert)), enc.hubert.hidden_size).half(),
        face=torch.randn(batch, heads.frames, enc.face.out_dim).half(),
        face_mask=torch.ones(batch, heads.frames, dtype=torch.bool),
        has_video=torch.ones(batch, dtype=torch.bool),
        has_audio=torch.ones(batch, dtype=torch.bool),
    ).to(device)
    present = present_modalities(features, heads.modalities)
    prompts = [build_prompt(task, p, model.token_counts, "I can't believe you did that!") for p in present]
    return prompts, features


def peak_flops(device: str) -> float:
    if not device.startswith("cuda"):
        return float("nan")
    name = torch.cuda.get_device_name()
    return next((value for key, value in PEAK_BF16_FLOPS.items() if key in name), 989e12)


def bench_training(cfg, device: str, batch: int, steps: int) -> dict[str, dict[str, float]]:
    """Per phase: samples/s, step time, peak memory, model FLOPs utilisation (bf16 autocast)."""
    torch.manual_seed(0)
    model = NanoEmoX.from_config(cfg.model, device)
    prompts, features = random_batch(model, cfg, batch, device)
    answers = [build_answer("mer", emotion="surprise")] * batch
    encoded = encode_for_training(model.tokenizer, prompts, answers, cfg.model.lm.max_length)
    ids, mask, labels = (t.to(device) for t in (encoded.input_ids, encoded.attention_mask, encoded.labels))
    lm_params = sum(p.numel() for p in model.lm.parameters())
    results = {}
    for phase in ("1-speech", "1-visual", "2", "3"):
        set_trainable(model, phase)
        trainable = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(trainable, lr=1e-5)

        def step(optimizer: torch.optim.Optimizer = optimizer) -> None:
            with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=device.startswith("cuda")):
                loss = model(ids, mask, features, labels).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        seconds, peak, _ = timed(step, steps, device)
        # forward 2NT + activation gradients 2NT through the frozen LM + weight gradients 2N'T of what trains
        flops = (4 * lm_params + 2 * sum(p.numel() for p in trainable)) * ids.numel() * steps
        results[phase] = {
            "samples/s": batch * steps / seconds,
            "step ms": 1000 * seconds / steps,
            "peak GiB": peak,
            "mfu": flops / seconds / peak_flops(device),
        }
    return results


def bench_generation(cfg, device: str, batch: int, new_tokens: int) -> float:
    """Batched greedy generation of `new_tokens` tokens: clips/s."""
    torch.manual_seed(0)
    model = NanoEmoX.from_config(cfg.model, device).eval()
    texts, features = random_batch(model, cfg, batch, device)
    prompts = encode_for_generation(model.tokenizer, texts, cfg.model.lm.max_length)
    ids, mask = prompts.input_ids.to(device), prompts.attention_mask.to(device)

    def step() -> None:
        with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=device.startswith("cuda")):
            model.generate(ids, mask, features, new_tokens)

    seconds, _, _ = timed(step, 3, device)
    return 3 * batch / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=32, help="clips per encoder batch")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--train-batch", type=int, default=3, help="the paper's batch size")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--preset", default="full")
    args = parser.parse_args()
    cfg = load_config(preset=args.preset, overrides=RANDOM_INIT)
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"
    extract = bench_encoders(cfg, args.device, args.batch, args.steps)
    train = bench_training(cfg, args.device, args.train_batch, args.steps)
    generate = bench_generation(cfg, args.device, 16, 32)
    rows = "\n".join(
        f"| training phase {p}, batch {args.train_batch} | {r['samples/s']:.1f} samples/s | {r['step ms']:.0f} ms/step "
        f"| {r['peak GiB']:.1f} GiB | MFU {r['mfu']:.1%} |"
        for p, r in train.items()
    )
    extract_row = (
        f"| extraction encoders (CLIP-L/14 + HuBERT-L + FaceXFormer) | {extract['clips/s']:.1f} clips/s | "
        f"| {extract['peak GiB']:.1f} GiB | GPU busy {extract['gpu busy']:.0%} |"
    )
    body = f"""## GPU: {name}

`bash bench/gpu.sh` (preset {args.preset}, random-init weights; encoders fp16, training bf16 autocast).
MFU counts forward 2NT + activation gradients 2NT through the frozen LM + weight gradients 2N'T of the
trainable part, against the GPU's dense bf16 peak.

| stage | throughput | time | peak memory | |
|---|---|---|---|---|
{extract_row}
{rows}
| scoring: batched greedy generation, 16 clips x 32 new tokens | {generate:.1f} clips/s | | | |

The paper trains 345,000 steps of batch 3 in 32 h on one RTX 4090: about 9 samples/s if each step sees one batch
(the published code; FIDELITY.md), 36 with the paper's gradient accumulation 4.
"""
    if args.device.startswith("cuda"):
        update_section(f"gpu-{name.replace(' ', '-')}", body)
    print(body)


if __name__ == "__main__":
    main()
