"""Training throughput, tiny preset, CPU, one run: samples/s streaming from shards, from batches already in
memory (the loader's overhead), and the published code's way (decode clips and run the frozen encoders on
every step), all with the same model and the same phase-3 step.

    .venv/bin/python bench/train_bench.py --steps 30
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the tests' helpers

from nanoemox.config import load_config
from nanoemox.datasets import open_dataset
from nanoemox.extract.encode import EncodeStage, encoded_samples
from nanoemox.extract.job import ExtractOptions, run_extract
from nanoemox.extract.stages import DecodeStage
from nanoemox.model.batching import collate_training, training_examples
from nanoemox.model.nanoemox import NanoEmoX
from nanoemox.model.phases import set_trainable
from nanoemox.train.data import LengthGroupedBatches, Prefetcher, TaskMixer, phase_sources

from helpers import training_batch, write_meld_corpus
from results import update_section

PHASE = ["train.phases.3.tasks={mer: 1}", "train.phases.3.datasets={mer: [meld]}", "extract.num_cpus=2"]


def timed_steps(model: NanoEmoX, batches, steps: int) -> float:
    """samples/s of `steps` optimizer steps, each fed by the next batch from `batches`."""
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    samples, start = 0, time.perf_counter()
    for batch in islice(batches, steps):
        loss = model(batch.text.input_ids, batch.text.attention_mask, batch.features, batch.text.labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        samples += len(batch.tasks)
    return samples / (time.perf_counter() - start)


def from_shards(model, mixer, cfg, batch_size):
    """As the training loop feeds itself: length-grouped windows of examples tokenized once, the next batch
    collated in a background thread."""
    grouped = LengthGroupedBatches(
        mixer, batch_size, cfg.train.length_window, lambda ex: training_examples(model, ex), cfg.train.seed
    )
    prefetch = Prefetcher(lambda: collate_training(next(grouped), model.tokenizer.pad_token_id), grouped.state)
    try:
        while True:
            yield prefetch.next()[0]
    finally:  # the thread stops when the bench drops this feed
        prefetch.close()


def from_video(model, cfg, records, batch_size):
    """The published code's way: every step decodes its clips and runs the frozen encoders again."""
    decode, encode = DecodeStage(cfg), EncodeStage(cfg)
    position = 0
    while True:
        chunk = [records[(position + i) % len(records)] for i in range(batch_size)]
        position += batch_size
        rows = [decode.process(r) for r in chunk]
        samples = encoded_samples(encode({key: [row[key] for row in rows] for key in rows[0]}))
        yield training_batch(model, [("mer", s) for s in samples])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--clips", type=int, default=32)
    parser.add_argument("--video-steps", type=int, default=20, help="steps of the decode-every-step feed (slow)")
    parser.add_argument("--threads", type=int, help="torch threads for the steps (default: torch's, all cores)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = load_config(preset="tiny", overrides=PHASE)
    torch.manual_seed(0)
    model = NanoEmoX.from_config(cfg.model).train()
    set_trainable(model, "3")
    with tempfile.TemporaryDirectory() as tmp:
        root = write_meld_corpus(Path(tmp) / "meld", [{"seconds": 3.0, "fps": 25}] * args.clips, split="train")
        shards = Path(tmp) / "shards"
        run_extract(cfg, ExtractOptions("meld", str(root), str(shards), split="train"))
        mixer = TaskMixer(phase_sources(shards, cfg, "3"), seed=0, buffer=16)
        in_memory = [training_batch(model, list(islice(iter(mixer), args.batch_size))) for _ in range(args.steps)]
        timed_steps(model, iter(in_memory), 3)  # warm-up
        memory_rate = timed_steps(model, iter(in_memory), args.steps)
        feed = from_shards(model, mixer, cfg, args.batch_size)
        timed_steps(model, feed, 3)  # warm-up: the prefetch thread has started and drawn its first window
        shard_rate = timed_steps(model, feed, args.steps)
        records = list(open_dataset("meld", root).read("train"))
        feed = from_video(model, cfg, records, args.batch_size)
        timed_steps(model, feed, 1)  # warm-up: the decode worker and the encoders have started
        video_rate = timed_steps(model, feed, args.video_steps)
    threads_flag = f" --threads {args.threads}" if args.threads else ""
    body = f"""## Training (tiny preset, CPU, {torch.get_num_threads()} torch threads)

`.venv/bin/python bench/train_bench.py --steps {args.steps} --batch-size {args.batch_size}{threads_flag}`: phase-3 steps
(heads + LoRA trainable), batch {args.batch_size}, the same model for all three feeds; {args.steps} timed steps per feed
({args.video_steps} for decoding every step) after a few untimed ones, so each feed's start is left out.

| feed | samples/s |
|---|---|
| batches already in memory | {memory_rate:.1f} |
| streaming from shards (webdataset, task mixer, length groups, collate, prefetched as in training) | {shard_rate:.1f} |
| decoding clips + frozen encoders every step (the published code's way) | {video_rate:.1f} |

- Shards / in memory: **{shard_rate / memory_rate:.2f}** (target >= 0.95).
- Shards / decode-every-step: **{shard_rate / video_rate:.1f}x** faster, with the tiny encoders; with the full
  CLIP-L, HuBERT-L and FaceXFormer the gap grows (see the GPU section).
- The paper: 345,000 steps of batch 3 in 32 h on one RTX 4090, about 9 samples/s if each step sees one batch
  (the published code; FIDELITY.md), 36 with the paper's gradient accumulation 4.
"""
    update_section("train", body)
    print(body)


if __name__ == "__main__":
    main()
