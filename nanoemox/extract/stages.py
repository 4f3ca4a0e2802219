"""The two per-clip stages of extraction, usable from Ray Data (as actor UDFs) or directly in process.

DecodeStage (CPU): record -> 8 frames at 224x224, 8 normalised 2 s audio windows, face crops and masks.
EncodeStage (GPU when there is one): those arrays -> the frozen encoders' float16 features.
A clip that fails carries `error` and `stage` instead of arrays, so the job can list it and go on.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import torch
from PIL import Image

from nanoemox.config import PipelineConfig
from nanoemox.datasets.record import Record
from nanoemox.extract.decode import DecodeError, TimeoutDecoder
from nanoemox.extract.faces import CROP_SIZE, FaceCropper
from nanoemox.extract.features import FeatureEncoder
from nanoemox.extract.sampling import SAMPLE_RATE, WINDOW_SECONDS, audio_windows
from nanoemox.shards.reader import ShardSample

Row = dict[str, Any]


class DecodeStage:
    """Decode under a timeout, resize frames for CLIP, cut audio windows, crop faces."""

    def __init__(self, cfg: PipelineConfig, one_thread: bool = False):
        heads = cfg.model.heads
        self.frames, self.windows = heads.frames, heads.windows
        self.image_size = cfg.model.encoders.clip.image_size
        self.decoder = TimeoutDecoder(cfg.extract.backend, heads.frames, cfg.extract.decode_timeout_s)
        ext = cfg.extract
        self.cropper = FaceCropper(ext.face_detector, ext.detect_size, ext.face_margin, ext.face_min_size)
        if one_thread:  # one Ray actor per core: MTCNN must not oversubscribe
            torch.set_num_threads(1)

    def empty(self) -> Row:
        size, width = self.image_size, int(WINDOW_SECONDS * SAMPLE_RATE)
        return {
            "frames": np.zeros((self.frames, size, size, 3), np.uint8),
            "windows": np.zeros((self.windows, width), np.float32),
            "crops": np.zeros((self.frames, CROP_SIZE, CROP_SIZE, 3), np.uint8),
            "face_mask": np.zeros(self.frames, bool),
            "has_video": False,
            "has_audio": False,
        }

    def process(self, record: Record) -> Row:
        row = {"record": json.dumps(record.to_dict()), "error": "", "stage": "", "meta": "{}"} | self.empty()
        try:
            clip = self.decoder(record)
        except DecodeError as err:
            return row | {"error": str(err), "stage": "decode"}
        if clip.frames is None and clip.audio is None:
            return row | {"error": f"{record.video or record.audio}: no video frames and no audio", "stage": "decode"}
        if clip.frames is not None:
            size = (self.image_size, self.image_size)
            row["frames"] = np.stack([np.asarray(Image.fromarray(f).resize(size, Image.BICUBIC)) for f in clip.frames])
            [(row["crops"], row["face_mask"])] = self.cropper([clip.frames])
            row["has_video"] = True
        if clip.audio is not None:
            row["windows"] = audio_windows(clip.audio, self.windows)
            row["has_audio"] = True
        row["meta"] = json.dumps(clip.meta)
        return row

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        rows = [self.process(Record.from_dict(json.loads(text))) for text in batch["record"]]
        return {key: [row[key] for row in rows] for key in rows[0]}


class EncodeStage:
    """Run the frozen encoders on the rows that decoded, in one batch per modality."""

    def __init__(self, cfg: PipelineConfig, device: str = "cpu"):
        self.encoder = FeatureEncoder(cfg.model.encoders, device)
        heads, enc = cfg.model.heads, cfg.model.encoders
        self.shapes = {
            "clip": (heads.frames, len(self.encoder.clip_layers), enc.clip.hidden_size),
            "hubert": (heads.windows, len(self.encoder.hubert_layers), enc.hubert.hidden_size),
            "face": (heads.frames, enc.face.out_dim),
        }

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        size = len(batch["record"])
        ok = np.array([not e for e in batch["error"]])
        video = ok & np.asarray(batch["has_video"], bool)
        audio = ok & np.asarray(batch["has_audio"], bool)
        features = {name: np.zeros((size, *shape), np.float16) for name, shape in self.shapes.items()}
        if video.any():
            features["clip"][video] = self.encoder.frames(np.stack(batch["frames"])[video])
            face_mask = np.stack(batch["face_mask"])[video]
            features["face"][video] = self.encoder.faces(np.stack(batch["crops"])[video], face_mask)
        if audio.any():
            features["hubert"][audio] = self.encoder.speech(np.stack(batch["windows"])[audio])
        keep = ("record", "error", "stage", "meta", "face_mask", "has_video", "has_audio")
        return {key: batch[key] for key in keep} | {name: list(value) for name, value in features.items()}


def encoded_samples(batch: dict[str, Any]) -> list[ShardSample]:
    """EncodeStage output as ShardSamples, for using features in process without writing shards."""
    return [
        ShardSample(
            key=json.loads(text)["id"],
            record=json.loads(text),
            clip=torch.from_numpy(np.asarray(batch["clip"][i])),
            hubert=torch.from_numpy(np.asarray(batch["hubert"][i])),
            face=torch.from_numpy(np.asarray(batch["face"][i])),
            face_mask=torch.from_numpy(np.asarray(batch["face_mask"][i], bool)),
            has_video=bool(batch["has_video"][i]),
            has_audio=bool(batch["has_audio"][i]),
        )
        for i, text in enumerate(batch["record"])
    ]
