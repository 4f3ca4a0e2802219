"""Which device a job runs on: the user's `--device`, checked before any work, or CUDA when there is one."""

from __future__ import annotations

import torch

from nanoemox.errors import NanoEmoXError


def pick_device(name: str | None = None) -> str:
    if name is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError as err:
        raise NanoEmoXError(f"--device {name}: not a device name; use cpu, cuda or cuda:N") from err
    if device.type not in ("cpu", "cuda"):
        raise NanoEmoXError(f"--device {name}: use cpu, cuda or cuda:N")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise NanoEmoXError(f"--device {name}: no CUDA GPU is visible on this machine")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise NanoEmoXError(f"--device {name}: this machine has {torch.cuda.device_count()} GPU(s)")
    return name
