"""`from_pretrained` for HF ids or local folders, with a loading failure turned into an actionable error."""

from typing import Any

from nanoemox.errors import NanoEmoXError


def load_pretrained(cls: Any, name_or_path: str, revision: str | None, key: str, **kwargs: Any) -> Any:
    """`cls.from_pretrained(name_or_path)`; `key` is the config key to point at a local copy instead."""
    try:
        return cls.from_pretrained(name_or_path, revision=revision, **kwargs)
    except OSError as err:
        raise NanoEmoXError(
            f"cannot load '{name_or_path}' ({type(err).__name__}: {str(err).splitlines()[0]}); "
            f"download it and set {key} to its local folder, or use --preset tiny"
        ) from err
