"""Temporal pooling of per-frame face vectors into a few tokens, ignoring frames with no face."""

import torch
from torch import nn

from nanoemox.config import FaceTemporalConfig


class FaceTemporal(nn.Module):
    """Learned queries attend over the frame vectors; frames without a face are masked out."""

    def __init__(self, cfg: FaceTemporalConfig, face_dim: int):
        super().__init__()
        self.queries = nn.Parameter(torch.randn(1, cfg.num_queries, face_dim))
        self.attention = nn.MultiheadAttention(face_dim, cfg.num_heads, batch_first=True)

    def forward(self, faces: torch.Tensor, face_mask: torch.Tensor) -> torch.Tensor:
        # faces: [batch, frames, face_dim]; face_mask: [batch, frames], True where a face was found
        ignore = ~face_mask
        ignore = ignore & ~ignore.all(dim=1, keepdim=True)  # no face at all: attend to the zero vectors
        queries = self.queries.expand(faces.shape[0], -1, -1)
        out, _ = self.attention(queries, faces, faces, key_padding_mask=ignore, need_weights=False)
        return out  # [batch, num_queries, face_dim]
