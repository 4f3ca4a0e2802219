"""Training metrics to metrics.jsonl and TensorBoard event files, from rank 0 only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nanoemox.files import jsonl_objects


class MetricsLog:
    """Appends one JSON line per log step; on resume, lines after the checkpoint's step are dropped first."""

    def __init__(self, out: Path, resume_step: int = 0, enabled: bool = True):
        self.enabled = enabled
        if not enabled:
            return
        from torch.utils.tensorboard import SummaryWriter

        out.mkdir(parents=True, exist_ok=True)
        path = out / "metrics.jsonl"
        logged = jsonl_objects(path) if path.is_file() else []
        kept = [entry for entry in logged if isinstance(entry.get("step"), int) and entry["step"] <= resume_step]
        path.write_text("".join(json.dumps(entry) + "\n" for entry in kept))
        self.jsonl = path.open("a")
        self.board = SummaryWriter(str(out / "tensorboard"))

    def log(self, step: int, values: dict[str, Any]) -> None:
        if not self.enabled:
            return
        self.jsonl.write(json.dumps({"step": step, **values}) + "\n")
        self.jsonl.flush()
        for name, value in values.items():
            if isinstance(value, dict):  # e.g. gate weights per task: {task: [w1, w2, w3]}
                for task, weights in value.items():
                    for i, w in enumerate(weights):
                        self.board.add_scalar(f"{name}/{task}/{i}", w, step)
            elif isinstance(value, int | float):
                self.board.add_scalar(name, value, step)

    def close(self) -> None:
        if self.enabled:
            self.jsonl.close()
            self.board.close()
