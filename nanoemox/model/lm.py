"""The frozen language model and its tokenizer, from an HF id / local folder or random-init (tiny)."""

import torch
from peft import LoraConfig as PeftLoraConfig
from peft import PeftModel, get_peft_model
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    Qwen2Config,
    Qwen2ForCausalLM,
)

from nanoemox.config import LMConfig, LoraConfig
from nanoemox.model.prompts import PLACEHOLDERS
from nanoemox.model.tiny_tokenizer import build_tiny_tokenizer
from nanoemox.runtime.hub import load_pretrained

RANDOM_INIT_SEED = 0


def qwen2_config(cfg: LMConfig) -> Qwen2Config:
    return Qwen2Config(
        hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_hidden_layers,
        num_attention_heads=cfg.num_attention_heads,
        num_key_value_heads=cfg.num_key_value_heads,
        vocab_size=cfg.vocab_size,
        max_position_embeddings=cfg.max_position_embeddings,
        rope_theta=cfg.rope_theta,
        tie_word_embeddings=cfg.tie_word_embeddings,
        initializer_range=cfg.initializer_range,
        attn_implementation=cfg.attn_implementation,
    )


def build_tokenizer(cfg: LMConfig) -> PreTrainedTokenizerBase:
    """The LM's tokenizer with the modality placeholders added as special tokens."""
    if cfg.init == "pretrained":
        tokenizer = load_pretrained(AutoTokenizer, cfg.name_or_path, cfg.revision, "model.lm.name_or_path")
    else:
        tokenizer = build_tiny_tokenizer(cfg.vocab_size - len(PLACEHOLDERS))
    tokenizer.add_tokens(list(PLACEHOLDERS.values()), special_tokens=True)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def build_lm(cfg: LMConfig, lora: LoraConfig, vocab_size: int, dtype: torch.dtype) -> PeftModel:
    """The frozen LM (pretrained, or random-init in tiny) with LoRA adapters."""
    if cfg.init == "pretrained":
        key = "model.lm.name_or_path"
        lm = load_pretrained(
            AutoModelForCausalLM,
            cfg.name_or_path,
            cfg.revision,
            key,
            dtype=dtype,
            attn_implementation=cfg.attn_implementation,
        )
    else:  # the same random weights in every process: heads trained on it must meet it again when scoring
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(RANDOM_INIT_SEED)
            lm = Qwen2ForCausalLM(qwen2_config(cfg)).to(dtype)
    return add_lora(lm, lora, vocab_size)


def add_lora(lm: PreTrainedModel, lora: LoraConfig, vocab_size: int) -> PeftModel:
    """Freeze the LM and wrap it with LoRA adapters (frozen too until phase 3) on the configured projections."""
    if lm.get_input_embeddings().num_embeddings < vocab_size:  # placeholder ids must be valid rows
        lm.resize_token_embeddings(vocab_size)
    lm.requires_grad_(False)
    peft_config = PeftLoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora.target_modules,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(lm, peft_config)
