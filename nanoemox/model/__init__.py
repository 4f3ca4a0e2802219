"""The Nano-EmoX model: prompts, LM with LoRA, placeholder replacement, phases, checkpoints."""

from nanoemox.model.nanoemox import (
    NanoEmoX,
    NanoEmoXOutput,
    present_modalities,
    token_counts,
)

__all__ = [
    "NanoEmoX",
    "NanoEmoXOutput",
    "present_modalities",
    "token_counts",
]
