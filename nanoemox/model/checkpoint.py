"""Checkpoint format: heads as safetensors, LoRA in PEFT's format, and the config that built them."""

from pathlib import Path

from peft import set_peft_model_state_dict
from safetensors.torch import save_file

from nanoemox.config import PipelineConfig, diff_configs, save_config
from nanoemox.errors import NanoEmoXError
from nanoemox.files import read_safetensors, read_yaml
from nanoemox.model.nanoemox import NanoEmoX

HEADS_FILE = "heads.safetensors"
LORA_DIR = "lora"


def save_checkpoint(model: NanoEmoX, cfg: PipelineConfig, out_dir: str | Path) -> Path:
    """Write heads.safetensors, lora/ (adapter_config.json + adapter_model.safetensors), config.yaml."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.heads.state_dict().items()}
    save_file(state, out / HEADS_FILE, metadata={"model_hash": cfg.model_hash()})
    model.lm.save_pretrained(out / LORA_DIR)
    save_config(cfg, out)
    return out


def load_checkpoint(model: NanoEmoX, cfg: PipelineConfig, ckpt_dir: str | Path) -> None:
    """Load heads and LoRA into `model`; refuse a checkpoint made with a different model config."""
    ckpt = Path(ckpt_dir)
    for needed in (HEADS_FILE, "config.yaml", f"{LORA_DIR}/adapter_model.safetensors"):
        if not (ckpt / needed).is_file():
            raise NanoEmoXError(f"{ckpt}: not a nanoemox checkpoint ({needed} is missing)")
    saved = read_yaml(ckpt / "config.yaml", "checkpoint config")
    differences = diff_configs(saved.get("model"), cfg.to_dict()["model"], "model.")
    if differences:
        listed = "\n  ".join(differences[:10])
        raise NanoEmoXError(
            f"{ckpt}: checkpoint was made with a different model config (saved != current):\n  {listed}"
        )
    model.heads.load_state_dict(read_safetensors(ckpt / HEADS_FILE, "heads weights"), strict=True)
    lora_state = read_safetensors(ckpt / LORA_DIR / "adapter_model.safetensors", "LoRA weights")
    result = set_peft_model_state_dict(model.lm, lora_state)
    if result.unexpected_keys:
        raise NanoEmoXError(f"{ckpt}: LoRA weights have unexpected keys {result.unexpected_keys[:3]}")
