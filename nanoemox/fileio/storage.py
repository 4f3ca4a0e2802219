"""Where outputs live: a local folder or any fsspec URL (s3://bucket/...), with the few operations the pipeline
needs, each keeping its guarantee on both: a file appears whole or not at all, a log is always whole lines.

Locations are strings (a `pathlib.Path` would turn `s3://b` into `s3:/b`). Object storage has no rename and no
append: a finished file is published with one PUT (an upload that completes at once), and a growing log is
re-uploaded whole. Credentials come from the environment (AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL, ...), other
fsspec options from `storage.options` in pipeline.yaml.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from nanoemox.errors import NanoEmoXError

Location = str | os.PathLike

LOCAL = LocalFileSystem()
_settings: dict[str, Any] = {"options": {}, "sync_every_s": 10.0, "lock_stale_s": 60.0}


class StorageError(NanoEmoXError):
    """Object storage refused or failed an operation (credentials, bucket, network)."""


def configure(options: dict[str, dict] | None = None, sync_every_s: float = 10.0, lock_stale_s: float = 60.0) -> None:
    """pipeline.yaml's `storage` section: fsspec options per protocol, how often a log on object storage is
    re-uploaded, when a lock there is abandoned; set once per process by each command (and each Ray actor that
    reads shards)."""
    _settings.update(options=dict(options or {}), sync_every_s=sync_every_s, lock_stale_s=lock_stale_s)


def is_url(location: Location) -> bool:
    return "://" in str(location)


def join(base: Location, *parts: str) -> str:
    """`base/part/...`; a part that is itself a URL or an absolute path replaces what comes before it."""
    out = str(base)
    for part in map(str, parts):
        if is_url(part) or os.path.isabs(part):
            out = part
        elif is_url(out):
            out = posixpath.join(out, part)
        else:
            out = os.path.join(out, part)
    return out


def name(location: Location) -> str:
    """The last component: `s3://b/run/phase3` -> `phase3`."""
    return posixpath.basename(str(location).rstrip("/"))


def parent(location: Location) -> str:
    text = str(location).rstrip("/")
    return posixpath.dirname(text) if is_url(text) else str(Path(text).parent)


def local_folder(location: Location) -> str:
    """A local folder for files that stay on this machine (Ray's log): the location itself when local, else the
    system's temporary folder."""
    return tempfile.gettempdir() if is_url(location) else str(location)


def filesystem(location: Location) -> tuple[fsspec.AbstractFileSystem, str]:
    """The fsspec filesystem of a location and the path within it."""
    if not is_url(location):
        return LOCAL, str(location)
    protocol = str(location).split("://", 1)[0]
    try:
        return fsspec.url_to_fs(str(location), **_settings["options"].get(protocol, {}))
    except (ImportError, ValueError) as err:
        raise StorageError(f"{location}: cannot open this kind of URL ({err})") from err


def _remote(location: Location, action: str, err: Exception) -> StorageError:
    return StorageError(f"{location}: could not {action} ({type(err).__name__}: {err})")


def exists(location: Location) -> bool:
    fs, path = filesystem(location)
    try:
        return fs.exists(path)
    except Exception as err:
        raise _remote(location, "check it", err) from err


def is_file(location: Location) -> bool:
    fs, path = filesystem(location)
    try:
        return fs.isfile(path)
    except Exception as err:
        raise _remote(location, "check it", err) from err


def is_dir(location: Location) -> bool:
    fs, path = filesystem(location)
    try:
        return fs.isdir(path)
    except Exception as err:
        raise _remote(location, "check it", err) from err


def read_bytes(location: Location) -> bytes:
    fs, path = filesystem(location)
    if fs is LOCAL:
        return Path(path).read_bytes()
    try:
        return fs.cat_file(path)
    except FileNotFoundError:
        raise
    except Exception as err:
        raise _remote(location, "read it", err) from err


def size(location: Location) -> int:
    fs, path = filesystem(location)
    try:
        return fs.size(path)
    except Exception as err:
        raise _remote(location, "check it", err) from err


def open_read(location: Location) -> IO[bytes]:
    """A binary stream (shards are read as they download, not loaded whole)."""
    fs, path = filesystem(location)
    return fs.open(path, "rb")


def makedirs(location: Location) -> None:
    """A local folder is created; on object storage folders need no creating."""
    if not is_url(location):
        Path(location).mkdir(parents=True, exist_ok=True)


def put_bytes(location: Location, data: bytes) -> None:
    """Write a whole file atomically: locally a temporary name then a rename, on object storage one PUT."""
    fs, path = filesystem(location)
    if fs is LOCAL:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        return
    try:
        fs.pipe_file(path, data)
    except Exception as err:
        raise _remote(location, "write it", err) from err


def put_text(location: Location, text: str) -> None:
    put_bytes(location, text.encode())


def staging_file(location: Location) -> str:
    """A local file to build `location` in before `publish_file`: beside it for a local path (so publishing is a
    rename on the same disk), in a temporary folder for a URL."""
    if not is_url(location):
        return str(location) + ".tmp"
    folder = tempfile.mkdtemp(prefix="nanoemox-")
    return os.path.join(folder, name(location))


def publish_file(staging: str, location: Location) -> None:
    """Make a finished staging file appear at `location` whole (a rename, or one upload), then drop the staging."""
    fs, path = filesystem(location)
    if fs is LOCAL:
        os.replace(staging, path)
        return
    try:
        fs.put_file(staging, path)  # a multipart upload too is visible only once completed
    except Exception as err:
        raise _remote(location, "upload it", err) from err
    shutil.rmtree(os.path.dirname(staging), ignore_errors=True)


def upload_folder(local_dir: Location, location: Location) -> None:
    """Copy every file of a finished local folder under `location` (each file one PUT)."""
    fs, path = filesystem(location)
    try:
        for source in sorted(Path(local_dir).rglob("*")):
            if source.is_file():
                fs.put_file(str(source), posixpath.join(path, source.relative_to(local_dir).as_posix()))
    except Exception as err:
        raise _remote(location, "upload to it", err) from err


def list_names(location: Location) -> list[str]:
    """Names of the files and folders directly in `location` (none when it does not exist)."""
    fs, path = filesystem(location)
    try:
        if fs is not LOCAL:
            fs.invalidate_cache(path)
        if not fs.isdir(path):
            return []
        return sorted(posixpath.basename(p.rstrip("/")) for p in fs.ls(path, detail=False))
    except Exception as err:
        raise _remote(location, "list it", err) from err


def find(root: Location, filename: str) -> list[str]:
    """Every location of a file called `filename` at any depth under `root`."""
    if not is_url(root):
        return sorted(str(p) for p in Path(root).rglob(filename))
    fs, path = filesystem(root)
    protocol = str(root).split("://", 1)[0]
    try:
        fs.invalidate_cache(path)
        found = [p for p in fs.find(path) if posixpath.basename(p) == filename]
    except Exception as err:
        raise _remote(root, "list it", err) from err
    return sorted(f"{protocol}://{p}" for p in found)


def remove(location: Location) -> None:
    """Delete a file or a whole folder; nothing happens when it is not there."""
    fs, path = filesystem(location)
    if fs is LOCAL:
        target = Path(path)
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
        return
    try:
        if fs.exists(path):
            fs.rm(path, recursive=True)
    except Exception as err:
        raise _remote(location, "delete it", err) from err


def open_log(location: Location, kept: Sequence[str] | None = None) -> IO[str] | ObjectLog:
    """A text log to append lines to and flush (JSON lines), starting as exactly the `kept` lines (written
    atomically, so a torn line of a killed job is gone) or, with None, as it is. Locally a file opened for
    appending; on object storage an ObjectLog."""
    if kept is not None:
        put_text(location, "".join(kept))
    if not is_url(location):
        return open(location, "a")
    if kept is not None:
        return ObjectLog(str(location), "".join(kept))
    return ObjectLog(str(location), read_bytes(location).decode() if is_file(location) else "")


def sync_log(log: IO[str] | ObjectLog) -> None:
    """Store every line written so far now (before a checkpoint, which must not be ahead of its log)."""
    if isinstance(log, ObjectLog):
        log.sync()
    else:
        log.flush()


class ObjectLog:
    """A log on object storage, which cannot append: the whole text is re-uploaded (one PUT) on `flush` at most
    every `storage.sync_every_s` seconds, on `sync` and on `close`. The stored object is always whole lines;
    lines a killed job had not uploaded yet are missing, so the job redoes them on resume."""

    def __init__(self, location: str, text: str = ""):
        self.location, self.parts = location, [text]
        self.synced = time.monotonic()

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        self.parts.extend(lines)

    def flush(self) -> None:
        if time.monotonic() - self.synced >= _settings["sync_every_s"]:
            self.sync()

    def sync(self) -> None:
        put_text(self.location, "".join(self.parts))
        self.synced = time.monotonic()

    def close(self) -> None:
        self.sync()

    def __enter__(self) -> ObjectLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def object_lock(output: str, job: str) -> Iterator[None]:
    """Best-effort lock on object storage, which has no flock: `<output>.lock` names its holder and is rewritten
    every `storage.lock_stale_s` / 4 seconds (a heartbeat). A lock older than `storage.lock_stale_s` (by the
    server's clock) belongs to a killed job and is taken over. Two jobs starting within the same second can
    both win: S3 offers fsspec no compare-and-swap."""
    path, stale = output.rstrip("/") + ".lock", _settings["lock_stale_s"]
    fs, key = filesystem(path)
    fs.invalidate_cache(key)
    if fs.exists(key):
        age = (datetime.now(timezone.utc) - fs.modified(key)).total_seconds()
        if age < stale:
            holder = fs.cat_file(key).decode().rsplit(" token ", 1)[0]
            raise StorageError(
                f"{output}: {holder} is writing here (heartbeat {age:.0f} s ago); wait for it to finish, or "
                f"write elsewhere (a killed job's lock expires {stale:g} s after its last heartbeat)"
            )
    since = time.strftime("%Y-%m-%d %H:%M:%S")
    body = f"{job} (pid {os.getpid()} on {socket.gethostname()}, since {since}) token {uuid.uuid4().hex}"
    put_text(path, body)
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(stale / 4):
            put_text(path, body)

    beating = threading.Thread(target=heartbeat, daemon=True)
    beating.start()
    try:
        yield
    finally:
        stop.set()
        beating.join()
        if fs.exists(key) and fs.cat_file(key).decode() == body:
            fs.rm(key)
