"""A worker process for the per-clip CPU work, under a timeout: a hung or crashed decoder is killed and replaced
without taking its caller (a Ray actor, or the `predict` command) down with it.

The work is named by module and class ("package.module:Class"), so the caller never imports what the worker
needs (torch, the decoders, the face detector): a decode actor starts in a fraction of a second and the heavy
imports happen once, in the worker, while Ray is still starting the other actors. The worker is a fresh
`python -m nanoemox.extract.worker`, not a multiprocessing child, so it never re-runs the caller's main script.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from typing import Any

from nanoemox.errors import NanoEmoXError

START_TIMEOUT_S = 300.0  # imports and set-up of a fresh worker, not counted in the per-item timeout


class WorkerError(NanoEmoXError):
    """The worker did not answer for one item: it took longer than the timeout (and was killed), or it died."""


class WorkerStartError(NanoEmoXError):
    """The worker could not set up its work (a missing package, a bad detector): no item can be done."""


def serve(conn: Connection) -> None:
    """The worker's loop: build the work named in the first message and say so, then answer each item with
    (True, result) or (False, message)."""
    target, args = conn.recv()
    module, name = target.split(":")
    try:
        work = getattr(importlib.import_module(module), name)(*args)
    except Exception as err:
        conn.send((False, f"{target}: {type(err).__name__}: {err}"))
        return
    conn.send((True, None))
    while True:
        try:
            item = conn.recv()
        except EOFError:  # the caller closed its end or died
            return
        try:
            conn.send((True, work(item)))
        except Exception as err:  # the work's own failure: the caller decides what it means
            conn.send((False, f"{type(err).__name__}: {err}"))


class TimeoutWorker:
    """Calls `target(*args)(item)` in a worker process; a call that outlives `timeout_s` kills the worker, and the
    next call starts a fresh one (whose imports and set-up do not count against the timeout)."""

    def __init__(self, target: str, *args: Any, timeout_s: float):
        self.target, self.args, self.timeout_s = target, args, timeout_s
        self.process: subprocess.Popen | None = None
        self.ready = False

    def start(self) -> None:
        """Start the worker now (its imports and set-up overlap with the caller's other work)."""
        if self.process is not None and self.process.poll() is None:
            return
        self.conn, theirs = Pipe()
        command = [sys.executable, "-m", "nanoemox.extract.worker", str(theirs.fileno())]
        self.process = subprocess.Popen(command, pass_fds=[theirs.fileno()])
        theirs.close()  # only the worker holds its end, so its death reads as EOF here
        self.conn.send((self.target, self.args))
        self.ready = False

    def close(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
            self.conn.close()

    def _reply(self, timeout_s: float, error: type[NanoEmoXError], late: str, died: str) -> tuple[bool, Any]:
        """The worker's next (ok, payload); one silent for `timeout_s`, or dead, is killed and `error` raised."""
        if not self.conn.poll(timeout_s):
            self.close()
            raise error(late)
        try:
            return self.conn.recv()
        except EOFError:
            self.close()
            raise error(died) from None

    def _wait_ready(self) -> None:
        late = f"{self.target}: the worker did not start within {START_TIMEOUT_S:.0f} s"
        ok, message = self._reply(
            START_TIMEOUT_S, WorkerStartError, late, f"{self.target}: the worker died while starting"
        )
        if not ok:
            self.close()
            raise WorkerStartError(message)
        self.ready = True

    def __call__(self, item: Any, what: str) -> Any:
        """The work's result for `item`; `what` names the item in errors (a file path)."""
        self.start()
        if not self.ready:
            self._wait_ready()
        self.conn.send(item)
        late = f"{what}: decoding took longer than {self.timeout_s:.0f} s; the decoder was killed"
        ok, payload = self._reply(self.timeout_s, WorkerError, late, f"{what}: the decoder process crashed")
        if not ok:
            raise WorkerError(f"{what}: {payload}")
        return payload


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])))
