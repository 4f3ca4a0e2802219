"""Training metrics to metrics.jsonl and TensorBoard event files, from rank 0 only."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import torch

from nanoemox.fileio import storage
from nanoemox.fileio.files import jsonl_objects


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


class RunningMetrics:
    """Running totals between two log steps (mean loss, samples/s, fusion gate weights per task), and the
    session's totals for the stage's summary line."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.session_samples = 0
        self.last_loss = float("nan")
        self._start_window()

    def _start_window(self) -> None:
        self.window_start, self.window_samples = time.perf_counter(), 0
        self.loss_sum, self.loss_count = 0.0, 0
        self.gate_sums: dict[str, torch.Tensor] = {}
        self.gate_counts: dict[str, int] = defaultdict(int)

    def add_samples(self, count: int) -> None:
        self.session_samples += count
        self.window_samples += count

    def add_gates(self, gates: torch.Tensor | None, tasks: list[str]) -> None:
        """The fusion gate weights of a batch, per task, to log which expert each task leans on."""
        if gates is None:
            return
        for task, weights in zip(tasks, gates.detach().float().cpu(), strict=True):
            self.gate_sums[task] = self.gate_sums.get(task, 0) + weights
            self.gate_counts[task] += 1

    def add_step(self, loss: float) -> None:
        self.loss_sum, self.loss_count = self.loss_sum + loss, self.loss_count + 1

    def window(self) -> dict[str, Any]:
        """The means since the last call (loss, samples_per_s, gates), then a new window."""
        values = {
            "loss": self.loss_sum / self.loss_count,
            "samples_per_s": self.window_samples / (time.perf_counter() - self.window_start),
            "gates": {t: (self.gate_sums[t] / self.gate_counts[t]).tolist() for t in self.gate_sums},
        }
        self.last_loss = values["loss"]
        self._start_window()
        return values

    def seconds(self) -> float:
        return time.perf_counter() - self.started
