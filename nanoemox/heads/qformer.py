"""BLIP-2 Q-Former over per-frame (or per-window) encoder vectors: a fixed number of query tokens out."""

import torch
from torch import nn
from transformers import Blip2QFormerConfig, Blip2QFormerModel

from nanoemox.config import QFormerConfig


class ModalityQFormer(nn.Module):
    """Learned queries cross-attend, in every layer, to T encoder vectors plus their position embedding."""

    def __init__(self, cfg: QFormerConfig, encoder_width: int, num_positions: int):
        super().__init__()
        qformer_config = Blip2QFormerConfig(
            hidden_size=cfg.hidden_size,
            num_hidden_layers=cfg.num_hidden_layers,
            num_attention_heads=cfg.num_attention_heads,
            intermediate_size=cfg.intermediate_size,
            hidden_dropout_prob=cfg.dropout,
            attention_probs_dropout_prob=cfg.dropout,
            cross_attention_frequency=1,
            encoder_hidden_size=encoder_width,
        )
        self.qformer = Blip2QFormerModel(qformer_config)
        self.query_tokens = nn.Parameter(torch.randn(1, cfg.num_queries, cfg.hidden_size) * 0.02)
        self.position_embedding = nn.Embedding(num_positions, encoder_width)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        # features: [batch, positions, encoder_width]
        positions = torch.arange(features.shape[1], device=features.device)
        memory = features + self.position_embedding(positions)
        queries = self.query_tokens.expand(features.shape[0], -1, -1)
        out = self.qformer(query_embeds=queries, encoder_hidden_states=memory)
        return out.last_hidden_state  # [batch, num_queries, hidden]
