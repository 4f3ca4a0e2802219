"""Validation of a built config beyond its types: value ranges, shapes that must agree, secrets kept out of files,
each error naming the key and the file."""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nanoemox.config.schema import HUBERT_CONV_LAYERS, MODALITIES, PHASES, TASKS, ModelConfig, PipelineConfig
from nanoemox.errors import NanoEmoXError


class ConfigError(NanoEmoXError):
    """An unknown key, a wrong type or a bad value in the config."""


def check_config(cfg: PipelineConfig, path: Path) -> PipelineConfig:
    """Every rule beyond types: names, layer indices, the range of every number, non-empty lists, sizes that fit."""
    heads, enc = cfg.model.heads, cfg.model.encoders
    for name in heads.modalities:
        if name not in MODALITIES:
            raise ConfigError(
                f"{path}: 'model.heads.modalities' has unknown modality '{name}'{suggest(name, MODALITIES)}"
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
            raise ConfigError(f"{path}: unknown phase 'train.phases.{phase}'{suggest(phase, PHASES)}")
        for task in list(spec.tasks) + list(spec.datasets):
            if task not in TASKS:
                raise ConfigError(
                    f"{path}: 'train.phases.{phase}' has unknown task '{task}'{suggest(task, TASKS)}"
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


def suggest(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""
