"""(task, shard sample) pairs -> model inputs: features stacked, prompts built for what each clip has."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from nanoemox.model.inputs import (
    OverLength,
    TextBatch,
    encode_for_generation,
    prompt_length,
    training_ids,
    training_text,
)
from nanoemox.model.nanoemox import NanoEmoX, present_modalities
from nanoemox.model.prompts import load_prompts
from nanoemox.shards.sample import ModalityFeatures, ShardSample, collate_features
from nanoemox.tasks import answer_for, prompt_for


@dataclass
class ModelBatch:
    tasks: list[str]
    text: TextBatch
    features: ModalityFeatures


def _prompts(
    model: NanoEmoX, tasks: Sequence[str], samples: Sequence[ShardSample], modalities: Sequence[str] | None
) -> list[str]:
    """Each sample's prompt for its task, naming only the modalities it has (read from its masks alone), with
    the question variant its draw picked."""
    masks = ModalityFeatures(
        clip=None,
        hubert=None,
        face=None,
        face_mask=torch.stack([s.face_mask for s in samples]),
        has_video=torch.tensor([s.has_video for s in samples]),
        has_audio=torch.tensor([s.has_audio for s in samples]),
    )
    present = present_modalities(masks, list(modalities or model.cfg.heads.modalities))
    prompts = load_prompts(model.cfg.prompts)
    return [
        prompt_for(t, s.record, p, model.token_counts, s.draw, prompts)
        for t, s, p in zip(tasks, samples, present, strict=True)
    ]


@dataclass
class TrainingExample:
    """One (task, sample) pair tokenized once for training: its length groups it, its ids go into the batch."""

    task: str
    sample: ShardSample
    prompt_ids: list[int]  # after the BOS token when train.prepend_bos
    answer_ids: list[int]  # whole answer + end marker + EOS

    def __len__(self) -> int:
        return len(self.prompt_ids) + len(self.answer_ids)


def training_examples(
    model: NanoEmoX,
    examples: Sequence[tuple[str, ShardSample]],
    modalities: Sequence[str] | None = None,
    bos_id: int | None = None,
) -> list[TrainingExample | None]:
    """Each example's prompt and whole answer tokenized (`modalities` limits which tokens prompts carry,
    `bos_id` goes before each prompt); None for one that cannot fit `model.lm.max_length`."""
    if not examples:
        return []
    prompts = _prompts(model, [t for t, _ in examples], [s for _, s in examples], modalities)
    tokenized: list[TrainingExample | None] = []
    for prompt, (task, sample) in zip(prompts, examples, strict=True):
        try:
            prompt_ids, answer_ids = training_ids(
                model.tokenizer, prompt, answer_for(task, sample.record), model.cfg.lm.max_length, bos_id
            )
        except OverLength:
            tokenized.append(None)
            continue
        tokenized.append(TrainingExample(task, sample, prompt_ids, answer_ids))
    return tokenized


def collate_training(examples: Sequence[TrainingExample], pad_id: int) -> ModelBatch:
    """Tokenized examples as one batch: right-padded prompt + answer, loss on the answer only, features stacked."""
    text = training_text([(e.prompt_ids, e.answer_ids) for e in examples], pad_id)
    return ModelBatch([e.task for e in examples], text, collate_features([e.sample for e in examples]))


def generation_batch(model: NanoEmoX, tasks: Sequence[str], samples: Sequence[ShardSample]) -> ModelBatch:
    """Left-padded prompts for batched generation."""
    prompts = _prompts(model, tasks, samples, None)
    text = encode_for_generation(model.tokenizer, prompts, model.cfg.lm.max_length)
    return ModelBatch(list(tasks), text, collate_features(samples))


def prompt_lengths(model: NanoEmoX, tasks: Sequence[str], samples: Sequence[ShardSample]) -> list[int]:
    """Tokens of each generation prompt, for sorting clips into batches that pad little."""
    prompts = _prompts(model, tasks, samples, None)
    return [prompt_length(model.tokenizer, prompt, model.cfg.lm.max_length) for prompt in prompts]
