"""CPU threads on a shared machine: a short tiny training alone and beside two busy CPU loops (another job on the
same cores), with the thread policy (nanoemox/runtime/threads.py) and with torch's default of one thread per core; then
where intra-op threads pay: a training step and a generation step, tiny and full width, on 1 thread and on all.

    .venv/bin/python bench/threads_bench.py --steps 40
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the tests' helpers

from gpu_bench import RANDOM_INIT, phase3_batch

from nanoemox.config import load_config
from nanoemox.extract.job import ExtractOptions, run_extract
from nanoemox.model.nanoemox import NanoEmoX
from nanoemox.model.phases import set_trainable
from nanoemox.runtime.threads import available_cpus
from nanoemox.train.loop import Distributed, train_stage
from nanoemox.train.stages import plan_stages

from helpers import write_meld_corpus
from results import update_section

PHASE = ["train.phases.1-speech.datasets={mer: [meld]}", "train.log_every=1000", "train.save_every=1000"]


def spin() -> None:
    while True:
        pass


class BusyLoops:
    """`n` processes that keep a core busy each, as another job on the machine would."""

    def __init__(self, n: int):
        self.n = n

    def __enter__(self) -> BusyLoops:
        spawn = multiprocessing.get_context("spawn")  # not a fork of a process that holds Ray's core worker
        self.procs = [spawn.Process(target=spin, daemon=True) for _ in range(self.n)]
        for proc in self.procs:
            proc.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            proc.terminate()
            proc.join()


def training_seconds(shards: Path, out: Path, steps: int, threads: int | None) -> tuple[float, int]:
    """Wall seconds of phase 1-speech (model build, steps, checkpoint), and the threads it ran on."""
    overrides = [*PHASE, f"train.phases.1-speech.steps={steps}", f"runtime.threads={threads or 'null'}"]
    cfg = load_config(preset="tiny", overrides=overrides)
    [stage] = plan_stages(cfg, "p2e", "1", "speech")
    start = time.perf_counter()
    result = train_stage(cfg, stage, shards, out, False, Distributed())
    return time.perf_counter() - start, result.threads


def step_ms(model: NanoEmoX, batch, threads: int, steps: int) -> float:
    """Mean ms of a phase-3 forward + backward + AdamW step on `threads` threads, after one warm-up step."""
    torch.set_num_threads(threads)
    (ids, mask, labels), features = batch
    set_trainable(model, "3")
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)

    def step() -> None:
        model(ids, mask, features, labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps * 1000


def token_ms(model: NanoEmoX, batch: int, threads: int, tokens: int = 16) -> float:
    """Mean ms per generated token of the LM at `batch` prompts of 120 tokens (greedy), on `threads` threads."""
    torch.set_num_threads(threads)
    ids = torch.randint(0, 1000, (batch, 120))
    lm = model.lm.eval()
    with torch.inference_mode():
        lm.generate(input_ids=ids, max_new_tokens=2, min_new_tokens=2, do_sample=False)
        start = time.perf_counter()
        lm.generate(input_ids=ids, max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False)
    return (time.perf_counter() - start) / tokens * 1000


def width_rows(cpus: int, full_steps: int) -> list[str]:
    """Where threads pay, alone: ms on 1 thread and on every CPU for the tiny preset and the full width (the full
    preset's heads and LM width, 1 LM layer for the step and 2 for generation, random init)."""
    rows = []
    for name, preset, layers, steps in (("tiny", "tiny", None, 20), ("full width", "full", 1, full_steps)):
        extra = [f"model.lm.num_hidden_layers={layers}"] if layers else []
        cfg = load_config(preset=preset, overrides=RANDOM_INIT + extra)
        torch.manual_seed(0)
        model = NanoEmoX.from_config(cfg.model).train()
        batch = phase3_batch(model, cfg, 4 if preset == "tiny" else 1, "cpu")
        one, all_ = step_ms(model, batch, 1, steps), step_ms(model, batch, cpus, steps)
        rows.append(f"| {name}: phase-3 training step | {one:.1f} | {all_:.1f} | {one / all_:.2f} |")
        for size in (1, 8):
            one, all_ = token_ms(model, size, 1), token_ms(model, size, cpus)
            work = f"{name}: generation, batch {size} (ms a token)"
            rows.append(f"| {work} | {one:.1f} | {all_:.1f} | {one / all_:.2f} |")
        del model
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=40, help="training steps of the short tiny training")
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--full-steps", type=int, default=2, help="timed full-width training steps")
    args = parser.parse_args()
    cpus = available_cpus()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        cfg = load_config(preset="tiny", overrides=["extract.num_cpus=2"])
        root = write_meld_corpus(Path(tmp) / "meld", [{"seconds": 2.0}] * args.clips, split="train")
        shards = Path(tmp) / "shards"
        run_extract(cfg, ExtractOptions("meld", str(root), str(shards), split="train"))
        runs = {}
        for label, threads in (("policy", None), ("one per core (torch's default)", cpus)):
            for busy in (0, 2):
                with BusyLoops(busy):
                    out = Path(tmp) / f"heads-{len(runs)}"
                    runs[label, busy] = training_seconds(shards, out, args.steps, threads)
    rows = width_rows(cpus, args.full_steps)
    load_after = os.getloadavg()[0]
    train_rows = "\n".join(
        f"| {label} | {runs[label, 0][1]} | {runs[label, 0][0]:.1f} | {runs[label, 2][0]:.1f} | "
        f"**{runs[label, 2][0] / runs[label, 0][0]:.2f}x** |"
        for label in dict.fromkeys(label for label, _ in runs)
    )
    width_table = "\n".join(rows)
    body = f"""## CPU threads on a shared machine (tiny preset training; {cpus} CPUs available)

`.venv/bin/python bench/threads_bench.py --steps {args.steps} --clips {args.clips} --full-steps {args.full_steps}`:
phase 1-speech of the tiny preset, {args.steps} steps on {args.clips} extracted clips (model build, steps and
checkpoint), alone and beside two busy CPU loops (two processes spinning, as another job would); the machine's
load average was {load_before:.1f} at the start and {load_after:.1f} at the end (other people's jobs share it).

| torch threads | threads | alone (s) | beside 2 busy loops (s) | busy / alone |
|---|---|---|---|---|
{train_rows}

Fair share of two cores beside two busy loops is about 2x; the goal is <= 3x.

Where intra-op threads pay, alone (ms; a ratio above 1 means all {cpus} threads are faster than one):

| work | 1 thread | {cpus} threads | 1 / {cpus} |
|---|---|---|---|
{width_table}

The policy (`runtime.threads: null`, nanoemox/runtime/threads.py): one thread below an LM width of 1024 (the tiny
preset is 64), every available CPU from there on (the full preset, 1536); `--threads` or `runtime.threads` sets it,
OMP_NUM_THREADS is honoured.
"""
    update_section("threads", body)
    print(body)


if __name__ == "__main__":
    main()
