"""Pretrained weights: checked on disk before a job starts, then loaded with `from_pretrained` (HF ids or local
folders); a missing model is one line that names it, where it was looked for, and the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nanoemox.config import ModelConfig
from nanoemox.errors import NanoEmoXError

FACEXFORMER = "kartiknarayan/facexformer"
TINY_FIX = "or use --preset tiny (the same architectures, small and random-initialised: no weights)"


def load_pretrained(cls: Any, name_or_path: str, revision: str | None, key: str, **kwargs: Any) -> Any:
    """`cls.from_pretrained(name_or_path)`; `key` is the config key to point at a local copy instead."""
    try:
        return cls.from_pretrained(name_or_path, revision=revision, **kwargs)
    except OSError as err:
        raise NanoEmoXError(
            f"{key}: cannot load '{name_or_path}' ({type(err).__name__}: {str(err).splitlines()[0]}); "
            f"download it and set {key} to its local folder, {TINY_FIX}"
        ) from err


def missing_pretrained(name_or_path: str, revision: str | None) -> str | None:
    """Where `name_or_path` was looked for when it is neither a local model folder nor in the Hugging Face cache
    (checked offline), else None."""
    from huggingface_hub import constants, try_to_load_from_cache

    folder = Path(name_or_path).expanduser()
    if folder.is_dir():
        return None if (folder / "config.json").is_file() else f"the folder {folder} holds no config.json"
    if folder.is_absolute() or name_or_path.startswith((".", "~")) or name_or_path.count("/") > 1:
        return f"no such folder: {folder}"
    if isinstance(try_to_load_from_cache(name_or_path, "config.json", revision=revision), str):
        return None
    return f"not a local folder, not in the Hugging Face cache {constants.HF_HUB_CACHE}"


def check_weights(model: ModelConfig, parts: tuple[str, ...]) -> None:
    """Refuse to start a job (before Ray and its workers start) while the pretrained weights of `parts` (clip,
    hubert, face, lm) are not on this machine; one line names each missing model, where it was looked for, and
    the fix."""
    enc = model.encoders
    hf_models = {
        "clip": (enc.clip.init, "model.encoders.clip.name_or_path", enc.clip.name_or_path, enc.clip.revision),
        "hubert": (enc.hubert.init, "model.encoders.hubert.name_or_path", enc.hubert.name_or_path, enc.hubert.revision),
        "lm": (model.lm.init, "model.lm.name_or_path", model.lm.name_or_path, model.lm.revision),
    }
    missing, downloads = [], []
    for init, key, name, revision in (hf_models[part] for part in parts if part in hf_models):
        where = missing_pretrained(name, revision) if init == "pretrained" else None
        if where:
            missing.append(f"{key} {name} ({where})")
            downloads.append(f"hf download {name}" + (f" --revision {revision}" if revision else ""))
    face = Path(enc.face.checkpoint).expanduser()
    if "face" in parts and enc.face.init == "pretrained" and not face.is_file():
        missing.append(f"model.encoders.face.checkpoint {enc.face.checkpoint} (no such file: {face.absolute()})")
        downloads.append(f"hf download {FACEXFORMER} ckpts/model.pt --local-dir DIR, then set it to DIR/ckpts/model.pt")
    if missing:
        raise NanoEmoXError(
            f"pretrained weights not found: {'; '.join(missing)}. Fix: download them ({'; '.join(downloads)}), or "
            f"set each key to a local copy (--set KEY=PATH or in the config), {TINY_FIX}"
        )
