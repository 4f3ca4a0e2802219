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


class CpuByRole:
    """CPU seconds spent by this process and all its descendants (Ray's workers and their decode workers) while
    the block runs, summed by role: `roles` maps a name to a substring of the command line; the rest is "other".
    Processes are sampled every 0.2 s: the last 0.2 s of one that ends before the block does may be missed."""

    def __init__(self, roles: dict[str, str]):
        self.roles = roles

    def role(self, process: psutil.Process) -> str:
        if process.pid == psutil.Process().pid:
            return "driver"
        command = " ".join(process.cmdline())
        return next((name for name, key in self.roles.items() if key in command), "other")

    def __enter__(self) -> CpuByRole:
        import threading

        self.start: dict[int, float] = {}
        self.last: dict[int, tuple[str, float]] = {}
        self._sample(first=True)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _sample(self, first: bool = False) -> None:
        me = psutil.Process()
        for process in [me, *me.children(recursive=True)]:
            try:
                times = process.cpu_times()
                used = times.user + times.system  # not children_*: a reaped child was sampled itself
                role = self.role(process)  # again each time: a Ray worker takes its actor's name when it gets one
                if role == "other" and process.pid in self.last:  # an ended process has no command line left
                    role = self.last[process.pid][0]
            except psutil.Error:
                continue
            if first:
                self.start[process.pid] = used
            self.last[process.pid] = (role, used)

    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.seconds: dict[str, float] = {}
        for pid, (role, used) in self.last.items():
            self.seconds[role] = self.seconds.get(role, 0.0) + used - self.start.get(pid, 0.0)
