"""Progress bars for every command: redrawn in place on a terminal, a plain line every few seconds elsewhere.

A log file, CI or a cluster job's output would otherwise fill with hundreds of carriage-return redraws.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import IO, Any

from tqdm import tqdm

PLAIN_EVERY_S = 5.0
PLAIN_FORMAT = "{desc}: {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}]"


class PlainLines:
    """A stream for tqdm that turns each in-place redraw into one plain line (repeats dropped)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream, self.last = stream, ""

    def write(self, text: str) -> None:
        line = text.replace("\r", "").rstrip()
        if line and line != self.last:
            self.stream.write(line + "\n")
            self.last = line

    def flush(self) -> None:
        self.stream.flush()


def progress(iterable: Iterable | None = None, *, file: IO[str] | None = None, **kwargs: Any) -> tqdm:
    """A tqdm bar on `file` (default: stderr); when that is not a terminal, plain lines every PLAIN_EVERY_S."""
    stream = file or sys.stderr
    if getattr(stream, "isatty", lambda: False)():
        return tqdm(iterable, file=stream, **kwargs)
    plain = {"mininterval": PLAIN_EVERY_S, "bar_format": PLAIN_FORMAT}
    return tqdm(iterable, file=PlainLines(stream), **(plain | kwargs))
