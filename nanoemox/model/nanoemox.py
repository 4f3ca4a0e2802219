"""Nano-EmoX: trainable heads turn cached encoder features into LM tokens that replace prompt placeholders."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from peft import PeftModel
from torch import nn
from transformers import PreTrainedTokenizerBase

from nanoemox.config import ModelConfig, cached_layers
from nanoemox.errors import NanoEmoXError
from nanoemox.heads import Adapter, FaceTemporal, ModalityQFormer, build_fusion
from nanoemox.model.lm import build_lm, build_tokenizer
from nanoemox.model.prompts import ANSWER_END, PLACEHOLDERS
from nanoemox.shards.sample import ModalityFeatures


@dataclass
class Answer:
    """One generated answer; `truncated` when generation stopped at max_new_tokens before the answer ended."""

    text: str
    truncated: bool


@dataclass
class NanoEmoXOutput:
    loss: torch.Tensor | None
    logits: torch.Tensor  # [batch, length, vocab]
    gate_weights: torch.Tensor | None  # [batch, experts] from the fusion encoder


def token_counts(cfg: ModelConfig) -> dict[str, int]:
    """How many LM tokens each modality contributes (and how many placeholders its prompt holds)."""
    heads = cfg.heads
    counts = {
        "fusion": 1,
        "speech": heads.qformer.num_queries,
        "face": heads.face_temporal.num_queries,
        "visual": heads.qformer.num_queries,
    }
    return {m: n for m, n in counts.items() if m in heads.modalities}


def present_modalities(features: ModalityFeatures, enabled: list[str]) -> list[list[str]]:
    """Per sample, the enabled modalities it actually has: its prompt mentions only these."""
    present = []
    for i in range(len(features.has_video)):
        video, audio = bool(features.has_video[i]), bool(features.has_audio[i])
        face = video and features.face_mask is not None and bool(features.face_mask[i].any())
        have = {
            "speech": audio,
            "visual": video,
            "face": face,
            "fusion": audio and video,
        }
        present.append([m for m in PLACEHOLDERS if m in enabled and have[m]])
    return present


def build_heads(cfg: ModelConfig, lm_width: int) -> nn.ModuleDict:
    """The trainable modules for the configured modality set, keyed by the names phases refer to."""
    enc, heads = cfg.encoders, cfg.heads
    qformer_width = heads.qformer.hidden_size
    modules: dict[str, nn.Module] = {}
    if "speech" in heads.modalities:
        modules["speech_qformer"] = ModalityQFormer(heads.qformer, enc.hubert.hidden_size, heads.windows)
        modules["speech_adapter"] = Adapter(qformer_width, lm_width)
    if "visual" in heads.modalities:
        modules["visual_qformer"] = ModalityQFormer(heads.qformer, enc.clip.hidden_size, heads.frames)
        modules["visual_adapter"] = Adapter(qformer_width, lm_width)
    if "face" in heads.modalities:
        ft = heads.face_temporal
        modules["face_temporal"] = FaceTemporal(ft, enc.face.out_dim)
        modules["face_adapter"] = Adapter(enc.face.out_dim, lm_width, ft.adapter_hidden, ft.dropout)
    if "fusion" in heads.modalities:
        pairs = len(enc.hubert.fusion_layers)
        modules["fusion"] = build_fusion(heads.fusion, enc.hubert.hidden_size, enc.clip.hidden_size, pairs)
        modules["fusion_adapter"] = Adapter(heads.fusion.hidden_size, lm_width)
    return nn.ModuleDict(modules)


class NanoEmoX(nn.Module):
    """Heads + frozen LM with LoRA. `forward` gives the answer-only loss; `generate` gives answer texts."""

    def __init__(self, cfg: ModelConfig, lm: PeftModel, tokenizer: PreTrainedTokenizerBase):
        super().__init__()
        self.cfg = cfg
        self.heads = build_heads(cfg, lm.get_input_embeddings().embedding_dim)
        self.lm = lm
        self.tokenizer = tokenizer
        self.token_counts = token_counts(cfg)
        self.placeholder_ids = {m: tokenizer.convert_tokens_to_ids(PLACEHOLDERS[m]) for m in PLACEHOLDERS}
        clip, hubert = cfg.encoders.clip, cfg.encoders.hubert
        clip_cached, hubert_cached = cached_layers(clip), cached_layers(hubert)
        self.clip_qformer_rows = [clip_cached.index(n) for n in clip.qformer_layers]
        self.clip_fusion_rows = [clip_cached.index(n) for n in clip.fusion_layers]
        self.hubert_qformer_rows = [hubert_cached.index(n) for n in hubert.qformer_layers]
        self.hubert_fusion_rows = [hubert_cached.index(n) for n in hubert.fusion_layers]

    @classmethod
    def from_config(cls, cfg: ModelConfig, device: str | torch.device = "cpu") -> NanoEmoX:
        """Load (or, in the tiny preset, build) the tokenizer and LM, then build fresh heads."""
        tokenizer = build_tokenizer(cfg.lm)
        dtype = torch.float32 if torch.device(device).type == "cpu" else getattr(torch, cfg.lm.dtype)
        lm = build_lm(cfg.lm, cfg.lora, len(tokenizer), dtype)
        return cls(cfg, lm, tokenizer).to(device)

    def encode_features(self, features: ModalityFeatures) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
        """Modality tokens in the LM width, {modality: [batch, count, lm width]}, and the fusion gate weights."""
        heads, tokens, gates = self.heads, {}, None
        dtype = next(heads.parameters()).dtype
        if "speech_qformer" in heads and features.hubert is not None:
            hubert = features.hubert.to(dtype)  # [batch, windows, layers, width]
            speech = hubert[:, :, self.hubert_qformer_rows].mean(dim=2)  # [batch, windows, width]
            tokens["speech"] = heads["speech_adapter"](heads["speech_qformer"](speech))
        if "visual_qformer" in heads and features.clip is not None:
            clip = features.clip.to(dtype)  # [batch, frames, layers, width]
            visual = clip[:, :, self.clip_qformer_rows].mean(dim=2)  # [batch, frames, width]
            tokens["visual"] = heads["visual_adapter"](heads["visual_qformer"](visual))
        if "face_temporal" in heads and features.face is not None:
            face = heads["face_temporal"](features.face.to(dtype), features.face_mask.bool())
            tokens["face"] = heads["face_adapter"](face)  # [batch, queries, lm width]
        if "fusion" in heads and features.clip is not None and features.hubert is not None:
            speech_layers = features.hubert[:, :, self.hubert_fusion_rows].to(dtype)
            visual_layers = features.clip[:, :, self.clip_fusion_rows].to(dtype)
            fused = heads["fusion"](speech_layers, visual_layers)
            tokens["fusion"] = heads["fusion_adapter"](fused.token)[:, None]  # [batch, 1, lm width]
            gates = fused.gate_weights
        return tokens, gates

    def embed_prompt(self, input_ids: torch.Tensor, tokens: dict[str, torch.Tensor]) -> torch.Tensor:
        """Prompt embeddings with each placeholder run replaced by its modality's tokens."""
        embeds = self.lm.get_input_embeddings()(input_ids)  # [batch, length, lm width]
        for modality, token_id in self.placeholder_ids.items():
            slots = input_ids == token_id  # [batch, length]
            per_row = slots.sum(dim=1)
            rows = per_row > 0
            if not rows.any():
                continue
            if modality not in tokens:
                raise NanoEmoXError(f"prompt has {PLACEHOLDERS[modality]} but the batch has no {modality} features")
            expected = self.token_counts[modality]
            if (per_row[rows] != expected).any():
                raise NanoEmoXError(
                    f"{PLACEHOLDERS[modality]} appears {per_row[rows].tolist()} times; expected {expected} per prompt"
                )
            embeds = embeds.masked_scatter(slots[..., None], tokens[modality][rows].to(embeds.dtype))
        return embeds

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        features: ModalityFeatures,
        labels: torch.Tensor | None = None,
    ) -> NanoEmoXOutput:
        tokens, gates = self.encode_features(features)
        embeds = self.embed_prompt(input_ids, tokens)
        out = self.lm(inputs_embeds=embeds, attention_mask=attention_mask, labels=labels)
        return NanoEmoXOutput(loss=out.loss, logits=out.logits, gate_weights=gates)

    @torch.no_grad()
    def generate_answers(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        features: ModalityFeatures,
        max_new_tokens: int,
        do_sample: bool = False,
        temperature: float = 1.0,
        top_p: float = 0.9,
    ) -> list[Answer]:
        """Answers for left-padded prompts, each marked when it ran out of tokens before it ended. A row ends at
        the answer end marker or EOS; generation stops once every row has ended."""
        tokens, _ = self.encode_features(features)
        embeds = self.embed_prompt(input_ids, tokens)
        sampling = {"do_sample": True, "temperature": temperature, "top_p": top_p} if do_sample else {}
        generated = self.lm.generate(
            inputs_embeds=embeds,
            attention_mask=attention_mask,
            max_new_tokens=max_new_tokens,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=self.tokenizer.eos_token_id,
            stop_strings=[ANSWER_END],
            tokenizer=self.tokenizer,
            **({"do_sample": False} | sampling),
        )
        texts = self.tokenizer.batch_decode(generated, skip_special_tokens=True)
        ended = (generated == self.tokenizer.eos_token_id).any(dim=1).tolist()
        return [
            Answer(text.split(ANSWER_END)[0].strip(), not stopped and ANSWER_END not in text)
            for text, stopped in zip(texts, ended, strict=True)
        ]
