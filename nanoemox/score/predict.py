"""`nanoemox predict`: one clip, in process (no Ray, no shards), through the same extraction stages and model."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import torch

from nanoemox.config import PipelineConfig
from nanoemox.datasets.record import Record, Turn
from nanoemox.errors import NanoEmoXError
from nanoemox.extract.encode import EncodeStage, encoded_samples
from nanoemox.extract.stages import DecodeStage
from nanoemox.fileio.files import read_text
from nanoemox.runtime.devices import pick_device
from nanoemox.runtime.threads import use_threads
from nanoemox.score.job import load_model, predict
from nanoemox.tasks import check_askable


def read_context(path: Path) -> list[Turn]:
    """Dialogue history, one `speaker: utterance` per line."""
    turns = []
    for number, line in enumerate(read_text(path, "context file").splitlines(), start=1):
        if not line.strip():
            continue
        if ":" not in line:
            raise NanoEmoXError(f"{path}:{number}: expected 'speaker: utterance'")
        speaker, utterance = line.split(":", 1)
        turns.append(Turn(speaker.strip(), utterance.strip()))
    return turns


def predict_clip(
    cfg: PipelineConfig,
    checkpoint: Path,
    video: Path,
    task: str,
    subtitle: str = "",
    context: list[Turn] | None = None,
    labels_from: str = "predict",
    device: str | None = None,
) -> dict:
    """Decode, crop faces, encode, and answer `task` for one clip; `labels_from` names the candidate set."""
    if not video.is_file():  # an OS error, exit status 1 (README: "Errors and exit status")
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(video))
    check_askable(task, labels_from)
    device = pick_device(device)
    use_threads(cfg)
    record = Record(
        id=video.stem.replace(".", "_"),
        dataset=labels_from,
        split="predict",
        video=str(video),
        audio=str(video),
        subtitle=subtitle,
        dialogue=context or [],
    )
    decoded = DecodeStage(cfg)
    try:
        row = decoded.process(record)
    finally:
        decoded.close()
    if row["error"]:
        raise NanoEmoXError(row["error"])
    encoded = EncodeStage(cfg, device)({key: [value] for key, value in row.items()})
    model = load_model(cfg, checkpoint, device)
    with torch.inference_mode():
        [prediction] = predict(model, cfg, task, encoded_samples(encoded), device)
    return prediction
