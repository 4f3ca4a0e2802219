"""`nanoemox-score`'s whole job as one library call: find the run's checkpoint and the config it was trained
with, check the tasks, write `<run>/predictions/<dataset>-<split>.jsonl` (resuming), in process or on Ray."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

from nanoemox.config import PipelineConfig, load_config
from nanoemox.datasets import reader_class
from nanoemox.errors import NanoEmoXError
from nanoemox.fileio import storage
from nanoemox.fileio.files import writing
from nanoemox.runs import Checkpoint, find_checkpoint
from nanoemox.runtime.devices import pick_device
from nanoemox.score.job import ScoreSummary, score_in_process, score_on_ray
from nanoemox.shards.index import INDEX_FILE
from nanoemox.tasks import check_askable


def checkpoint_and_config(
    run: str, config: str | None, overrides: Sequence[str], preset: str | None = None
) -> tuple[Checkpoint, PipelineConfig]:
    """The checkpoint to score with (a run's most advanced finished stage, or the stage folder given) and the
    config its heads were trained with (or --config), with --set overrides (e.g. score.batch_size); a --preset
    other than the run's is refused, naming both."""
    to_reach_run = load_config(config, preset if config else None, overrides)  # a run given as a URL
    storage.configure(**asdict(to_reach_run.storage))
    checkpoint = find_checkpoint(run)
    cfg = load_config(config or checkpoint.config, preset, overrides)
    storage.configure(**asdict(cfg.storage))
    return checkpoint, cfg


def score_run(
    run: str,
    dataset: str,
    split: str = "test",
    features: str = "shards",
    tasks: Sequence[str] = (),
    out: str | None = None,
    config: str | None = None,
    overrides: Sequence[str] = (),
    address: str | None = None,
    num_gpus: int = 0,
    device: str | None = None,
    preset: str | None = None,
) -> tuple[ScoreSummary, str]:
    """Answer `tasks` (default: every task the dataset has) for each clip of a split; returns the summary and
    the predictions file."""
    checkpoint, cfg = checkpoint_and_config(run, config, overrides, preset)
    split_dir = storage.join(features, dataset, split)
    check_split(features, dataset, split)
    tasks = list(dict.fromkeys(tasks or reader_class(dataset).tasks))  # each task once
    unknown = sorted(set(tasks) - set(cfg.score.max_new_tokens))
    if unknown:
        raise NanoEmoXError(f"unknown task(s) {', '.join(unknown)}; choose from {', '.join(cfg.score.max_new_tokens)}")
    for task in tasks:
        check_askable(task, dataset)
    out = out or checkpoint.run.predictions(dataset, split)
    if storage.is_dir(out):
        raise NanoEmoXError(f"--out {out}: is a folder; give the predictions file's path")
    with writing(out):
        storage.makedirs(storage.parent(out))
        if address or num_gpus:
            summary = score_on_ray(cfg, checkpoint.folder, split_dir, tasks, out, address, num_gpus)
        else:
            summary = score_in_process(cfg, checkpoint.folder, split_dir, tasks, out, pick_device(device))
    print(f"{summary.line()} -> {out}", flush=True)
    return summary, out


def check_split(features: str, dataset: str, split: str) -> None:
    """A split that was never extracted is named with the splits that were (MER-Caption+ has no test split)."""
    if storage.is_file(storage.join(features, dataset, split, INDEX_FILE)):
        return
    folder = storage.join(features, dataset)
    have = [name for name in storage.list_names(folder) if storage.is_file(storage.join(folder, name, INDEX_FILE))]
    found = f"the splits there are: {', '.join(have)}; pass one with --split" if have else "no split of it is there"
    raise NanoEmoXError(f"{storage.join(folder, split)}: no shards of {dataset}'s split '{split}' ({found})")
