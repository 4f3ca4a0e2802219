"""Reading the files users hand us (configs, predictions, results, indexes, weights): every failure is one
error that names the file and what is wrong with it, never a traceback."""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from tokenize import TokenError
from typing import Any

import yaml

from nanoemox.errors import NanoEmoXError
from nanoemox.fileio import storage


class NotUTF8Error(NanoEmoXError):
    """A text file in another encoding; `start` is the first undecodable byte."""

    def __init__(self, path: str | Path, start: int):
        super().__init__(f"{path}: not UTF-8 text (byte {start}); re-save it as UTF-8")
        self.start = start


def read_bytes(path: str | Path, what: str = "file") -> bytes:
    """A local file or an fsspec URL (s3://...)."""
    if storage.is_dir(path):
        raise NanoEmoXError(f"{path}: is a folder; expected a {what}")
    if not storage.is_file(path):
        raise NanoEmoXError(f"{path}: {what} not found")
    return storage.read_bytes(path)


def read_text(path: str | Path, what: str = "file") -> str:
    """UTF-8 text (a BOM is dropped)."""
    data = read_bytes(path, what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise NotUTF8Error(path, err.start) from err


def read_json(path: str | Path, what: str = "JSON file") -> Any:
    try:
        return json.loads(read_text(path, what))
    except json.JSONDecodeError as err:
        raise NanoEmoXError(f"{path}:{err.lineno}: invalid JSON ({err.msg})") from err


def jsonl_objects(path: str | Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSON-lines log, leaving out a torn last line (a killed job) or any malformed one."""
    objects = []
    for line in read_text(path, "JSON-lines file").splitlines():
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            objects.append(value)
    return objects


def read_yaml(path: str | Path, what: str = "YAML file") -> Any:
    try:
        return yaml.safe_load(read_text(path, what))
    except yaml.YAMLError as err:
        raise NanoEmoXError(f"{path}: invalid YAML ({yaml_problem(err)})") from err


def yaml_problem(err: yaml.YAMLError) -> str:
    mark, problem = getattr(err, "problem_mark", None), getattr(err, "problem", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    return f"{where}{problem or err}"


@contextmanager
def writing(path: str | Path) -> Iterator[None]:
    """An OS error while writing under `path` names it: a full disk's error names no file, and safetensors
    reports its I/O errors as SafetensorError, not OSError."""
    from safetensors import SafetensorError

    try:
        yield
    except OSError as err:
        if err.filename is None:
            err.filename = str(path)
        raise
    except SafetensorError as err:
        code = re.search(r"\(os error (\d+)\)", str(err))
        if code is None:
            raise
        raise OSError(int(code[1]), os.strerror(int(code[1])), str(path)) from err


def read_safetensors(path: str | Path, what: str = "weights file") -> dict[str, Any]:
    from safetensors import SafetensorError
    from safetensors.torch import load

    data = read_bytes(path, what)
    try:
        return load(data)
    except SafetensorError as err:
        raise NanoEmoXError(f"{path}: damaged {what} ({err})") from err


# what numpy's header parser, the zip reader and the plain unpickler raise on damaged or crafted bytes
DAMAGED_NPZ = (OSError, ValueError, TypeError, EOFError, TokenError, zipfile.BadZipFile, pickle.UnpicklingError)


def read_npz(path: str | Path, what: str = "NumPy .npz file") -> dict[str, Any]:
    """Every array of an .npz; object arrays (pickled dicts, lists, strings) are read without running any code."""
    data = read_bytes(path, what)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return {
                name.removesuffix(".npy"): _npy_array(archive.read(name))
                for name in archive.namelist()
                if name.endswith(".npy")
            }
    except DAMAGED_NPZ as err:
        raise NanoEmoXError(f"{path}: not a readable {what} ({err})") from err


def _npy_array(raw: bytes) -> Any:
    import numpy as np

    stream = io.BytesIO(raw)
    version = np.lib.format.read_magic(stream)
    header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = header(stream)
    if not dtype.hasobject:  # the header's size is checked against the bytes there before anything is allocated
        body, count = raw[stream.tell() :], math.prod(shape)
        if len(body) != count * dtype.itemsize:
            raise ValueError(f"an array of shape {shape} and dtype {dtype} needs {count * dtype.itemsize} bytes")
        return np.frombuffer(body, dtype=dtype).reshape(shape, order="F" if fortran else "C").copy()
    from nanoemox.fileio.plain_pickle import load_plain

    array = load_plain(stream)
    if not isinstance(array, np.ndarray):
        raise ValueError(f"an object array holds {type(array).__name__}, not an array")
    return array
