"""The decode stage's worker process: a hung decoder is killed after extract.decode_timeout_s and the next clip gets
a fresh worker; a worker that dies mid-clip is reported at once; a worker that cannot start fails the job."""

import os
import signal
import threading
import time

import pytest

from nanoemox.config import load_config
from nanoemox.datasets.record import Record
from nanoemox.demo.media import voice, write_clip
from nanoemox.extract.stages import DecodeStage
from nanoemox.extract.worker import TimeoutWorker, WorkerStartError


@pytest.fixture
def hanging(tmp_path):
    """A path whose opening blocks forever (a FIFO with no writer), as decord does on some files, and a good clip."""
    fifo = tmp_path / "hangs.mp4"
    os.mkfifo(fifo)
    good = write_clip(tmp_path / "good.mp4", 1.0, audio=voice(1.0))
    return Record(id="h", dataset="t", split="t", video=str(fifo)), Record(
        id="g", dataset="t", split="t", video=str(good), audio=str(good)
    )


def test_a_hung_decoder_is_killed_and_the_next_clip_gets_a_fresh_worker(hanging):
    hung, good = hanging
    stage = DecodeStage(load_config(preset="tiny", overrides=["extract.decode_timeout_s=2"]))
    try:
        first = stage.worker.process.pid
        row = stage.process(hung)
        assert row["stage"] == "decode" and row["error"] == (
            f"{hung.video}: decoding took longer than 2 s; the decoder was killed"
        )
        assert not row["has_video"] and not row["face_mask"].any()
        row = stage.process(good)  # the fresh worker's imports do not count against the 2 s
        assert not row["error"] and row["has_video"] and row["has_audio"] and row["face_mask"].all()
        assert stage.worker.process.pid != first
    finally:
        stage.close()


def test_a_worker_that_dies_mid_clip_is_reported_at_once(hanging):
    hung, good = hanging
    stage = DecodeStage(load_config(preset="tiny", overrides=["extract.decode_timeout_s=120"]))
    try:
        stage.process(good)  # started and warm
        pid = stage.worker.process.pid
        threading.Timer(1.0, os.kill, (pid, signal.SIGKILL)).start()
        start = time.monotonic()
        row = stage.process(hung)
        assert row["error"] == f"{hung.video}: the decoder process crashed"
        assert time.monotonic() - start < 30  # not the 120 s timeout
        assert not stage.process(good)["error"]
    finally:
        stage.close()


def test_a_worker_that_cannot_set_up_its_work_fails_with_the_reason():
    worker = TimeoutWorker("nanoemox.extract.prepare:NoSuchWork", timeout_s=5)
    try:
        with pytest.raises(WorkerStartError, match="NoSuchWork"):
            worker(None, "x")
    finally:
        worker.close()
