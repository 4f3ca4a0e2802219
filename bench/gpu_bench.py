"""GPU benchmark, full preset with random-init weights (no download): the frozen encoders' extraction throughput.

Run on a GPU machine through bench/gpu.sh; appends a section to bench/RESULTS.md named after the GPU.
Decoding and face detection run on CPU workers and are measured by bench/extract_bench.py; here the encoders
get already-decoded clips, so the figure is clips/s per GPU for the encode stage and the GPU busy fraction.
"""

from __future__ import annotations

import argparse
import subprocess
import threading
import time

import numpy as np
import torch
from results import update_section

from nanoemox.config import load_config
from nanoemox.extract.features import FeatureEncoder

RANDOM_ENCODERS = [f"model.encoders.{name}.init=random" for name in ("clip", "hubert", "face")]


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


def bench_encoders(batch: int, steps: int) -> dict[str, float]:
    cfg = load_config(overrides=RANDOM_ENCODERS)
    encoder = FeatureEncoder(cfg.model.encoders, "cuda")
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (batch, 8, 224, 224, 3), dtype=np.uint8)
    windows = rng.standard_normal((batch, 8, 32000)).astype(np.float32)
    mask = np.ones((batch, 8), bool)

    def step() -> None:
        encoder.frames(frames)
        encoder.speech(windows)
        encoder.faces(frames, mask)

    step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    with GpuBusy() as busy:
        start = time.perf_counter()
        for _ in range(steps):
            step()
        torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    return {
        "clips/s": batch * steps / seconds,
        "gpu busy": busy.fraction,
        "peak GiB": torch.cuda.max_memory_allocated() / 2**30,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    name = torch.cuda.get_device_name()
    extract = bench_encoders(args.batch, args.steps)
    body = f"""## GPU: {name}

`bash bench/gpu.sh` (full preset, random-init weights, fp16 encoders).

| stage | figure |
|---|---|
| extraction encoders (CLIP-L/14 + HuBERT-L + FaceXFormer), clips/s per GPU | {extract["clips/s"]:.1f} |
| GPU busy during encoding | {extract["gpu busy"]:.0%} |
| peak GPU memory, encoding batch {args.batch} | {extract["peak GiB"]:.1f} GiB |
"""
    update_section(f"gpu-{name.replace(' ', '-')}", body)
    print(body)


if __name__ == "__main__":
    main()
