"""What one stored clip is, and what a batch of them is, as the model takes it: the typed side of the shard
contract, below the model (training, scoring and extraction all use it without importing the model)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from nanoemox.datasets.record import Record


@dataclass
class ShardSample:
    """One clip as stored: its record (labels, text, metadata) and float16 features."""

    key: str
    record: Record
    clip: torch.Tensor  # [frames, clip layers, width]
    hubert: torch.Tensor  # [windows, hubert layers, width]
    face: torch.Tensor  # [frames, face width]
    face_mask: torch.Tensor  # [frames] bool
    has_video: bool
    has_audio: bool
    draw: int = 0  # which question variant its prompt asks: random per training draw, 0 (the first) otherwise


@dataclass
class ModalityFeatures:
    """Cached frozen-encoder features of a batch (the shard contract), plus what each sample has."""

    clip: torch.Tensor | None  # [batch, frames, clip cached layers, clip width]
    hubert: torch.Tensor | None  # [batch, windows, hubert cached layers, hubert width]
    face: torch.Tensor | None  # [batch, frames, face width]
    face_mask: torch.Tensor | None  # [batch, frames], True where a face was found
    has_video: torch.Tensor  # [batch] bool
    has_audio: torch.Tensor  # [batch] bool

    def to(self, device: torch.device | str) -> ModalityFeatures:
        def move(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.to(device)

        return ModalityFeatures(*(move(getattr(self, f)) for f in self.__dataclass_fields__))


def collate_features(samples: Sequence[ShardSample]) -> ModalityFeatures:
    """Stack samples into the model's input; a modality absent from the whole batch is None."""
    has_video = torch.tensor([s.has_video for s in samples])
    has_audio = torch.tensor([s.has_audio for s in samples])
    return ModalityFeatures(
        clip=torch.stack([s.clip for s in samples]) if has_video.any() else None,
        hubert=torch.stack([s.hubert for s in samples]) if has_audio.any() else None,
        face=torch.stack([s.face for s in samples]) if has_video.any() else None,
        face_mask=torch.stack([s.face_mask for s in samples]),
        has_video=has_video,
        has_audio=has_audio,
    )
