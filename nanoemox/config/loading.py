"""Reading pipeline.yaml: presets stacked left to right, `--set` overrides, a saved config read back, every key
built into the schema and checked, errors that name the file or the override to blame."""

from __future__ import annotations

import copy
import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Literal

import yaml

from nanoemox.config.checks import ConfigError, check_config, suggest
from nanoemox.config.schema import CONFIG_FILE, PipelineConfig
from nanoemox.fileio import storage
from nanoemox.fileio.files import read_yaml, yaml_problem

DEFAULT_CONFIG = (
    Path(__file__).parents[1] / "pipeline.yaml"
).resolve()  # the package file links to the repository root's


def load_config(
    path: str | Path | None = None,
    preset: str | None = None,
    overrides: list[str] | tuple[str, ...] = (),
) -> PipelineConfig:
    """Read pipeline.yaml, apply a preset and `a.b=value` overrides, and validate every key."""
    path = path if storage.is_url(path or "") else Path(path or DEFAULT_CONFIG)
    if not storage.exists(path):
        raise ConfigError(f"{path}: config file not found")
    raw = read_yaml(path, "config file") or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    presets = raw.pop("presets", None)
    name = preset or raw.get("preset", "full")
    if presets is None:  # a config saved beside an output: already resolved
        if preset is not None and preset != raw.get("preset"):
            raise ConfigError(
                f"--preset {preset}: {path} was saved with preset '{raw.get('preset')}'; leave --preset out"
            )
        presets = {part: {} for part in _preset_names(name)}
        _upgrade_saved(raw)
    merged = raw
    for part in _preset_names(name):  # stacked left to right: tiny,published-code
        if part not in presets:
            where = f"--preset {preset}" if preset else f"{path}: 'preset'"
            raise ConfigError(
                f"{where}: unknown preset '{part}'{suggest(part, presets)}; presets: {', '.join(presets)} (in {path})"
            )
        merged = _merge(merged, presets[part] or {})
    merged["preset"] = name
    base = copy.deepcopy(merged)
    for item in overrides:
        _apply_override(merged, item, path)
    try:
        return check_config(_build(PipelineConfig, merged, "", path), path)
    except ConfigError as err:
        if not overrides:
            raise
        check_config(_build(PipelineConfig, base, "", path), path)  # the file and preset alone: their own error
        raise ConfigError(_blame_overrides(str(err), path, overrides)) from None  # else an override's


def _blame_overrides(message: str, path: str | Path, overrides: list[str] | tuple[str, ...]) -> str:
    """`--set KEY=VALUE: ...` in place of the file's name, naming the override(s) whose key the message names."""
    problem = message.removeprefix(f"{path}: ")
    named = [item for item in overrides if f"'{item.split('=', 1)[0].strip()}" in problem]
    return f"{', '.join(f'--set {item}' for item in named or overrides)}: {problem}"


def _upgrade_saved(raw: dict[str, Any]) -> None:
    """A config saved by an earlier version, in today's keys: `runtime` did not exist (threads sized
    automatically), and `train.dataset_weighting` became per phase (with `dataset_weights` and `cosine_start`
    beside it, whose old behaviour is {} and 0)."""
    raw.setdefault("runtime", {"threads": None})
    train = raw.get("train")
    if not isinstance(train, dict) or "dataset_weighting" not in train:
        return
    weighting = train.pop("dataset_weighting")
    for phase in (train.get("phases") or {}).values():
        if isinstance(phase, dict):
            phase.setdefault("dataset_weighting", weighting)
            phase.setdefault("dataset_weights", {})
            phase.setdefault("cosine_start", 0.0)


def _preset_names(name: str) -> list[str]:
    """`tiny,published-code` -> the overlays to apply in order."""
    return [part.strip() for part in str(name).split(",") if part.strip()] or ["full"]


def config_yaml(cfg: PipelineConfig) -> str:
    """The effective config as YAML: every key, the preset and overrides applied."""
    return yaml.safe_dump(cfg.to_dict(), sort_keys=False)


def save_config(cfg: PipelineConfig, out_dir: str | Path) -> str:
    """Write the effective config beside an output, so the output says how it was made."""
    out = storage.join(out_dir, CONFIG_FILE)
    storage.put_text(out, config_yaml(cfg))
    return out


def init_config(path: str | Path) -> Path:
    """Write an editable copy of the default pipeline.yaml (comments kept); an existing file is never replaced."""
    path = Path(path)
    if path.exists():
        raise ConfigError(f"{path}: already exists; not overwritten (remove it or choose another path)")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x") as out:
        out.write(DEFAULT_CONFIG.read_text())
    return path


def diff_configs(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two config dicts, as `key: a != b` lines."""
    if isinstance(a, dict) and isinstance(b, dict):
        lines = []
        for key in sorted(set(a) | set(b)):
            lines += diff_configs(a.get(key), b.get(key), f"{prefix}{key}.")
        return lines
    return [] if a == b else [f"{prefix[:-1]}: {a!r} != {b!r}"]


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _apply_override(data: dict, item: str, path: Path) -> None:
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected KEY=VALUE, for example train.batch_size=4")
    key, text = item.split("=", 1)
    parts = key.strip().split(".")
    node = data
    for depth, part in enumerate(parts[:-1]):
        child = node.get(part)
        if not isinstance(child, dict):
            where = ".".join(parts[: depth + 1])
            raise ConfigError(f"--set {key}: '{where}' is not a section{suggest(part, node)}")
        node = child
    if parts[-1] not in node and not _is_open_mapping(parts):
        raise ConfigError(f"--set {key}: unknown key '{key}'{suggest(parts[-1], node)}")
    try:
        node[parts[-1]] = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"--set {key}: value {text!r} is not valid YAML ({yaml_problem(err)})") from err


def _is_open_mapping(parts: list[str]) -> bool:
    """Sections whose keys are names the user chooses (dataset roots, phase task weights)."""
    return parts[0] == "datasets" or (len(parts) >= 4 and parts[1] == "phases") or parts[:2] == ["storage", "options"]


def _build(tp: Any, value: Any, key: str, path: Path) -> Any:
    """Convert `value` to type `tp`, raising ConfigError that names the dotted key and the file."""
    where = key or "<top level>"
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: '{where}' must be a section, got {value!r}")
        hints = typing.get_type_hints(tp)
        names = [f.name for f in dataclasses.fields(tp)]
        for k in value:
            if k not in hints:
                raise ConfigError(f"{path}: unknown key '{key + '.' if key else ''}{k}'{suggest(k, names)}")
        missing = [n for n in names if n not in value]
        if missing:
            raise ConfigError(f"{path}: '{where}' is missing key(s) {', '.join(missing)}")
        return tp(**{n: _build(hints[n], value[n], f"{key + '.' if key else ''}{n}", path) for n in names})
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _build(inner[0], value, key, path)
    if origin is Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise ConfigError(
                f"{path}: '{where}' must be one of {', '.join(map(str, allowed))}, got {value!r}"
                f"{suggest(value, allowed)}"
            )
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{path}: '{where}' must be a list, got {value!r}")
        (item,) = typing.get_args(tp)
        return [_build(item, v, f"{key}[{i}]", path) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: '{where}' must be a mapping, got {value!r}")
        _, item = typing.get_args(tp)
        return {str(k): _build(item, v, f"{key}.{k}", path) for k, v in value.items()}
    return _scalar(tp, value, where, path)


def _scalar(tp: type, value: Any, where: str, path: Path) -> Any:
    if tp is float and isinstance(value, str):  # YAML 1.1 reads `3e-4` as a string
        try:
            return float(value)
        except ValueError:
            pass
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
        raise ConfigError(f"{path}: '{where}' must be {tp.__name__}, got {value!r}")
    return value
