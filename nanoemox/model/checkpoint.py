"""Checkpoint format: heads as safetensors, LoRA in PEFT's format, and the config that built them."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from peft import set_peft_model_state_dict
from safetensors.torch import save_file

from nanoemox.config import CONFIG_FILE, SPEED_KEYS, PipelineConfig, diff_configs, save_config
from nanoemox.errors import NanoEmoXError
from nanoemox.fileio import storage
from nanoemox.fileio.files import read_safetensors, read_yaml
from nanoemox.model.nanoemox import NanoEmoX
from nanoemox.runs import HEADS_FILE, LORA_DIR


def save_checkpoint(model: NanoEmoX, cfg: PipelineConfig, out_dir: str | Path) -> Path:
    """Write heads.safetensors, lora/ (adapter_config.json + adapter_model.safetensors), config.yaml."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.heads.state_dict().items()}
    save_file(state, out / HEADS_FILE, metadata={"model_hash": cfg.model_hash()})
    model.lm.save_pretrained(out / LORA_DIR)
    save_config(cfg, out)
    return out


@contextmanager
def fitting(path: str | Path) -> Iterator[None]:
    """A weights file whose tensors do not fit the model (missing, extra, wrong shape) is one line naming it."""
    try:
        yield
    except RuntimeError as err:  # load_state_dict lists every problem on its own line after a header
        problems = [line.strip() for line in str(err).splitlines()[1:] if line.strip()] or [str(err)]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise NanoEmoXError(f"{path}: does not fit the model: {problems[0]}{more}") from err


def load_checkpoint(model: NanoEmoX, cfg: PipelineConfig, ckpt: str | Path) -> None:
    """Load heads and LoRA from a checkpoint's folder (`runs.checkpoint_folder` finds it in a stage folder) into
    `model`; refuse a checkpoint made with a different model config."""
    for needed in (HEADS_FILE, CONFIG_FILE, f"{LORA_DIR}/adapter_model.safetensors"):
        if not storage.is_file(storage.join(ckpt, needed)):
            raise NanoEmoXError(f"{ckpt}: not a nanoemox checkpoint ({needed} is missing)")
    saved = read_yaml(storage.join(ckpt, CONFIG_FILE), "checkpoint config")
    differences = [
        line
        for line in diff_configs(saved.get("model"), cfg.to_dict()["model"], "model.")
        if not line.startswith(SPEED_KEYS)
    ]
    if differences:
        listed = "\n  ".join(differences[:10])
        raise NanoEmoXError(
            f"{ckpt}: checkpoint was made with a different model config (saved != current):\n  {listed}"
        )
    heads_path, lora_path = storage.join(ckpt, HEADS_FILE), storage.join(ckpt, LORA_DIR, "adapter_model.safetensors")
    with fitting(heads_path):
        model.heads.load_state_dict(read_safetensors(heads_path, "heads weights"), strict=True)
    with fitting(lora_path):
        result = set_peft_model_state_dict(model.lm, read_safetensors(lora_path, "LoRA weights"))
    if result.unexpected_keys:
        raise NanoEmoXError(f"{ckpt}: LoRA weights have unexpected keys {result.unexpected_keys[:3]}")
