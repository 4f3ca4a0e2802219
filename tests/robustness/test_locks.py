"""Issue 13 item 2: a second job writing the same extraction split, training run or predictions file is refused
with a clear message, and the lock of a job killed by SIGKILL does not stay."""

import json

import pytest

from nanoemox.cli.extract import main as extract_main
from nanoemox.cli.score import main as score_main
from nanoemox.fileio.locks import LockedError, lock_path, locked
from nanoemox.shards.index import read_index

from helpers import write_meld_corpus


def test_the_lock_is_released_by_a_kill_and_on_exit(tmp_path, other_job):
    output = tmp_path / "out"
    message = r"out: nanoemox-extract \(pid \d+ on .*\) is writing here"
    with other_job(output, "nanoemox-extract"), pytest.raises(LockedError, match=message), locked(output, "mine"):
        pass
    with locked(output, "mine"), pytest.raises(LockedError), locked(output, "another"):  # the holder was killed
        pass
    assert not lock_path(output).exists()  # an ended job leaves no lock file behind


def test_a_second_extraction_of_the_same_split_is_refused(tmp_path, other_job):
    root = write_meld_corpus(tmp_path / "meld", [{"seconds": 2.0}, {"seconds": 2.0}])
    argv = ["--dataset", "meld", "--root", str(root), "--out", str(tmp_path / "shards"), "--preset", "tiny"]
    argv += ["--num-cpus", "2", "--limit", "1"]
    assert extract_main(argv) == 0
    split = tmp_path / "shards" / "meld" / "test"
    before = read_index(split)
    with other_job(split, "nanoemox-extract"):
        with pytest.raises(LockedError, match=r"meld/test: nanoemox-extract \(pid \d+"):
            extract_main([*argv[:-1], "2"])
        with pytest.raises(LockedError):
            extract_main([*argv[:-2], "--overwrite"])  # not even --overwrite deletes a split being written
        assert read_index(split) == before and (split / before["shards"][0]["file"]).is_file()
    assert extract_main([*argv[:-1], "2"]) == 0  # the holder is gone: the job runs and keeps the first clip
    assert [clip_id for s in read_index(split)["shards"] for clip_id in s["ids"]] == ["dia0_utt0", "dia1_utt0"]


def test_a_second_training_job_on_the_same_run_is_refused(features, tmp_path, train, other_job):
    with other_job(tmp_path / "p2e", "nanoemox-train"):
        with pytest.raises(LockedError, match=r"p2e: nanoemox-train \(pid \d+ on .*\) is writing here"):
            train(features, tmp_path)
        assert not (tmp_path / "p2e" / "phase1-speech").exists()
    assert train(features, tmp_path) == 0
    state = json.loads((tmp_path / "p2e" / "phase1-speech" / "trainer_state.json").read_text())
    assert state["step"] == 4 and state["finished"]


def test_a_second_scoring_job_on_the_same_predictions_file_is_refused(features, checkpoint, tmp_path, other_job):
    out = tmp_path / "predictions.jsonl"
    argv = ["--run", str(checkpoint), "--features", str(features), "--dataset", "meld", "--out", str(out)]
    out.write_text('{"id": "other", "dataset": "meld", "task": "mer", "output": "x"}\n')
    with other_job(out, "nanoemox-score"):
        with pytest.raises(LockedError, match=r"predictions.jsonl: nanoemox-score \(pid \d+"):
            score_main(argv)
        assert len(out.read_text().splitlines()) == 1
    assert score_main([*argv, "--task", "mer"]) == 0
    assert len(out.read_text().splitlines()) == 1 + 6
