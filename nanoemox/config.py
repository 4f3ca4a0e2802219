"""The typed schema of pipeline.yaml: presets, `--set` overrides, validation with helpful errors."""

from __future__ import annotations

import copy
import dataclasses
import difflib
import hashlib
import json
import math
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from nanoemox.errors import NanoEmoXError
from nanoemox.fileio import storage
from nanoemox.fileio.files import read_yaml, yaml_problem

DEFAULT_CONFIG = (Path(__file__).parent / "pipeline.yaml").resolve()  # the package file links to the repository root's
MODALITIES = ("speech", "visual", "face", "fusion")
CONFIG_FILE = "config.yaml"  # the effective config, saved beside every output it made
PHASES = ("1-speech", "1-visual", "2", "3", "joint")
TASKS = ("mer", "ov-mer", "msa", "mir", "eri", "erg")
HUBERT_CONV_LAYERS = 7  # the feature extractor's conv kernels and strides (HubertConfig defaults)
# how fast, not what is learned: a checkpoint or a resumed run may be read with other values
SPEED_KEYS = (
    "model.lm.attn_implementation",
    "train.precision",
    "train.fused_adamw",
    "train.compile",
    "train.gradient_checkpointing",
)


class ConfigError(NanoEmoXError):
    """An unknown key, a wrong type or a bad value in the config."""


# ----------------------------------------------------------------------------- model


@dataclass
class ClipConfig:
    """CLIP vision tower (frozen). `init: pretrained` loads `name_or_path`; `random` builds from sizes."""

    init: Literal["pretrained", "random"]
    name_or_path: str
    revision: str | None
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    image_size: int
    patch_size: int
    fusion_layers: list[int]
    qformer_layers: list[int]


@dataclass
class HubertConfig:
    """HuBERT speech encoder (frozen); the time-mean of each 2 s window is kept per layer."""

    init: Literal["pretrained", "random"]
    name_or_path: str
    revision: str | None
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    conv_dim: list[int]
    num_conv_pos_embeddings: int
    num_conv_pos_embedding_groups: int
    fusion_layers: list[int]
    qformer_layers: list[int]


def cached_layers(encoder: ClipConfig | HubertConfig) -> list[int]:
    """Hidden-state indices stored per clip: the union of fusion and Q-Former layers, ascending."""
    return sorted(set(encoder.fusion_layers) | set(encoder.qformer_layers))


@dataclass
class FaceConfig:
    """FaceXFormer encoder (Swin features + multi-scale fusion), one vector per face crop."""

    init: Literal["pretrained", "random"]
    checkpoint: str
    embed_dim: int
    depths: list[int]
    num_heads: list[int]
    window_size: int
    image_size: int
    out_dim: int
    train_mode: bool


@dataclass
class EncodersConfig:
    clip: ClipConfig
    hubert: HubertConfig
    face: FaceConfig


@dataclass
class QFormerConfig:
    """BLIP-2 Q-Former shared by the visual and speech branches (each has its own weights)."""

    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    num_queries: int
    dropout: float


@dataclass
class FaceTemporalConfig:
    num_queries: int
    num_heads: int
    adapter_hidden: int
    dropout: float


@dataclass
class FusionConfig:
    """Speech-visual fusion: `gated` experts (Nano-EmoX), `attention` (AffectGPT), or `none`."""

    type: Literal["gated", "attention", "none"]
    gate: Literal["learned", "average"]
    pairing: Literal["layerwise", "cross"]
    hidden_size: int
    num_heads: int
    dropout: float


@dataclass
class HeadsConfig:
    modalities: list[str]
    frames: int
    windows: int
    qformer: QFormerConfig
    face_temporal: FaceTemporalConfig
    fusion: FusionConfig


@dataclass
class LMConfig:
    """Frozen language model. Sizes are used for `random` init and for counting on the meta device."""

    init: Literal["pretrained", "random"]
    name_or_path: str
    revision: str | None
    dtype: Literal["float32", "bfloat16", "float16"]
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    vocab_size: int
    max_position_embeddings: int
    rope_theta: float
    tie_word_embeddings: bool
    initializer_range: float
    max_length: int
    attn_implementation: Literal["eager", "sdpa", "flash_attention_2"]


@dataclass
class LoraConfig:
    r: int
    alpha: int
    dropout: float
    target_modules: list[str]


@dataclass
class ModelConfig:
    encoders: EncodersConfig
    heads: HeadsConfig
    lm: LMConfig
    lora: LoraConfig
    prompts: str | None


# ----------------------------------------------------------------------------- stages


@dataclass
class ExtractConfig:
    backend: Literal["decord", "torchcodec"]
    decode_timeout_s: float
    face_detector: Literal["mtcnn", "opencv"]
    detect_on: Literal["auto", "decode", "encode"]
    detect_size: int
    face_min_size: int
    face_margin: float
    frame_sampling: Literal["centre", "floor"]
    audio_norm: Literal["clip", "window"]
    batch_size: int | None
    shard_size: int
    num_cpus: int | None
    num_gpus: float
    address: str | None


@dataclass
class PhaseConfig:
    """One curriculum phase: which datasets feed which task, with what weight, for how long."""

    tasks: dict[str, float]
    datasets: dict[str, list[str]]
    dataset_weighting: Literal["uniform", "size"]
    dataset_weights: dict[str, dict[str, float]]
    lr: float
    min_lr: float
    warmup_steps: int
    cosine_start: float
    steps: int


@dataclass
class TrainConfig:
    batch_size: int
    grad_accum: int
    weight_decay: float
    grad_clip: float
    prepend_bos: bool
    seed: int
    save_every: int
    eval_every: int
    log_every: int
    shuffle_buffer: int
    length_window: int
    precision: Literal["auto", "bf16", "fp16", "fp32"]
    fused_adamw: bool
    compile: bool
    gradient_checkpointing: bool
    max_bad_steps: int
    phases: dict[str, PhaseConfig]


@dataclass
class ScoreConfig:
    batch_size: int
    sort_window: int
    do_sample: bool
    temperature: float
    top_p: float
    max_new_tokens: dict[str, int]
    unibench_question: Literal["open", "candidates"]


@dataclass
class EvalConfig:
    wheel_dir: str | None
    extractor_url: str | None
    extractor_model: str
    extractor_temperature: float
    extractor_top_p: float
    extractor_repetition_penalty: float
    extractor_max_tokens: int
    extractor_runs: int
    judge_url: str | None
    judge_model: str
    judge_temperature: float
    judge_prompts: Literal["published", "english"]
    api_key_env: str
    llm_concurrency: int
    request_timeout_s: float
    cache: bool
    erg_turns: Literal["last", "all"]
    protocol: Literal["benchmark", "published-code"]


@dataclass
class StorageConfig:
    """Access to outputs given as URLs (s3://...): fsspec options per protocol; credentials only from the env."""

    options: dict[str, dict]
    sync_every_s: float
    lock_stale_s: float


@dataclass
class RuntimeConfig:
    """How a process runs, not what it computes: torch's CPU threads (null: sized by nanoemox.runtime.threads)."""

    threads: int | None


@dataclass
class PipelineConfig:
    preset: str
    model: ModelConfig
    datasets: dict[str, str]
    extract: ExtractConfig
    train: TrainConfig
    score: ScoreConfig
    eval: EvalConfig
    storage: StorageConfig
    runtime: RuntimeConfig

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def model_hash(self) -> str:
        """Short fingerprint of the model section, recorded beside outputs that depend on it."""
        text = json.dumps(dataclasses.asdict(self.model), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


# ----------------------------------------------------------------------------- loading


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
                f"{where}: unknown preset '{part}'{_suggest(part, presets)}; presets: {', '.join(presets)} (in {path})"
            )
        merged = _merge(merged, presets[part] or {})
    merged["preset"] = name
    base = copy.deepcopy(merged)
    for item in overrides:
        _apply_override(merged, item, path)
    try:
        return _check(_build(PipelineConfig, merged, "", path), path)
    except ConfigError as err:
        if not overrides:
            raise
        _check(_build(PipelineConfig, base, "", path), path)  # the file and preset alone: their own error
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


def _check(cfg: PipelineConfig, path: Path) -> PipelineConfig:
    """Every rule beyond types: names, layer indices, the range of every number, non-empty lists, sizes that fit."""
    heads, enc = cfg.model.heads, cfg.model.encoders
    for name in heads.modalities:
        if name not in MODALITIES:
            raise ConfigError(
                f"{path}: 'model.heads.modalities' has unknown modality '{name}'{_suggest(name, MODALITIES)}"
                f"; choose from {', '.join(MODALITIES)}"
            )
    if "fusion" in heads.modalities and heads.fusion.type == "none":
        raise ConfigError(f"{path}: modality 'fusion' is listed but 'model.heads.fusion.type' is none")
    for name, encoder in (("clip", enc.clip), ("hubert", enc.hubert)):
        for kind in ("fusion_layers", "qformer_layers"):
            for layer in getattr(encoder, kind):
                if not 0 <= layer <= encoder.num_hidden_layers:
                    raise ConfigError(
                        f"{path}: 'model.encoders.{name}.{kind}' has layer {layer}, outside "
                        f"0..{encoder.num_hidden_layers} (num_hidden_layers)"
                    )
    if len(enc.clip.fusion_layers) != len(enc.hubert.fusion_layers):
        raise ConfigError(f"{path}: clip and hubert fusion_layers must pair up one to one")
    for phase, spec in cfg.train.phases.items():
        if phase not in PHASES:
            raise ConfigError(f"{path}: unknown phase 'train.phases.{phase}'{_suggest(phase, PHASES)}")
        for task in list(spec.tasks) + list(spec.datasets):
            if task not in TASKS:
                raise ConfigError(
                    f"{path}: 'train.phases.{phase}' has unknown task '{task}'{_suggest(task, TASKS)}"
                    f"; choose from {', '.join(TASKS)}"
                )
        unfed = sorted(task for task in spec.tasks if not spec.datasets.get(task))
        if unfed:
            raise ConfigError(f"{path}: 'train.phases.{phase}' has tasks with no datasets: {', '.join(unfed)}")
        for task, weights in spec.dataset_weights.items():
            listed = spec.datasets.get(task, [])
            if set(weights) != set(listed):
                raise ConfigError(
                    f"{path}: 'train.phases.{phase}.dataset_weights.{task}' must give one weight to each dataset "
                    f"of 'train.phases.{phase}.datasets.{task}' ({', '.join(listed) or 'none'}), got "
                    f"{', '.join(weights) or 'none'}"
                )
    for protocol, options in cfg.storage.options.items():
        secret = _secret_key(options)
        if secret:
            raise ConfigError(
                f"{path}: 'storage.options.{protocol}' sets '{secret}'; credentials are read only from the "
                "environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...), never from a config file"
            )
    for key, value in _leaves(cfg, ""):
        if isinstance(value, str) and not value.strip():
            raise ConfigError(f"{path}: '{key}' is empty; give a value, or null where the key allows none")
    for key, value in _numbers(cfg, ""):
        if not math.isfinite(value):
            raise ConfigError(f"{path}: '{key}' must be a finite number, got {value}")
    for key, value, low in _model_bounds(cfg.model) + _bounded_values(cfg):
        if value <= 0 if low is None else value < low:
            raise ConfigError(f"{path}: '{key}' must be {'> 0' if low is None else f'>= {low}'}, got {value}")
    for key, value, high in _capped_values(cfg):
        if value >= high if key.endswith("dropout") else value > high:
            raise ConfigError(f"{path}: '{key}' must be {'<' if key.endswith('dropout') else '<='} {high}, got {value}")
    for key, items in _required_lists(cfg):
        if not items:
            raise ConfigError(f"{path}: '{key}' must not be empty")
    _check_shapes(cfg, path)
    return cfg


def _leaves(node: Any, key: str) -> Iterator[tuple[str, Any]]:
    """(dotted key, value) of every value in the config that is not a section, list or mapping; items are `key[i]`."""
    if dataclasses.is_dataclass(node):
        for f in dataclasses.fields(node):
            yield from _leaves(getattr(node, f.name), f"{key}.{f.name}" if key else f.name)
    elif isinstance(node, dict):
        for name, value in node.items():
            yield from _leaves(value, f"{key}.{name}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaves(value, f"{key}[{index}]")
    else:
        yield key, node


def _numbers(node: Any, key: str) -> Iterator[tuple[str, float]]:
    return ((k, v) for k, v in _leaves(node, key) if isinstance(v, int | float) and not isinstance(v, bool))


def _model_bounds(model: ModelConfig) -> list[tuple[str, float, float | None]]:
    """Every size and count of the model >= 1, every rate > 0, every dropout >= 0 (layer indices: checked apart)."""
    return [
        (key, value, 0 if key.endswith("dropout") else None if isinstance(value, float) else 1)
        for key, value in _numbers(model, "model")
        if "_layers[" not in key
    ]


def _capped_values(cfg: PipelineConfig) -> list[tuple[str, float, float]]:
    """(key, value, highest allowed) for probabilities; a dropout must stay below 1."""
    values = [(key, value, 1) for key, value in _numbers(cfg.model, "model") if key.endswith("dropout")]
    values += [("score.top_p", cfg.score.top_p, 1), ("eval.extractor_top_p", cfg.eval.extractor_top_p, 1)]
    return values


def _required_lists(cfg: PipelineConfig) -> list[tuple[str, list | dict]]:
    """Lists and mappings a job indexes into, so an empty one would crash it later."""
    enc, lists = cfg.model.encoders, []
    lists += [
        ("model.heads.modalities", cfg.model.heads.modalities),
        ("model.lora.target_modules", cfg.model.lora.target_modules),
    ]
    lists += [
        (f"model.encoders.{name}.qformer_layers", e.qformer_layers)
        for name, e in (("clip", enc.clip), ("hubert", enc.hubert))
    ]
    lists += [("model.encoders.face.depths", enc.face.depths), ("train.phases", cfg.train.phases)]
    lists += [(f"train.phases.{phase}.tasks", spec.tasks) for phase, spec in cfg.train.phases.items()]
    if "fusion" in cfg.model.heads.modalities:
        lists.append(("model.encoders.clip.fusion_layers", enc.clip.fusion_layers))
    return lists


def _check_shapes(cfg: PipelineConfig, path: Path) -> None:
    """Sizes that must fit together: widths split over heads, lengths that pair up, the LM's context."""
    model, enc = cfg.model, cfg.model.encoders
    heads, lm = model.heads, model.lm
    split = [
        ("model.encoders.clip", enc.clip.hidden_size, "num_attention_heads", enc.clip.num_attention_heads),
        ("model.encoders.hubert", enc.hubert.hidden_size, "num_attention_heads", enc.hubert.num_attention_heads),
        (
            "model.encoders.hubert",
            enc.hubert.hidden_size,
            "num_conv_pos_embedding_groups",
            enc.hubert.num_conv_pos_embedding_groups,
        ),
        ("model.heads.qformer", heads.qformer.hidden_size, "num_attention_heads", heads.qformer.num_attention_heads),
        ("model.heads.fusion", heads.fusion.hidden_size, "num_heads", heads.fusion.num_heads),
        ("model.lm", lm.hidden_size, "num_attention_heads", lm.num_attention_heads),
    ]
    for key, width, name, count in split:
        if width % count:
            raise ConfigError(f"{path}: '{key}.hidden_size' ({width}) must divide by '{key}.{name}' ({count})")
    if enc.face.out_dim % heads.face_temporal.num_heads:
        raise ConfigError(
            f"{path}: 'model.encoders.face.out_dim' ({enc.face.out_dim}) must divide by "
            f"'model.heads.face_temporal.num_heads' ({heads.face_temporal.num_heads})"
        )
    if lm.num_attention_heads % lm.num_key_value_heads:
        raise ConfigError(
            f"{path}: 'model.lm.num_attention_heads' ({lm.num_attention_heads}) must divide by "
            f"'model.lm.num_key_value_heads' ({lm.num_key_value_heads})"
        )
    if len(enc.face.num_heads) != len(enc.face.depths):
        raise ConfigError(f"{path}: 'model.encoders.face.num_heads' needs one entry per stage of 'depths'")
    for stage, count in enumerate(enc.face.num_heads):
        if (enc.face.embed_dim * 2**stage) % count:
            raise ConfigError(
                f"{path}: 'model.encoders.face.num_heads[{stage}]' ({count}) must divide the stage width "
                f"embed_dim * 2**{stage} ({enc.face.embed_dim * 2**stage})"
            )
    if len(enc.hubert.conv_dim) != HUBERT_CONV_LAYERS:
        raise ConfigError(
            f"{path}: 'model.encoders.hubert.conv_dim' needs {HUBERT_CONV_LAYERS} entries (HuBERT's conv layers)"
        )
    if enc.clip.patch_size > enc.clip.image_size:
        raise ConfigError(
            f"{path}: 'model.encoders.clip.patch_size' ({enc.clip.patch_size}) is larger than the image "
            f"('model.encoders.clip.image_size' {enc.clip.image_size})"
        )
    if lm.max_length > lm.max_position_embeddings:
        raise ConfigError(
            f"{path}: 'model.lm.max_length' ({lm.max_length}) exceeds 'model.lm.max_position_embeddings' "
            f"({lm.max_position_embeddings})"
        )
    for phase, spec in cfg.train.phases.items():
        if spec.min_lr > spec.lr:
            raise ConfigError(f"{path}: 'train.phases.{phase}.min_lr' ({spec.min_lr}) is above its lr ({spec.lr})")


def _bounded_values(cfg: PipelineConfig) -> list[tuple[str, float, float | None]]:
    """(key, value, lowest allowed; None: above 0) for every count, size, rate and weight the jobs use."""
    train, extract, score, evaluation = cfg.train, cfg.extract, cfg.score, cfg.eval
    values = [
        ("train.batch_size", train.batch_size, 1),
        ("train.grad_accum", train.grad_accum, 1),
        ("train.save_every", train.save_every, 1),
        ("train.eval_every", train.eval_every, 1),
        ("train.log_every", train.log_every, 1),
        ("train.shuffle_buffer", train.shuffle_buffer, 1),
        ("train.length_window", train.length_window, 1),
        ("train.max_bad_steps", train.max_bad_steps, 0),
        ("train.weight_decay", train.weight_decay, 0),
        ("train.grad_clip", train.grad_clip, 0),
        ("train.seed", train.seed, 0),
        ("extract.shard_size", extract.shard_size, 1),
        ("extract.detect_size", extract.detect_size, 16),
        ("extract.face_min_size", extract.face_min_size, 1),
        ("extract.face_margin", extract.face_margin, 0),
        ("extract.decode_timeout_s", extract.decode_timeout_s, None),
        ("extract.num_gpus", extract.num_gpus, 0),
        ("score.batch_size", score.batch_size, 1),
        ("score.sort_window", score.sort_window, 1),
        ("score.temperature", score.temperature, None),
        ("score.top_p", score.top_p, None),
        ("eval.extractor_temperature", evaluation.extractor_temperature, 0),
        ("eval.extractor_top_p", evaluation.extractor_top_p, None),
        ("eval.extractor_repetition_penalty", evaluation.extractor_repetition_penalty, None),
        ("eval.extractor_max_tokens", evaluation.extractor_max_tokens, 1),
        ("eval.extractor_runs", evaluation.extractor_runs, 1),
        ("eval.judge_temperature", evaluation.judge_temperature, 0),
        ("eval.llm_concurrency", evaluation.llm_concurrency, 1),
        ("eval.request_timeout_s", evaluation.request_timeout_s, None),
        ("storage.sync_every_s", cfg.storage.sync_every_s, 0),
        ("storage.lock_stale_s", cfg.storage.lock_stale_s, None),
    ]
    if extract.num_cpus is not None:
        values.append(("extract.num_cpus", extract.num_cpus, 1))
    if cfg.runtime.threads is not None:
        values.append(("runtime.threads", cfg.runtime.threads, 1))
    if extract.batch_size is not None:
        values.append(("extract.batch_size", extract.batch_size, 1))
    values += [(f"score.max_new_tokens.{task}", tokens, 1) for task, tokens in score.max_new_tokens.items()]
    for phase, spec in cfg.train.phases.items():
        key = f"train.phases.{phase}"
        values += [(f"{key}.steps", spec.steps, 1), (f"{key}.warmup_steps", spec.warmup_steps, 0)]
        values += [(f"{key}.lr", spec.lr, None), (f"{key}.min_lr", spec.min_lr, 0)]
        values += [(f"{key}.cosine_start", spec.cosine_start, 0)]
        values += [(f"{key}.tasks.{task}", weight, None) for task, weight in spec.tasks.items()]
        values += [
            (f"{key}.dataset_weights.{task}.{dataset}", weight, None)
            for task, weights in spec.dataset_weights.items()
            for dataset, weight in weights.items()
        ]
    return values


SECRET_KEYS = {"key", "secret", "token", "password", "aws_access_key_id", "aws_secret_access_key"}
SECRET_KEYS |= {"aws_session_token", "account_key", "sas_token", "client_secret", "credentials"}


def _secret_key(options: Any) -> str | None:
    """The first credential-like key at any depth of a storage options mapping."""
    if not isinstance(options, dict):
        return None
    for key, value in options.items():
        if str(key).lower() in SECRET_KEYS:
            return str(key)
        found = _secret_key(value)
        if found:
            return found
    return None


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
            raise ConfigError(f"--set {key}: '{where}' is not a section{_suggest(part, node)}")
        node = child
    if parts[-1] not in node and not _is_open_mapping(parts):
        raise ConfigError(f"--set {key}: unknown key '{key}'{_suggest(parts[-1], node)}")
    try:
        node[parts[-1]] = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"--set {key}: value {text!r} is not valid YAML ({yaml_problem(err)})") from err


def _is_open_mapping(parts: list[str]) -> bool:
    """Sections whose keys are names the user chooses (dataset roots, phase task weights)."""
    return parts[0] == "datasets" or (len(parts) >= 4 and parts[1] == "phases") or parts[:2] == ["storage", "options"]


def _suggest(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""


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
                raise ConfigError(f"{path}: unknown key '{key + '.' if key else ''}{k}'{_suggest(k, names)}")
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
                f"{_suggest(value, allowed)}"
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
