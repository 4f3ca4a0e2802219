"""Score a shard split: batched generation per task, one JSON line per (clip, task); re-running resumes.

In process by default; with `--num-gpus` or `--address`, shards are spread over Ray Data actors (one model
per GPU) and the driver writes the lines.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import torch

from nanoemox import storage
from nanoemox.batching import generation_batch, prompt_lengths
from nanoemox.cluster import start_ray
from nanoemox.config import PipelineConfig
from nanoemox.eval.parse import parse_emotions, parse_erg, parse_intent
from nanoemox.files import jsonl_objects
from nanoemox.model.checkpoint import load_checkpoint
from nanoemox.model.nanoemox import NanoEmoX
from nanoemox.progress import progress
from nanoemox.shards.reader import DECODER, ShardSample, all_samples, checked_index, iter_split, shard_urls, to_sample
from nanoemox.tasks import asked_task, candidates, prompt_id


@dataclass
class ScoreSummary:
    dataset: str
    split: str
    written: int = 0
    skipped: int = 0  # already in the predictions file
    truncated: int = 0  # written answers cut at max_new_tokens
    seconds: float = 0.0

    def line(self) -> str:
        rate = self.written / self.seconds if self.seconds else 0.0
        return (
            f"{self.dataset}/{self.split}: {self.written} predictions written ({self.truncated} cut at "
            f"max_new_tokens), {self.skipped} already there, {rate:.2f} clips/s"
        )


def parse_answer(task: str, text: str, dataset: str) -> Any:
    """The label(s) in a generated answer, in the form the metrics take."""
    if task in ("mer", "ov-mer", "msa"):
        return parse_emotions(text)
    if task == "mir":
        return parse_intent(text, candidates("mir", dataset) or [])
    if task == "erg":
        return parse_erg(text)
    return text.strip()


def load_model(cfg: PipelineConfig, checkpoint: str | Path, device: str) -> NanoEmoX:
    model = NanoEmoX.from_config(cfg.model, device)
    load_checkpoint(model, cfg, checkpoint)
    return model.eval()


def predict(model: NanoEmoX, cfg: PipelineConfig, task: str, samples: Sequence[ShardSample], device: str) -> list[dict]:
    """One prediction line per sample, all for `task`; MER-UniBench datasets may be asked the open question."""
    score = cfg.score
    asked = [asked_task(task, sample.record["dataset"], score.unibench_question) for sample in samples]
    batch = generation_batch(model, asked, samples)
    answers = model.generate_answers(
        batch.text.input_ids.to(device),
        batch.text.attention_mask.to(device),
        batch.features.to(device),
        max_new_tokens=max(score.max_new_tokens.get(question, 64) for question in asked),
        do_sample=score.do_sample,
        temperature=score.temperature,
        top_p=score.top_p,
    )
    rows = []
    for sample, question, answer in zip(samples, asked, answers, strict=True):
        dataset = sample.record["dataset"]
        rows.append(
            {
                "id": sample.record["id"],
                "dataset": dataset,
                "task": task,
                "prompt_id": prompt_id(question, dataset),
                "output": answer.text,
                "answer": parse_answer(task, answer.text, dataset),
                "truncated": answer.truncated,
            }
        )
    return rows


def open_predictions(path: str | Path) -> tuple[IO[str] | storage.ObjectLog, set[tuple[str, str]]]:
    """The predictions file reopened for appending, a torn last line (a killed job) dropped, and the (id, task)
    pairs already in it."""
    rows = [row for row in jsonl_objects(path) if "id" in row and "task" in row] if storage.is_file(path) else []
    return storage.open_log(path, [json.dumps(row) + "\n" for row in rows]), {(row["id"], row["task"]) for row in rows}


def batches(
    model: NanoEmoX, cfg: PipelineConfig, task: str, samples: Iterable[ShardSample]
) -> Iterator[list[ShardSample]]:
    """Batches of `score.batch_size` clips; each `score.sort_window` batches' worth is sorted by prompt length
    first, so a batch's prompts are of similar length and pad little."""
    size, samples = cfg.score.batch_size, iter(samples)
    while window := list(itertools.islice(samples, size * cfg.score.sort_window)):
        lengths = prompt_lengths(model, [task] * len(window), window)
        ordered = [window[i] for i in sorted(range(len(window)), key=lengths.__getitem__)]
        yield from (ordered[start : start + size] for start in range(0, len(ordered), size))


def split_summary(split_dir: str | Path, index: dict[str, Any]) -> ScoreSummary:
    return ScoreSummary(index.get("dataset") or storage.name(storage.parent(split_dir)), storage.name(split_dir))


def score_in_process(
    cfg: PipelineConfig, checkpoint: str | Path, split_dir: str | Path, tasks: list[str], out: str, device: str
) -> ScoreSummary:
    index = checked_index(split_dir, cfg)
    summary = split_summary(split_dir, index)
    model = load_model(cfg, checkpoint, device)
    sink, done = open_predictions(out)
    started = time.perf_counter()
    with (
        sink,
        progress(total=index["total"] * len(tasks), desc=f"score {summary.dataset}", unit="clip") as bar,
    ):
        for task in tasks:
            todo = (s for s in iter_split(split_dir, cfg) if (s.record["id"], task) not in done)
            for chunk in batches(model, cfg, task, todo):
                with torch.inference_mode():
                    rows = predict(model, cfg, task, chunk, device)
                sink.writelines(json.dumps(row) + "\n" for row in rows)
                sink.flush()
                summary.written += len(rows)
                summary.truncated += sum(row["truncated"] for row in rows)
                bar.update(len(rows))
    summary.skipped = len(done)
    summary.seconds = time.perf_counter() - started
    return summary


class ShardScorer:
    """Ray Data actor: one model on one GPU, scoring whole shards."""

    def __init__(self, cfg: PipelineConfig, checkpoint: str, tasks: list[str], done: set, device: str):
        storage.configure(**asdict(cfg.storage))  # this actor reads shards from URLs too
        self.cfg, self.tasks, self.done, self.device = cfg, tasks, done, device
        self.model = load_model(cfg, checkpoint, device)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[str]]:
        lines = []
        for url in batch["url"]:
            samples = [to_sample(DECODER(raw)) for raw in all_samples([url])]
            for task in self.tasks:
                todo = (s for s in samples if (s.record["id"], task) not in self.done)
                for chunk in batches(self.model, self.cfg, task, todo):
                    with torch.inference_mode():
                        lines += [json.dumps(r) for r in predict(self.model, self.cfg, task, chunk, self.device)]
        return {"line": lines}


def score_on_ray(
    cfg: PipelineConfig,
    checkpoint: str,
    split_dir: str,
    tasks: list[str],
    out: str,
    address: str | None,
    gpus: int,
) -> ScoreSummary:
    import ray

    start_ray(address, log_dir=storage.local_folder(storage.parent(out)))
    index = checked_index(split_dir, cfg)
    summary = split_summary(split_dir, index)
    sink, done = open_predictions(out)
    device = "cuda" if gpus else "cpu"
    dataset = ray.data.from_items([{"url": url} for url in shard_urls(split_dir, index)]).map_batches(
        ShardScorer,
        fn_constructor_args=(cfg, checkpoint, tasks, done, device),
        batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=max(gpus, 1)),
        num_gpus=1 if gpus else 0,
    )
    started = time.perf_counter()
    with (
        sink,
        progress(total=index["total"] * len(tasks), desc=f"score {summary.dataset}", unit="clip") as bar,
    ):
        for row in dataset.iter_rows():
            sink.write(row["line"] + "\n")
            sink.flush()
            summary.written += 1
            summary.truncated += json.loads(row["line"])["truncated"]
            bar.update()
    summary.skipped = len(done)
    summary.seconds = time.perf_counter() - started
    return summary
