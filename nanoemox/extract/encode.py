"""The encode stage of extraction, usable from Ray Data (as an actor UDF) or in process.

EncodeStage (GPU when there is one): the decode stage's arrays -> the frozen encoders' float16 features.
With extract.detect_on = encode, the decode stage passes the source frames on and EncodeStage finds the faces of
its whole batch in one detector call on its device, so decode workers only decode.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import torch

from nanoemox.config import PipelineConfig
from nanoemox.datasets.record import Record
from nanoemox.extract.faces import FaceCropper, face_cropper
from nanoemox.extract.features import FeatureEncoder
from nanoemox.extract.sampling import CROP_SIZE
from nanoemox.extract.stages import detect_in_encoder, failure_text
from nanoemox.shards.sample import ShardSample


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
            record=Record.from_dict(json.loads(text)),
            clip=torch.from_numpy(np.asarray(batch["clip"][i])),
            hubert=torch.from_numpy(np.asarray(batch["hubert"][i])),
            face=torch.from_numpy(np.asarray(batch["face"][i])),
            face_mask=torch.from_numpy(np.asarray(batch["face_mask"][i], bool)),
            has_video=bool(batch["has_video"][i]),
            has_audio=bool(batch["has_audio"][i]),
        )
        for i, text in enumerate(batch["record"])
    ]
