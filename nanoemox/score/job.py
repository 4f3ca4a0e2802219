"""Score a shard split: batched generation per task, one JSON line per (clip, task); re-running resumes.

In process by default; with `--num-gpus` or `--address`, shards are spread over Ray Data actors (one model
per GPU) and the driver writes the lines.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import torch

from nanoemox.config import PipelineConfig
from nanoemox.eval.parse import parse_emotions, parse_erg, parse_intent
from nanoemox.fileio import storage
from nanoemox.fileio.files import read_text
from nanoemox.fileio.locks import locked
from nanoemox.model.batching import generation_batch, prompt_lengths
from nanoemox.model.checkpoint import load_checkpoint
from nanoemox.model.nanoemox import NanoEmoX
from nanoemox.runtime.cluster import map_on_actors, require_gpus, start_ray
from nanoemox.runtime.hub import check_weights
from nanoemox.runtime.progress import progress
from nanoemox.runtime.threads import use_threads
from nanoemox.shards.reader import DECODER, all_samples, checked_index, iter_split, shard_urls, to_sample
from nanoemox.shards.sample import ShardSample
from nanoemox.tasks import asked_task, candidates, prompt_id


@dataclass
class ScoreSummary:
    dataset: str
    split: str
    written: int = 0
    skipped: int = 0  # already in the predictions file
    truncated: int = 0  # written answers cut at max_new_tokens
    threads: int = 0  # torch's CPU threads in this process (0: the work ran in Ray actors)
    seconds: float = 0.0

    def line(self) -> str:
        rate = self.written / self.seconds if self.seconds else 0.0
        return (
            f"{self.dataset}/{self.split}: {self.written} predictions written ({self.truncated} cut at "
            f"max_new_tokens), {self.skipped} already there, {rate:.2f} clips/s"
            + (f" on {self.threads} CPU thread(s)" if self.threads else "")
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
    asked = [asked_task(task, sample.record.dataset, score.unibench_question) for sample in samples]
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
        dataset = sample.record.dataset
        rows.append(
            {
                "id": sample.record.id,
                "dataset": dataset,
                "task": task,
                "prompt_id": prompt_id(question, dataset),
                "output": answer.text,
                "answer": parse_answer(task, answer.text, dataset),
                "truncated": answer.truncated,
            }
        )
    return rows


Done = set[tuple[str, str, str]]  # (dataset, clip id, task) of the lines a predictions file already holds


def open_predictions(path: str | Path) -> tuple[IO[str] | storage.ObjectLog, Done]:
    """The predictions file reopened for appending with every complete line it holds, of any run (a torn last
    line of a killed job is ended if it is whole JSON, else dropped: only then is the file replaced, atomically),
    and what it already holds."""
    lines = read_text(path, "predictions file").splitlines(keepends=True) if storage.is_file(path) else []
    torn = bool(lines) and not lines[-1].endswith("\n")
    if torn:
        try:
            json.loads(lines[-1])
            lines[-1] += "\n"
        except ValueError:
            lines.pop()
    rows = [row for row in map(json_object, lines) if "id" in row and "task" in row]
    sink = storage.open_log(path, lines if torn else None)
    return sink, {(row.get("dataset"), row["id"], row["task"]) for row in rows}


def json_object(line: str) -> dict:
    try:
        value = json.loads(line)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def pending(samples: Iterable[ShardSample], task: str, done: Done) -> Iterator[ShardSample]:
    return (s for s in samples if (s.record.dataset, s.record.id, task) not in done)


def skipped(done: Done, dataset: str, tasks: list[str]) -> int:
    return sum(1 for name, _, task in done if name == dataset and task in tasks)


@contextmanager
def predictions_file(out: str | Path) -> Iterator[tuple[Done, IO[str] | storage.ObjectLog]]:
    """Hold the file's lock (a second scoring job writing it is refused), read what it holds, append to it."""
    with locked(out, "nanoemox-score"):
        sink, done = open_predictions(out)
        with sink:
            yield done, sink


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
    summary.threads = use_threads(cfg)
    with predictions_file(out) as (done, sink):
        model = load_model(cfg, checkpoint, device)
        started = time.perf_counter()
        with progress(total=index["total"] * len(tasks), desc=f"score {summary.dataset}", unit="clip") as bar:
            for task in tasks:
                for chunk in batches(model, cfg, task, pending(iter_split(split_dir, cfg), task, done)):
                    with torch.inference_mode():
                        rows = predict(model, cfg, task, chunk, device)
                    sink.writelines(json.dumps(row) + "\n" for row in rows)
                    sink.flush()
                    summary.written += len(rows)
                    summary.truncated += sum(row["truncated"] for row in rows)
                    bar.update(len(rows))
        summary.skipped = skipped(done, summary.dataset, tasks)
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
                for chunk in batches(self.model, self.cfg, task, pending(samples, task, self.done)):
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

    if address is None:  # a cluster's nodes have weights of their own
        check_weights(cfg.model, ("lm",))
    start_ray(address, log_dir=storage.local_folder(storage.parent(out)))
    require_gpus(gpus, f"--num-gpus {gpus}")
    index = checked_index(split_dir, cfg)
    summary = split_summary(split_dir, index)
    device = "cuda" if gpus else "cpu"
    with predictions_file(out) as (done, sink):
        dataset = map_on_actors(
            ray.data.from_items([{"url": url} for url in shard_urls(split_dir, index)]),
            ShardScorer,
            fn_constructor_args=(cfg, checkpoint, tasks, done, device),
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=max(gpus, 1)),
            num_gpus=1 if gpus else 0,
        )
        started = time.perf_counter()
        with progress(total=index["total"] * len(tasks), desc=f"score {summary.dataset}", unit="clip") as bar:
            for row in dataset.iter_rows():
                sink.write(row["line"] + "\n")
                sink.flush()
                summary.written += 1
                summary.truncated += json.loads(row["line"])["truncated"]
                bar.update()
        summary.skipped = skipped(done, summary.dataset, tasks)
    summary.seconds = time.perf_counter() - started
    return summary
