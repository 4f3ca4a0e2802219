"""Fixtures of the robustness tests: small feature shards, a scoring checkpoint, a training command, and a second
process that holds an output's lock the way a running job does (and dies by SIGKILL)."""

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from nanoemox.cli.train import main as train_main
from nanoemox.config import load_config
from nanoemox.model import NanoEmoX
from nanoemox.model.checkpoint import save_checkpoint

from helpers import write_feature_shards

TRAIN_SETTINGS = [
    "train.phases.1-speech.datasets.mer=[meld]",
    "train.phases.1-speech.steps=4",
    "train.batch_size=2",
    "train.log_every=1",
    "train.save_every=2",
    "train.shuffle_buffer=4",
]


@pytest.fixture(scope="module")
def features(tmp_path_factory) -> Path:
    """shards/meld/{train,test}: synthetic features, 12 and 6 clips."""
    root = tmp_path_factory.mktemp("robust") / "shards"
    cfg = load_config(preset="tiny")
    write_feature_shards(root, "meld", "train", cfg, 12, shard_size=4, seed=1)
    write_feature_shards(root, "meld", "test", cfg, 6, shard_size=4, seed=2)
    return root


@pytest.fixture(scope="module")
def checkpoint(features) -> Path:
    """A tiny model's heads saved as a finished phase-3 stage, for scoring."""
    cfg = load_config(preset="tiny")
    return save_checkpoint(NanoEmoX.from_config(cfg.model), cfg, features.parent / "heads" / "run" / "phase3")


def run_train(features: Path, out: Path, *args: str, settings: list[str] = TRAIN_SETTINGS) -> int:
    sets = [item for setting in settings for item in ("--set", setting)]
    argv = ["--features", str(features), "--out", str(out), "--preset", "tiny", "--phase", "1", "--branch", "speech"]
    return train_main([*argv, *sets, *args])


@pytest.fixture(scope="session")
def train():
    """nanoemox-train, phase 1 speech branch (4 steps, a checkpoint every 2): train(features, out, *args)."""
    return run_train


@contextmanager
def lock_held_elsewhere(output: Path, job: str) -> Iterator[subprocess.Popen]:
    """A child process holds `output`'s lock as a running job would; on exit it is killed with SIGKILL."""
    code = textwrap.dedent(
        f"""
        import sys, time
        from nanoemox.fileio.locks import locked
        with locked({str(output)!r}, {job!r}):
            print("held", flush=True)
            time.sleep(600)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "held"
        yield child
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()


@pytest.fixture(scope="session")
def other_job():
    """other_job(output, job): a context in which another process holds `output`'s lock."""
    return lock_held_elsewhere
