"""One writer per output: a job holds `<output>.lock` while it writes, so a second job is refused, not interleaved.

The lock is an `fcntl.flock` on that file: the OS drops it when the holding process ends, even by SIGKILL, so a
killed job never leaves an output locked. The file also names the holder (pid, host, start time) for the message.
Object storage has no such lock: there `storage.object_lock` keeps a best-effort heartbeat lock instead.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nanoemox.errors import NanoEmoXError
from nanoemox.fileio import storage


class LockedError(NanoEmoXError):
    """Another live job is writing the same output."""


def lock_path(output: str | Path) -> Path:
    """The lock file of an output (a folder or a file): beside it, so deleting the output keeps the lock."""
    output = Path(output)
    return output.with_name(output.name + ".lock")


@contextmanager
def locked(output: str | Path, job: str) -> Iterator[None]:
    """Hold the output's lock for the block, or raise LockedError naming the job that holds it."""
    if storage.is_url(output):
        with storage.object_lock(str(output), job):
            yield
        return
    path = lock_path(output)
    created = [folder for folder in (path.parent, *path.parent.parents) if not folder.exists()]
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        handle = path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise LockedError(
                f"{output}: {holder} is writing here; wait for it to finish, or write elsewhere "
                f"(a killed job's lock is released by the OS)"
            ) from None
        if _same_file(handle, path):  # not a file the previous holder unlinked after we opened it
            break
        handle.close()
    handle.truncate(0)
    handle.write(f"{job} (pid {os.getpid()} on {socket.gethostname()}, since {time.strftime('%Y-%m-%d %H:%M:%S')})")
    handle.flush()
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
        handle.close()
        for folder in created:  # a job that failed before writing leaves no empty folder behind
            with contextlib.suppress(OSError):
                folder.rmdir()


def lock_holder(output: str | Path) -> str | None:
    """Who holds a local output's lock right now (the job line it wrote), or None: for status from another terminal."""
    path = lock_path(output)
    try:
        handle = path.open("r")
    except FileNotFoundError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return handle.read().strip() or "another process"
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None


def _same_file(handle, path: Path) -> bool:
    try:
        return os.fstat(handle.fileno()).st_ino == path.stat().st_ino
    except FileNotFoundError:
        return False
