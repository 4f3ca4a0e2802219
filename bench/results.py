"""Keeps bench/RESULTS.md current: each benchmark rewrites only its own section."""

from __future__ import annotations

import platform
import re
import time
from pathlib import Path

import psutil

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADER = (
    "# Benchmark results\n\nEach section is rewritten by the command it names. Ratios are measured within one run.\n"
)


def machine() -> str:
    memory = psutil.virtual_memory().total / 2**30
    return f"{platform.processor() or platform.machine()}, {psutil.cpu_count()} cores, {memory:.0f} GiB"


def update_section(name: str, body: str) -> None:
    """Replace (or append) the section between `<!-- name:begin -->` and `<!-- name:end -->`."""
    text = RESULTS.read_text() if RESULTS.is_file() else HEADER
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    block = f"<!-- {name}:begin -->\n{body.strip()}\n\n_Measured {stamp} on {machine()}._\n<!-- {name}:end -->"
    pattern = re.compile(rf"<!-- {re.escape(name)}:begin -->.*?<!-- {re.escape(name)}:end -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(text)


class PeakMemory:
    """Peak of the machine's used memory above what was in use when the block started (covers Ray workers)."""

    def __enter__(self) -> PeakMemory:
        import threading

        self.base = psutil.virtual_memory().used
        self.peak, self._stop = 0, threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, psutil.virtual_memory().used - self.base)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
