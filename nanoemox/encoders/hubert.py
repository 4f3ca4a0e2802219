"""HuBERT speech encoder: pretrained from an HF id or folder, or random-init from the config's sizes."""

from transformers import HubertConfig as HFHubertConfig
from transformers import HubertModel

from nanoemox.config import HubertConfig
from nanoemox.runtime.hub import load_pretrained


def hubert_config(cfg: HubertConfig) -> HFHubertConfig:
    """HuBERT-Large layout (layer-norm feature extractor, stable layer norm) at the configured sizes."""
    return HFHubertConfig(
        hidden_size=cfg.hidden_size,
        num_hidden_layers=cfg.num_hidden_layers,
        num_attention_heads=cfg.num_attention_heads,
        intermediate_size=cfg.intermediate_size,
        conv_dim=cfg.conv_dim,
        conv_bias=True,
        feat_extract_norm="layer",
        do_stable_layer_norm=True,
        num_conv_pos_embeddings=cfg.num_conv_pos_embeddings,
        num_conv_pos_embedding_groups=cfg.num_conv_pos_embedding_groups,
    )


def build_hubert(cfg: HubertConfig) -> HubertModel:
    """The frozen speech encoder in eval mode."""
    if cfg.init == "pretrained":
        model = load_pretrained(
            HubertModel,
            cfg.name_or_path,
            cfg.revision,
            "model.encoders.hubert.name_or_path",
        )
    else:
        model = HubertModel(hubert_config(cfg))
    return model.eval().requires_grad_(False)
