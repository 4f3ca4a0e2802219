"""Projection of a head's output tokens into the language model's embedding width."""

import torch
from torch import nn


class Adapter(nn.Module):
    """A Linear, or Linear-GELU-Dropout-Linear when `hidden` is given (the face branch)."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int | None = None, dropout: float = 0.0):
        super().__init__()
        if hidden is None:
            self.net = nn.Linear(in_dim, out_dim)
        else:
            self.net = nn.Sequential(
                nn.Linear(in_dim, hidden),
                nn.GELU(),
                nn.Dropout(dropout),
                nn.Linear(hidden, out_dim),
            )

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.net(tokens)  # [..., out_dim]
