"""The frozen encoders run once per clip: CLIP CLS per frame, HuBERT window means, FaceXFormer face vectors."""

from __future__ import annotations

import numpy as np
import torch

from nanoemox.config import EncodersConfig, cached_layers
from nanoemox.encoders import build_clip, build_face_encoder, build_hubert

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
RANDOM_INIT_SEED = 0  # random-init (tiny) encoders are the same in every process, so shards agree


def _normalise(images: torch.Tensor, mean: tuple, std: tuple, size: int) -> torch.Tensor:
    """uint8 [n, h, w, 3] -> float [n, 3, size, size], resized (bilinear, antialiased) and normalised."""
    x = images.permute(0, 3, 1, 2).float() / 255.0
    if x.shape[-2:] != (size, size):
        x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)


class FeatureEncoder:
    """Batched, frozen, inference-mode encoders; half precision on GPU."""

    def __init__(self, cfg: EncodersConfig, device: str = "cpu"):
        self.cfg, self.device = cfg, torch.device(device)
        self.dtype = torch.float16 if self.device.type == "cuda" else torch.float32
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(RANDOM_INIT_SEED)
            self.clip = build_clip(cfg.clip).to(self.device, self.dtype)
            self.hubert = build_hubert(cfg.hubert).to(self.device, self.dtype)
            self.face = build_face_encoder(cfg.face).to(self.device, self.dtype)
        self.clip_layers, self.hubert_layers = cached_layers(cfg.clip), cached_layers(cfg.hubert)

    @torch.inference_mode()
    def frames(self, frames: np.ndarray) -> np.ndarray:
        """uint8 [clips, frames, h, w, 3] -> float16 [clips, frames, clip layers, width]: CLS token per layer."""
        clips, count = frames.shape[:2]
        pixels = _normalise(
            torch.from_numpy(frames.reshape(-1, *frames.shape[2:])), CLIP_MEAN, CLIP_STD, self.cfg.clip.image_size
        )
        out = self.clip(pixel_values=pixels.to(self.device, self.dtype), output_hidden_states=True)
        cls = torch.stack(
            [out.hidden_states[i][:, 0] for i in self.clip_layers], dim=1
        )  # [clips*frames, layers, width]
        return cls.reshape(clips, count, len(self.clip_layers), -1).half().cpu().numpy()

    @torch.inference_mode()
    def speech(self, windows: np.ndarray) -> np.ndarray:
        """float32 [clips, windows, samples] -> float16 [clips, windows, hubert layers, width]: time-mean per layer."""
        clips, count = windows.shape[:2]
        audio = torch.from_numpy(windows.reshape(clips * count, -1)).to(self.device, self.dtype)
        out = self.hubert(audio, output_hidden_states=True)
        means = torch.stack([out.hidden_states[i].mean(dim=1) for i in self.hubert_layers], dim=1)
        return means.reshape(clips, count, len(self.hubert_layers), -1).half().cpu().numpy()

    @torch.inference_mode()
    def faces(self, crops: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """uint8 [clips, frames, 224, 224, 3] + bool mask -> float16 [clips, frames, out_dim], zeros where no face."""
        clips, count = crops.shape[:2]
        vectors = torch.zeros(clips * count, self.cfg.face.out_dim)
        flat_mask = torch.from_numpy(mask.reshape(-1))
        if flat_mask.any():
            faces = torch.from_numpy(crops.reshape(-1, *crops.shape[2:]))[flat_mask]
            pixels = _normalise(faces, IMAGENET_MEAN, IMAGENET_STD, self.cfg.face.image_size)
            vectors[flat_mask] = self.face(pixels.to(self.device, self.dtype)).float().cpu()
        return vectors.reshape(clips, count, -1).half().numpy()
