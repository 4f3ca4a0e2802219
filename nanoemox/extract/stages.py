"""The two per-clip stages of extraction, usable from Ray Data (as actor UDFs) or directly in process.

DecodeStage (CPU): record -> 8 frames at 224x224, 8 normalised 2 s audio windows, face crops and masks.
EncodeStage (GPU when there is one): those arrays -> the frozen encoders' float16 features.
With extract.detect_on = encode, DecodeStage passes the source frames on and EncodeStage finds the faces of its
whole batch in one detector call on its device, so decode workers only decode.
A clip that fails at any stage, for any reason, carries `error` and `stage` instead of arrays, so the job lists
it in failures.jsonl and goes on with the others.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import torch

from nanoemox.config import PipelineConfig
from nanoemox.datasets.record import Record
from nanoemox.errors import NanoEmoXError
from nanoemox.extract.decode import DecodeError, TimeoutDecoder
from nanoemox.extract.faces import CROP_SIZE, FaceCropper, resize_frames
from nanoemox.extract.features import FeatureEncoder
from nanoemox.extract.sampling import SAMPLE_RATE, WINDOW_SECONDS, audio_windows
from nanoemox.shards.reader import ShardSample

Row = dict[str, Any]


def detect_in_encoder(cfg: PipelineConfig) -> bool:
    """Whether the encoder actor finds the faces (extract.detect_on; auto: when the job has GPUs)."""
    return cfg.extract.detect_on == "encode" or (cfg.extract.detect_on == "auto" and cfg.extract.num_gpus > 0)


def face_cropper(cfg: PipelineConfig, device: str = "cpu") -> FaceCropper:
    ext = cfg.extract
    return FaceCropper(ext.face_detector, ext.detect_size, ext.face_margin, ext.face_min_size, device)


def add_face_crops(cropper: FaceCropper, batch: dict[str, Any]) -> dict[str, Any]:
    """The batch with its `source` frames replaced by face crops and masks, found in one detector call."""
    batch = dict(batch)
    sources = list(batch.pop("source"))
    crops = [np.zeros((len(s), CROP_SIZE, CROP_SIZE, 3), np.uint8) for s in sources]
    masks = [np.zeros(len(s), bool) for s in sources]
    video = [i for i, has in enumerate(batch["has_video"]) if has]
    for i, (crop, mask) in zip(video, cropper([sources[i] for i in video]) if video else [], strict=True):
        crops[i], masks[i] = crop, mask
    return batch | {"crops": crops, "face_mask": masks}


def failure_text(err: Exception) -> str:
    """One line for failures.jsonl: our own errors as they are, others with their type (they name no file)."""
    if isinstance(err, NanoEmoXError):
        return str(err)
    first = (str(err).strip().splitlines() or [""])[0][:300]
    return f"{type(err).__name__}: {first}"


class DecodeStage:
    """Decode under a timeout, resize frames for CLIP, cut audio windows, crop faces (unless the encoder does)."""

    def __init__(self, cfg: PipelineConfig, one_thread: bool = False):
        heads = cfg.model.heads
        self.frames, self.windows = heads.frames, heads.windows
        self.image_size = cfg.model.encoders.clip.image_size
        self.decoder = TimeoutDecoder(
            cfg.extract.backend, heads.frames, cfg.extract.decode_timeout_s, cfg.extract.frame_sampling
        )
        self.audio_norm = cfg.extract.audio_norm
        self.cropper = None if detect_in_encoder(cfg) else face_cropper(cfg)
        if one_thread:  # one Ray actor per core: MTCNN must not oversubscribe
            torch.set_num_threads(1)

    def empty(self) -> Row:
        size, width = self.image_size, int(WINDOW_SECONDS * SAMPLE_RATE)
        return {
            "frames": np.zeros((self.frames, size, size, 3), np.uint8),
            "windows": np.zeros((self.windows, width), np.float32),
            "source": np.zeros((self.frames, 1, 1, 3), np.uint8),  # the decoded frames, for the face detector
            "has_video": False,
            "has_audio": False,
        }

    def process(self, record: Record) -> Row:
        row = {"record": json.dumps(record.to_dict()), "error": "", "stage": "", "meta": "{}"} | self.empty()
        stage = "decode"
        try:
            clip = self.decoder(record)
            if clip.frames is None and clip.audio is None:
                raise DecodeError(f"{record.video or record.audio}: no video frames and no audio")
            if clip.frames is not None:
                stage = "resize"
                size = (self.image_size, self.image_size)
                row["frames"] = resize_frames(torch.from_numpy(clip.frames), size, "bicubic").numpy()
                row["source"] = clip.frames
                row["has_video"] = True
            if clip.audio is not None:
                stage = "audio"
                row["windows"] = audio_windows(clip.audio, self.windows, self.audio_norm)
                row["has_audio"] = True
        except Exception as err:  # any failure is this clip's, never the job's
            return row | self.empty() | {"error": failure_text(err), "stage": stage}
        row["meta"] = json.dumps(clip.meta)
        return row

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        rows = [self.process(Record.from_dict(json.loads(text))) for text in batch["record"]]
        columns = {key: [row[key] for row in rows] for key in rows[0]}
        if not self.cropper:
            return columns
        try:
            return add_face_crops(self.cropper, columns)
        except Exception as err:  # the job decodes one clip per batch: this clip fails, the job goes on
            frames = [len(source) for source in columns.pop("source")]
            failed = {"error": [failure_text(err)] * len(frames), "stage": ["faces"] * len(frames)}
            crops = [np.zeros((n, CROP_SIZE, CROP_SIZE, 3), np.uint8) for n in frames]
            return columns | failed | {"crops": crops, "face_mask": [np.zeros(n, bool) for n in frames]}


class EncodeStage:
    """Run the frozen encoders on the rows that decoded, in one batch per modality."""

    def __init__(self, cfg: PipelineConfig, device: str = "cpu"):
        self.encoder = FeatureEncoder(cfg.model.encoders, device)
        self.cropper = face_cropper(cfg, device) if detect_in_encoder(cfg) else None
        heads, enc = cfg.model.heads, cfg.model.encoders
        self.shapes = {
            "clip": (heads.frames, len(self.encoder.clip_layers), enc.clip.hidden_size),
            "hubert": (heads.windows, len(self.encoder.hubert_layers), enc.hubert.hidden_size),
            "face": (heads.frames, enc.face.out_dim),
        }

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        keep = ("record", "has_video", "has_audio", "meta")
        out = {key: list(batch[key]) for key in keep} | {"error": list(batch["error"]), "stage": list(batch["stage"])}
        try:
            features = self.encode(batch, np.array([not e for e in batch["error"]]))
        except Exception:  # one clip broke the batch: encode clip by clip, so only that clip fails
            features = self.zeros(len(batch["record"]))
            for i, error in enumerate(batch["error"]):
                if error:
                    continue
                try:
                    one = self.encode({key: batch[key][i : i + 1] for key in batch}, np.ones(1, bool))
                except Exception as err:
                    out["error"][i], out["stage"][i] = failure_text(err), "encode"
                    continue
                for name in features:
                    features[name][i] = one[name][0]
        return out | {name: list(value) for name, value in features.items()}

    def zeros(self, size: int) -> dict[str, np.ndarray]:
        arrays = {name: np.zeros((size, *shape), np.float16) for name, shape in self.shapes.items()}
        return arrays | {"face_mask": np.zeros((size, self.shapes["face"][0]), bool)}

    def encode(self, batch: dict[str, Any], ok: np.ndarray) -> dict[str, np.ndarray]:
        """Features (and face masks) of the rows marked `ok`, zeros elsewhere; non-finite features are an error."""
        if self.cropper:
            batch = add_face_crops(self.cropper, batch)
        size = len(batch["record"])
        video = ok & np.asarray(batch["has_video"], bool)
        audio = ok & np.asarray(batch["has_audio"], bool)
        features = self.zeros(size)
        if video.any():
            features["clip"][video] = self.encoder.frames(np.stack(batch["frames"])[video])
            face_mask = np.stack(batch["face_mask"])[video]
            features["face"][video] = self.encoder.faces(np.stack(batch["crops"])[video], face_mask)
        if audio.any():
            features["hubert"][audio] = self.encoder.speech(np.stack(batch["windows"])[audio])
        features["face_mask"][:] = np.stack(batch["face_mask"])
        bad = [name for name, value in features.items() if not np.isfinite(value).all()]
        if bad:
            raise FloatingPointError(f"the {', '.join(bad)} features are not finite (NaN or inf)")
        return features


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
