"""Reading the files users hand us (configs, predictions, results, indexes, weights): every failure is one
error that names the file and what is wrong with it, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from nanoemox.errors import NanoEmoXError


class NotUTF8Error(NanoEmoXError):
    """A text file in another encoding; `start` is the first undecodable byte."""

    def __init__(self, path: Path, start: int):
        super().__init__(f"{path}: not UTF-8 text (byte {start}); re-save it as UTF-8")
        self.start = start


def read_bytes(path: str | Path, what: str = "file") -> bytes:
    path = Path(path)
    if path.is_dir():
        raise NanoEmoXError(f"{path}: is a folder; expected a {what}")
    if not path.is_file():
        raise NanoEmoXError(f"{path}: {what} not found")
    return path.read_bytes()


def read_text(path: str | Path, what: str = "file") -> str:
    """UTF-8 text (a BOM is dropped)."""
    data = read_bytes(path, what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise NotUTF8Error(Path(path), err.start) from err


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


def read_safetensors(path: str | Path, what: str = "weights file") -> dict[str, Any]:
    from safetensors import SafetensorError
    from safetensors.torch import load

    data = read_bytes(path, what)
    try:
        return load(data)
    except SafetensorError as err:
        raise NanoEmoXError(f"{path}: damaged {what} ({err})") from err
