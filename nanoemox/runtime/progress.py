"""Progress bars for every command: redrawn in place on a terminal, a plain line every few seconds elsewhere.

A log file, CI or a cluster job's output would otherwise fill with hundreds of carriage-return redraws.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from typing import IO, Any

from tqdm import tqdm

PLAIN_EVERY_S = 5.0
PLAIN_FORMAT = "{desc}: {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}]"


class PlainLines:
    """A stream for tqdm that turns each in-place redraw into one plain line, at most one per `every` seconds
    (a new postfix redraws at once, whatever tqdm's mininterval) but always the last; a redraw at the same count as
    the line before (the final refresh and the close) is dropped."""

    def __init__(self, stream: IO[str], every: float) -> None:
        self.stream, self.every, self.last, self.written_at = stream, every, "", float("-inf")

    def write(self, text: str) -> None:
        line = text.replace("\r", "").rstrip()
        count = line.split(" [", 1)[0]  # `desc: n/total`
        done, _, total = count.rpartition(" ")[2].partition("/")
        due = time.monotonic() - self.written_at >= self.every or done == total or not self.last
        if line and count != self.last and due:
            self.stream.write(line + "\n")
            self.last, self.written_at = count, time.monotonic()

    def flush(self) -> None:
        self.stream.flush()


def progress(iterable: Iterable | None = None, *, file: IO[str] | None = None, **kwargs: Any) -> tqdm:
    """A tqdm bar on `file` (default: stderr); when that is not a terminal, plain lines every PLAIN_EVERY_S."""
    stream = file or sys.stderr
    if getattr(stream, "isatty", lambda: False)():
        return tqdm(iterable, file=stream, **kwargs)
    plain = {"mininterval": PLAIN_EVERY_S, "bar_format": PLAIN_FORMAT}
    if kwargs.get("leave") is False:  # a passing bar (erased on a terminal) prints in a log only once it is slow
        plain["delay"] = PLAIN_EVERY_S
    options = plain | kwargs
    return tqdm(iterable, file=PlainLines(stream, options["mininterval"]), **options)
