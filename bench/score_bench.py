"""Scoring throughput, tiny preset, CPU, one run: clips/s of the real scoring job (shards in, JSON lines out)
one clip at a time and in batches (left-padded batched generation), and in process against the Ray Data path.

    .venv/bin/python bench/score_bench.py --clips 64
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from results import update_section

from nanoemox.cluster import start_ray
from nanoemox.config import load_config
from nanoemox.model.checkpoint import save_checkpoint
from nanoemox.model.nanoemox import NanoEmoX
from nanoemox.score.job import score_in_process, score_on_ray
from nanoemox.synth import write_feature_shards

# task -> the dataset it is scored on: short labels, a candidate choice, a long chain of empathy + reply
TASKS = {"mer": "meld", "mir": "mintrec", "erg": "avamerg"}


def clips_per_second(job, *args) -> float:
    summary = job(*args)
    return summary.written / summary.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clips", type=int, default=64)
    parser.add_argument("--batch-sizes", default="1,8,32")
    parser.add_argument("--ray-clips", type=int, default=512, help="mer clips for the in-process vs Ray comparison")
    args = parser.parse_args()
    sizes = [int(size) for size in args.batch_sizes.split(",")]
    ray_size = 8 if 8 in sizes else sizes[-1]
    torch.manual_seed(0)
    rates: dict[tuple[str, int], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = load_config(preset="tiny")
        shards, out = Path(tmp) / "shards", Path(tmp) / "predictions"
        out.mkdir()
        splits = {task: write_feature_shards(shards, name, "test", base, args.clips) for task, name in TASKS.items()}
        checkpoint = save_checkpoint(NanoEmoX.from_config(base.model).eval(), base, Path(tmp) / "run" / "phase3")
        for size in sizes:
            cfg = load_config(preset="tiny", overrides=[f"score.batch_size={size}"])
            for task in TASKS:
                job = (cfg, checkpoint, splits[task], [task], out / f"{size}-{task}.jsonl", "cpu")
                rates[task, size] = clips_per_second(score_in_process, *job)
        cfg = load_config(preset="tiny", overrides=[f"score.batch_size={ray_size}"])
        many = write_feature_shards(shards, "meld", "dev", base, args.ray_clips, shard_size=64)
        alone = clips_per_second(score_in_process, cfg, checkpoint, many, ["mer"], out / "alone.jsonl", "cpu")
        start_ray(None)  # started before the clock, as on a running cluster
        on_ray = clips_per_second(score_on_ray, cfg, checkpoint, many, ["mer"], out / "ray.jsonl", None, 0)
    tokens = base.score.max_new_tokens
    header = " | ".join(f"clips/s, batch {size}" for size in sizes)
    rows = "\n".join(
        f"| {task} on {name} ({tokens[task]} tokens max) | " + " | ".join(f"{rates[task, s]:.1f}" for s in sizes) + " |"
        for task, name in TASKS.items()
    )
    best = max(sizes)
    speedups = ", ".join(f"{task} {rates[task, best] / rates[task, 1]:.1f}x" for task in TASKS) if 1 in sizes else "-"
    command = f"bench/score_bench.py --clips {args.clips} --batch-sizes {args.batch_sizes} --ray-clips {args.ray_clips}"
    body = f"""## Scoring (tiny preset, CPU)

`.venv/bin/python {command}`: the scoring job (`nanoemox-score` in process: shards read,
prompts built, greedy generation, answers parsed, JSON lines written) on {args.clips} clips of synthetic feature
shards per task, randomly initialised tiny model (its answers run to the token limit more often than a trained
model's).

| task | {header} |
|---|{"---|" * len(sizes)}
{rows}

- Batch {best} / batch 1: **{speedups}**.
- {args.ray_clips} clips of mer, batch {ray_size}: in process {alone:.1f} clips/s; through Ray Data (`--num-gpus 0`:
  one CPU actor, Ray already running, the actor's start and model load inside the timed run) {on_ray:.1f} clips/s,
  ratio **{on_ray / alone:.2f}**. Ray is for many GPUs (one actor and model each); on one machine the in-process
  job is the fast path.
"""
    update_section("score", body)
    print(body)


if __name__ == "__main__":
    main()
