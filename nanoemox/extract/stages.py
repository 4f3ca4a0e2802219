"""The decode stage of extraction and the rows it passes on, usable from Ray Data (as an actor UDF) or in process.

DecodeStage (CPU): record -> 8 frames at 224x224, 8 normalised 2 s audio windows, face crops and masks (or the
source frames, when extract.detect_on has the encoder find the faces). The work of each clip runs in a worker
process (`prepare.ClipPreparer`) under extract.decode_timeout_s; this module imports no torch, so a decode actor
starts at once and the heavy imports happen in its worker while Ray starts the other actors.
A clip that fails at any stage, for any reason, carries `error` and `stage` instead of arrays, so the job lists
it in failures.jsonl and goes on with the others.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from nanoemox.config import PipelineConfig
from nanoemox.datasets.record import Record
from nanoemox.errors import NanoEmoXError, first_line
from nanoemox.extract.sampling import CROP_SIZE, SAMPLE_RATE, WINDOW_SECONDS
from nanoemox.extract.worker import TimeoutWorker, WorkerError

Row = dict[str, Any]


def detect_in_encoder(cfg: PipelineConfig) -> bool:
    """Whether the encoder actor finds the faces (extract.detect_on; auto: when the job has GPUs)."""
    return cfg.extract.detect_on == "encode" or (cfg.extract.detect_on == "auto" and cfg.extract.num_gpus > 0)


def failure_text(err: Exception) -> str:
    """One line for failures.jsonl: our own errors as they are, others with their type (they name no file)."""
    if isinstance(err, NanoEmoXError):
        return str(err)
    return f"{type(err).__name__}: {first_line(err)}"


def empty_row(cfg: PipelineConfig) -> Row:
    """A decoded row's arrays, all zero: what a clip without video, audio or faces (or a failed clip) carries."""
    frames, windows, size = cfg.model.heads.frames, cfg.model.heads.windows, cfg.model.encoders.clip.image_size
    row = {
        "frames": np.zeros((frames, size, size, 3), np.uint8),
        "windows": np.zeros((windows, int(WINDOW_SECONDS * SAMPLE_RATE)), np.float32),
        "has_video": False,
        "has_audio": False,
    }
    if detect_in_encoder(cfg):
        return row | {"source": np.zeros((frames, 1, 1, 3), np.uint8)}  # the decoded frames, for the detector
    return row | {"crops": np.zeros((frames, CROP_SIZE, CROP_SIZE, 3), np.uint8), "face_mask": np.zeros(frames, bool)}


def failed_row(empty: Row, record: Record, error: str, stage: str) -> Row:
    return {"record": json.dumps(record.to_dict()), "error": error, "stage": stage, "meta": "{}"} | empty


class DecodeStage:
    """Each clip's decode, resize, audio windows and face crops, in a worker process that a hung or crashed decoder
    takes down alone: the clip fails, the next clip gets a fresh worker."""

    def __init__(self, cfg: PipelineConfig):
        self.empty = empty_row(cfg)
        self.worker = TimeoutWorker(
            "nanoemox.extract.prepare:ClipPreparer", cfg, timeout_s=cfg.extract.decode_timeout_s
        )
        self.worker.start()

    def close(self) -> None:
        self.worker.close()

    def process(self, record: Record) -> Row:
        try:
            return self.worker(record, record.video or record.audio or record.frames_dir or record.id)
        except WorkerError as err:
            return failed_row(self.empty, record, str(err), "decode")

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        rows = [self.process(Record.from_dict(json.loads(text))) for text in batch["record"]]
        return {key: [row[key] for row in rows] for key in rows[0]}
