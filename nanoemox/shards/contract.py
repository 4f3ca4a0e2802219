"""What a split's features are: encoders, layers, shapes and preprocessing, recorded in index.json and checked."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from nanoemox.config import ClipConfig, HubertConfig, PipelineConfig, cached_layers, diff_configs
from nanoemox.errors import NanoEmoXError

SCHEMA_VERSION = 2
SCHEMA_CHANGES = {  # what each version changed, told to users whose shards are older
    2: "HuBERT input normalised over each clip's windows together (extract.audio_norm: clip) instead of each "
    "window alone; frame sampling, audio normalisation and face encoder mode are part of the contract",
}


class ShardContractError(NanoEmoXError):
    """Shards made with other encoders, layers or shapes than the model expects."""


def _encoder_entry(encoder: ClipConfig | HubertConfig, positions: int) -> dict[str, Any]:
    """Which transformer, which layers, what shape: per frame (CLIP) or per 2 s window (HuBERT)."""
    layers = cached_layers(encoder)
    return {
        "init": encoder.init,
        "name_or_path": encoder.name_or_path if encoder.init == "pretrained" else "random",
        "revision": encoder.revision,
        "layers": layers,
        "shape": [positions, len(layers), encoder.hidden_size],
    }


def build_contract(cfg: PipelineConfig) -> dict[str, Any]:
    """`model`: what the heads depend on (checked by readers); `preprocessing`: how clips were cut (recorded)."""
    enc, heads, ext = cfg.model.encoders, cfg.model.heads, cfg.extract
    model = {
        "schema_version": SCHEMA_VERSION,
        "frames": heads.frames,
        "windows": heads.windows,
        "clip": _encoder_entry(enc.clip, heads.frames),
        "hubert": _encoder_entry(enc.hubert, heads.windows),
        "face": {
            "init": enc.face.init,
            "checkpoint": enc.face.checkpoint if enc.face.init == "pretrained" else "random",
            "shape": [heads.frames, enc.face.out_dim],
            "train_mode": enc.face.train_mode,
        },
        "frame_sampling": ext.frame_sampling,
        "audio_norm": ext.audio_norm,
    }
    preprocessing = {
        "frames": "uniform over the clip (see frame_sampling)",
        "clip_input": f"{enc.clip.image_size}x{enc.clip.image_size} RGB, CLIP mean/std",
        "audio": "mono 16 kHz, windows of 2 s evenly spaced, zero mean / unit variance (see audio_norm)",
        "face_detector": ext.face_detector,
        "face_detect_size": ext.detect_size,
        "face_min_size": ext.face_min_size,
        "face_margin": ext.face_margin,
        "face_crop": "largest face, bicubic 224x224, ImageNet mean/std",
        "dtype": "float16",
    }
    return {"model": model, "preprocessing": preprocessing}


def contract_hash(contract: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(contract, sort_keys=True).encode()).hexdigest()[:12]


def check_contract(stored: dict[str, Any], expected: dict[str, Any], where: str) -> None:
    """Refuse features whose model-side contract differs, naming every differing field."""
    version = (stored.get("model") or {}).get("schema_version")
    if version != SCHEMA_VERSION:
        changes = "; ".join(text for v, text in SCHEMA_CHANGES.items() if not isinstance(version, int) or v > version)
        raise ShardContractError(
            f"{where}: shards have schema version {version}, this nanoemox reads version {SCHEMA_VERSION} "
            f"(since then: {changes}); re-extract this split with nanoemox-extract --overwrite"
        )
    differences = diff_configs(stored.get("model"), expected["model"], "contract.")
    if differences:
        listed = "\n  ".join(differences[:12])
        raise ShardContractError(f"{where}: shards do not match the model config (shards != model):\n  {listed}")
