"""The typed schema of pipeline.yaml: one dataclass per section, each field a key (pipeline.yaml documents it)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

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
CADENCE_KEYS = ("train.save_every", "train.eval_every", "train.log_every")  # how often, not what is learned


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
