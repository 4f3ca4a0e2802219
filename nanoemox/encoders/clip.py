"""CLIP vision tower: pretrained from an HF id or folder, or random-init from the config's sizes."""

from transformers import CLIPVisionConfig, CLIPVisionModel

from nanoemox.config import ClipConfig
from nanoemox.runtime.hub import load_pretrained


def clip_config(cfg: ClipConfig) -> CLIPVisionConfig:
    return CLIPVisionConfig(
        hidden_size=cfg.hidden_size,
        num_hidden_layers=cfg.num_hidden_layers,
        num_attention_heads=cfg.num_attention_heads,
        intermediate_size=cfg.intermediate_size,
        image_size=cfg.image_size,
        patch_size=cfg.patch_size,
        hidden_act="quick_gelu",
    )


def build_clip(cfg: ClipConfig) -> CLIPVisionModel:
    """The frozen vision tower in eval mode."""
    if cfg.init == "pretrained":
        model = load_pretrained(
            CLIPVisionModel,
            cfg.name_or_path,
            cfg.revision,
            "model.encoders.clip.name_or_path",
        )
    else:
        model = CLIPVisionModel(clip_config(cfg))
    return model.eval().requires_grad_(False)
