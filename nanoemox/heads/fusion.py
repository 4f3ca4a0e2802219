"""Speech-visual fusion into one token: gated cross-modal experts (Nano-EmoX) or AffectGPT's attention."""

from dataclasses import dataclass

import torch
from torch import nn

from nanoemox.config import FusionConfig


@dataclass
class FusionOutput:
    token: torch.Tensor  # [batch, hidden]
    gate_weights: torch.Tensor  # [batch, experts]: how much each expert (or modality) contributed


class CrossModalExpert(nn.Module):
    """Speech queries attend to visual keys/values, plus residual; then a pre-LayerNorm FFN, plus residual."""

    def __init__(self, hidden: int, num_heads: int, dropout: float):
        super().__init__()
        self.attention = nn.MultiheadAttention(hidden, num_heads, dropout=dropout, batch_first=True)
        self.norm = nn.LayerNorm(hidden)
        self.ffn = nn.Sequential(
            nn.Linear(hidden, hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
        )

    def forward(self, speech: torch.Tensor, visual: torch.Tensor) -> torch.Tensor:
        # speech: [batch, windows, hidden]; visual: [batch, frames, hidden]
        attended, _ = self.attention(speech, visual, visual, need_weights=False)
        x = speech + attended
        return x + self.ffn(self.norm(x))  # [batch, windows, hidden]


class GatedExpertFusion(nn.Module):
    """One expert per (speech layer, visual layer) pair, mixed by a gate over their time-means.

    pairing `layerwise`: expert i sees visual layer i only; `cross`: every expert sees all visual layers.
    gate `learned`: softmax of a small MLP; `average`: equal weights (the ablation).
    """

    def __init__(self, cfg: FusionConfig, speech_width: int, visual_width: int, num_pairs: int):
        super().__init__()
        self.pairing, self.learned_gate = cfg.pairing, cfg.gate == "learned"
        self.speech_proj = nn.Linear(speech_width, cfg.hidden_size)
        self.visual_proj = nn.Linear(visual_width, cfg.hidden_size)
        self.experts = nn.ModuleList(
            CrossModalExpert(cfg.hidden_size, cfg.num_heads, cfg.dropout) for _ in range(num_pairs)
        )
        if self.learned_gate:
            self.gate = nn.Sequential(
                nn.Linear(num_pairs * cfg.hidden_size, cfg.hidden_size),
                nn.GELU(),
                nn.Dropout(cfg.dropout),
                nn.Linear(cfg.hidden_size, num_pairs),
            )

    def forward(self, speech_layers: torch.Tensor, visual_layers: torch.Tensor) -> FusionOutput:
        # speech_layers: [batch, windows, pairs, speech_width]; visual_layers: [batch, frames, pairs, visual_width]
        speech = self.speech_proj(speech_layers)  # [batch, windows, pairs, hidden]
        visual = self.visual_proj(visual_layers)  # [batch, frames, pairs, hidden]
        all_visual = visual.flatten(1, 2)  # [batch, frames * pairs, hidden]
        outputs = [
            expert(
                speech[:, :, i],
                visual[:, :, i] if self.pairing == "layerwise" else all_visual,
            )
            for i, expert in enumerate(self.experts)
        ]
        stacked = torch.stack(outputs, dim=2)  # [batch, windows, pairs, hidden]
        if self.learned_gate:
            weights = self.gate(torch.cat(outputs, dim=-1).mean(dim=1)).softmax(dim=-1)
        else:
            weights = stacked.new_full(stacked.shape[:1] + stacked.shape[2:3], 1.0 / len(outputs))
        fused = (stacked * weights[:, None, :, None]).sum(dim=2)  # [batch, windows, hidden]
        return FusionOutput(token=fused.mean(dim=1), gate_weights=weights)


class AttentionFusion(nn.Module):
    """AffectGPT's fusion: attention weights over the two modalities' time-means, then their weighted sum."""

    def __init__(self, cfg: FusionConfig, speech_width: int, visual_width: int):
        super().__init__()
        self.speech_proj = nn.Linear(speech_width, cfg.hidden_size)
        self.visual_proj = nn.Linear(visual_width, cfg.hidden_size)
        self.score = nn.Sequential(
            nn.Linear(2 * cfg.hidden_size, cfg.hidden_size),
            nn.GELU(),
            nn.Linear(cfg.hidden_size, 2),
        )

    def forward(self, speech_layers: torch.Tensor, visual_layers: torch.Tensor) -> FusionOutput:
        speech = self.speech_proj(speech_layers.mean(dim=(1, 2)))  # [batch, hidden]
        visual = self.visual_proj(visual_layers.mean(dim=(1, 2)))  # [batch, hidden]
        weights = self.score(torch.cat([speech, visual], dim=-1)).softmax(dim=-1)  # [batch, 2]
        token = weights[:, :1] * speech + weights[:, 1:] * visual
        return FusionOutput(token=token, gate_weights=weights)


def build_fusion(cfg: FusionConfig, speech_width: int, visual_width: int, num_pairs: int) -> nn.Module:
    """The fusion module the config asks for (the caller skips fusion when type is `none`)."""
    if cfg.type == "gated":
        return GatedExpertFusion(cfg, speech_width, visual_width, num_pairs)
    return AttentionFusion(cfg, speech_width, visual_width)
