"""Scoring throughput, tiny preset, CPU, one run: clips/s of the real scoring job (shards in, JSON lines out)
one clip at a time and in batches (left-padded batched generation), with clips sorted by prompt length
(score.sort_window) and as read; the share of prompt tokens that are padding; in process against Ray Data.

    .venv/bin/python bench/score_bench.py --clips 64
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch
from texts import realistic_record

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the tests' helpers

from nanoemox.config import load_config
from nanoemox.model.batching import generation_batch
from nanoemox.model.checkpoint import save_checkpoint
from nanoemox.model.nanoemox import NanoEmoX
from nanoemox.runtime.cluster import start_ray
from nanoemox.score.job import batches, score_in_process, score_on_ray
from nanoemox.shards.reader import iter_split
from nanoemox.tasks import asked_task

from helpers import write_feature_shards
from results import update_section

# task -> the dataset it is scored on: short labels, a candidate choice, a long chain of empathy + reply
TASKS = {"mer": "meld", "mir": "mintrec", "erg": "avamerg"}
# the full preset's (and the published code's) limit: AvaMERG-sized dialogues do not fit the tiny preset's 512
LENGTH = ["model.lm.max_length=1024"]


def clips_per_second(job, *args) -> float:
    summary = job(*args)
    return summary.written / summary.seconds


def padding(model: NanoEmoX, cfg, task: str, split: Path) -> float:
    """Share of the prompt tokens in the job's batches that are left padding."""
    chunks = batches(model, cfg, task, iter_split(split, cfg))
    masks = [generation_batch(model, [task] * len(c), c).text.attention_mask for c in chunks]
    return 1 - sum(int(m.sum()) for m in masks) / sum(m.numel() for m in masks)


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
        base = load_config(preset="tiny", overrides=LENGTH)
        shards, out = Path(tmp) / "shards", Path(tmp) / "predictions"
        out.mkdir()
        splits = {
            task: write_feature_shards(shards, name, "test", base, args.clips, make_record=realistic_record)
            for task, name in TASKS.items()
        }
        model = NanoEmoX.from_config(base.model).eval()
        checkpoint = save_checkpoint(model, base, Path(tmp) / "run" / "phase3")
        pads: dict[tuple[str, int, int], float] = {}
        sort = base.score.sort_window
        for size in sizes:
            for window in (sort, 1) if size > 1 else (sort,):
                sizes_set = [f"score.batch_size={size}", f"score.sort_window={window}"]
                cfg = load_config(preset="tiny", overrides=LENGTH + sizes_set)
                for task in TASKS:
                    job = (cfg, checkpoint, splits[task], [task], out / f"{size}-{window}-{task}.jsonl", "cpu")
                    rates[task, size, window] = clips_per_second(score_in_process, *job)
                    pads[task, size, window] = padding(model, cfg, task, splits[task])
        cfg = load_config(preset="tiny", overrides=[*LENGTH, f"score.batch_size={ray_size}"])
        many = write_feature_shards(shards, "meld", "dev", base, args.ray_clips, shard_size=64)
        alone = clips_per_second(score_in_process, cfg, checkpoint, many, ["mer"], out / "alone.jsonl", "cpu")
        start_ray(None)  # started before the clock, as on a running cluster
        on_ray = clips_per_second(score_on_ray, cfg, checkpoint, many, ["mer"], out / "ray.jsonl", None, 0)
    tokens = {
        task: base.score.max_new_tokens[asked_task(task, name, base.score.unibench_question)]
        for task, name in TASKS.items()
    }
    best, batched = max(sizes), [size for size in sizes if size > 1]
    header = " | ".join(f"clips/s, batch {size}" for size in sizes) + f" | clips/s, batch {best}, as read | "
    header += " | ".join(f"padding, batch {size}: sorted / as read" for size in batched)
    rows = "\n".join(
        f"| {task} on {name} ({tokens[task]} tokens max) | "
        + " | ".join(f"{rates[task, s, sort]:.1f}" for s in sizes)
        + f" | {rates[task, best, 1]:.1f} | "
        + " | ".join(f"{pads[task, s, sort]:.1%} / {pads[task, s, 1]:.1%}" for s in batched)
        + " |"
        for task, name in TASKS.items()
    )
    speedups = ", ".join(f"{t} {rates[t, best, sort] / rates[t, 1, sort]:.1f}x" for t in TASKS) if 1 in sizes else "-"
    sorting = ", ".join(f"{t} {rates[t, best, sort] / rates[t, best, 1]:.2f}" for t in TASKS)
    command = f"bench/score_bench.py --clips {args.clips} --batch-sizes {args.batch_sizes} --ray-clips {args.ray_clips}"
    body = f"""## Scoring (tiny preset, CPU)

`.venv/bin/python {command}`: the scoring job (`nanoemox-score` in process: shards read,
prompts built, greedy generation, answers parsed, JSON lines written) on {args.clips} clips of synthetic feature
shards per task with texts of realistic lengths (`bench/texts.py`), randomly initialised tiny model (its answers
run to the token limit: it never writes the end marker or EOS, so no batch can stop early here). Clips sorted by
prompt length within `score.sort_window` = {sort} batches, and as read (`score.sort_window=1`). Padding: the share
of prompt tokens in the job's batches that are left padding.

| task | {header} |
|---|{"---|" * (len(sizes) + 1 + len(batched))}
{rows}

- Batch {best} / batch 1: **{speedups}**.
- Batch {best}, sorted / as read: {sorting} (the tiny LM's step cost hardly depends on the width; padding is
  compute a full-size LM pays for).
- A batch stops once every row has written the answer end marker or EOS (Hugging Face `generate` stops when all
  rows are finished; `stop_strings` ends a row at the marker): `tests/score/test_score_batches.py` checks that
  rows ending at steps 1 and 3 cost 3 LM steps, not the 20 allowed.
- {args.ray_clips} clips of mer, batch {ray_size}: in process {alone:.1f} clips/s; through Ray Data (`--num-gpus 0`:
  one CPU actor, Ray already running, the actor's start and model load inside the timed run) {on_ray:.1f} clips/s,
  ratio **{on_ray / alone:.2f}**. Ray is for many GPUs (one actor and model each); on one machine the in-process
  job is the fast path.
"""
    update_section("score", body)
    print(body)


if __name__ == "__main__":
    main()
