"""Nano-EmoX: a unified multimodal emotion model trained on cached frozen-encoder features."""

__version__ = "0.1.0"
