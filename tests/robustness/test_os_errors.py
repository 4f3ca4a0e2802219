"""An OS error (read-only or missing folder, full disk, permission denied) is one line naming the path, exit 1,
in every console script; the errors are real ones (paths the kernel refuses), not mocks."""

import json
import resource
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from nanoemox.cli import eval as eval_cli
from nanoemox.cli import extract, main, score, train
from nanoemox.cli.common import run
from nanoemox.config import load_config
from nanoemox.model.checkpoint import save_checkpoint

from conftest import make_model
from helpers import write_feature_shards, write_meld_corpus

SYSFS = Path("/sys/nanoemox-test")  # sysfs refuses new folders, even to root


@contextmanager
def file_size_limit(limit: int):
    """RLIMIT_FSIZE for this process: a write past `limit` bytes fails with EFBIG, as on a full disk."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def one_error_line(capsys, path: Path, problem: str) -> None:
    """stderr ends with one `error: PATH...: problem` line (after any progress bar) and holds no traceback."""
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert "Traceback" not in err and err.count("error: ") == 1, err
    assert last.startswith(f"error: {path}") and problem in last, err


@pytest.fixture
def a_file(tmp_path) -> Path:
    """A regular file: a folder below it cannot be made (NotADirectoryError)."""
    path = tmp_path / "a-file"
    path.write_text("not a folder")
    return path


def test_extract_into_a_folder_the_kernel_refuses(tmp_path, capsys):
    if not Path("/sys").is_dir():
        pytest.skip("no /sys")
    corpus = write_meld_corpus(tmp_path / "meld", [{"file": "missing"}])
    argv = ["--dataset", "meld", "--root", str(corpus), "--out", str(SYSFS), "--preset", "tiny"]
    assert run(extract.main, argv) == 1
    one_error_line(capsys, SYSFS, "")  # EPERM (sysfs) or EROFS (sysfs mounted read-only)
    assert not SYSFS.exists()


def test_train_into_a_path_below_a_file(a_file, tmp_path, capsys):
    cfg = load_config(preset="tiny")
    write_feature_shards(tmp_path / "shards", "meld", "train", cfg, 4)
    argv = ["--features", str(tmp_path / "shards"), "--out", str(a_file / "heads"), "--preset", "tiny"]
    argv += ["--phase", "1", "--branch", "speech", "--set", "train.phases.1-speech.datasets.mer=[meld]"]
    assert run(train.main, argv) == 1
    one_error_line(capsys, a_file / "heads", "Not a directory")
    assert a_file.read_text() == "not a folder"


def test_score_on_a_full_disk_names_the_predictions_file(tmp_path, capsys):
    cfg = load_config(preset="tiny")
    write_feature_shards(tmp_path / "shards", "meld", "test", cfg, 2)
    checkpoint = save_checkpoint(make_model(cfg), cfg, tmp_path / "heads" / "run" / "phase3")
    out = tmp_path / "predictions.jsonl"
    argv = ["--run", str(checkpoint), "--features", str(tmp_path / "shards"), "--dataset", "meld", "--out", str(out)]
    with file_size_limit(64):
        status = run(score.main, argv)
    assert status == 1
    one_error_line(capsys, tmp_path, "File too large")


def test_eval_results_on_a_full_disk(tmp_path, capsys):
    corpus = write_meld_corpus(tmp_path / "meld", [{"file": "missing"}])
    predictions = tmp_path / "p.jsonl"
    predictions.write_text(json.dumps({"id": "dia0_utt0", "task": "mer", "output": "joy", "answer": ["joy"]}) + "\n")
    results = tmp_path / "results.json"
    argv = ["--predictions", str(predictions), "--dataset", "meld", "--root", str(corpus), "--out", str(results)]
    with file_size_limit(64):  # the results file is written whole, then renamed: the write fails, nothing appears
        assert run(eval_cli.main, argv) == 1
    one_error_line(capsys, results, "File too large")
    assert not results.exists()


def test_demo_corpus_below_a_file(a_file, capsys):
    assert run(main.main, ["demo", "make-corpus", "--out", str(a_file / "corpus")]) == 1
    one_error_line(capsys, a_file / "corpus", "Not a directory")  # the deepest folder it tried: corpus/meld/...


def train_argv(features: Path, out: Path) -> list[str]:
    sets = ["train.phases.1-speech.datasets.mer=[meld]", "train.phases.1-speech.steps=4", "train.batch_size=2"]
    sets += ["train.save_every=2", "train.log_every=1"]
    argv = ["--features", str(features), "--out", str(out), "--preset", "tiny", "--phase", "1", "--branch", "speech"]
    return argv + [item for s in sets for item in ("--set", s)]


def test_a_full_disk_mid_training_stops_the_prefetch_thread_and_exits_1(tmp_path, capsys):
    write_feature_shards(tmp_path / "shards", "meld", "train", load_config(preset="tiny"), 8)
    argv = train_argv(tmp_path / "shards", tmp_path / "heads")
    with file_size_limit(64 * 1024):  # config and logs fit; heads.safetensors, saved at step 2, does not
        assert run(train.main, argv) == 1
    one_error_line(capsys, tmp_path / "heads" / "p2e", "File too large")
    assert not [t for t in threading.enumerate() if t.name == "nanoemox-prefetch"]
    steps = [json.loads(line)["step"] for line in (tmp_path / "heads/p2e/logs/phase1-speech/metrics.jsonl").open()]
    assert steps[-1] == 2  # it ran until the save failed

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    script = [sys.executable, "-c", "from nanoemox.cli.train import entry; entry()"]
    done = subprocess.run(
        script + train_argv(tmp_path / "shards", tmp_path / "again"),
        preexec_fn=limited,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr[-2000:]  # not 134 (abort) from a thread left running
    assert "Traceback" not in done.stderr and done.stderr.strip().splitlines()[-1].startswith(
        f"error: {tmp_path / 'again' / 'p2e'}"
    )
