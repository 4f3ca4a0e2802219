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
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import fsspec
from fsspec.implementations.local import LocalFileSystem

from nanoemox.errors import NanoEmoXError

Location = str | os.PathLike

LOCAL = LocalFileSystem()
_settings: dict[str, Any] = {"options": {}, "sync_every_s": 10.0}


class StorageError(NanoEmoXError):
    """Object storage refused or failed an operation (credentials, bucket, network)."""


def configure(options: dict[str, dict] | None = None, sync_every_s: float = 10.0) -> None:
    """fsspec options per protocol (pipeline.yaml `storage.options`) and how often a log on object storage is
    re-uploaded; set once per process by each command (and each Ray actor that reads shards)."""
    _settings["options"] = dict(options or {})
    _settings["sync_every_s"] = sync_every_s


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


class AppendLog:
    """A text log that only grows (JSON lines): it starts as exactly `kept` lines (written atomically, so a
    torn line of a killed job is gone), then each `write` is flushed. Object storage cannot append, so there
    the whole log is re-uploaded at most every `storage.sync_every_s` seconds and on `close`: the stored
    object is always whole lines, and lines not yet uploaded when a job is killed are simply redone."""

    def __init__(self, location: Location, kept: Sequence[str] = ()):
        self.location, self.lines = str(location), list(kept)
        put_text(self.location, "".join(self.lines))
        self.remote = is_url(self.location)
        self.file = None if self.remote else open(self.location, "a")  # noqa: SIM115
        self.synced = time.monotonic()

    def write(self, lines: list[str]) -> None:
        if self.file is not None:
            self.file.writelines(lines)
            self.file.flush()
            return
        self.lines += lines
        if time.monotonic() - self.synced >= _settings["sync_every_s"]:
            self.sync()

    def sync(self) -> None:
        if self.remote:
            put_text(self.location, "".join(self.lines))
            self.synced = time.monotonic()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
        self.sync()

    def __enter__(self) -> AppendLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
