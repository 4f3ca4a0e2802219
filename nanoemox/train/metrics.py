"""Training metrics to metrics.jsonl and TensorBoard event files, from rank 0 only."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from nanoemox import storage
from nanoemox.files import jsonl_objects


class MetricsLog:
    """Appends one JSON line per log step; on resume, lines after the checkpoint's step are dropped first.

    For a run on object storage the TensorBoard files are written locally and uploaded on each `sync`."""

    def __init__(self, out: str | Path, resume_step: int = 0, enabled: bool = True):
        self.enabled = enabled
        if not enabled:
            return
        from torch.utils.tensorboard import SummaryWriter

        storage.makedirs(out)
        path = storage.join(out, "metrics.jsonl")
        logged = jsonl_objects(path) if storage.is_file(path) else []
        kept = [entry for entry in logged if isinstance(entry.get("step"), int) and entry["step"] <= resume_step]
        self.jsonl = storage.open_log(path, [json.dumps(entry) + "\n" for entry in kept])
        self.board_dir = storage.join(out, "tensorboard")
        self.local_board = tempfile.mkdtemp(prefix="nanoemox-tb-") if storage.is_url(out) else self.board_dir
        self.board = SummaryWriter(self.local_board)

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

    def sync(self) -> None:
        """Everything logged so far is stored (object storage is written in whole files, not appended to)."""
        if self.enabled:
            storage.sync_log(self.jsonl)
            self.board.flush()
            self._upload_board()

    def _upload_board(self) -> None:
        if self.local_board != self.board_dir:
            storage.upload_folder(self.local_board, self.board_dir)

    def close(self) -> None:
        if self.enabled:
            self.board.close()
            self.jsonl.close()
            self._upload_board()
            if self.local_board != self.board_dir:
                shutil.rmtree(self.local_board, ignore_errors=True)
