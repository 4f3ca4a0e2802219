"""(task, shard sample) pairs -> model inputs: features stacked, prompts built for what each clip has."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nanoemox.model.inputs import TextBatch, encode_for_generation, encode_for_training
from nanoemox.model.nanoemox import ModalityFeatures, NanoEmoX, present_modalities
from nanoemox.shards.reader import ShardSample, collate_features
from nanoemox.tasks import answer_for, prompt_for


@dataclass
class ModelBatch:
    tasks: list[str]
    text: TextBatch
    features: ModalityFeatures


def _prompts(
    model: NanoEmoX, tasks: Sequence[str], samples: Sequence[ShardSample], modalities: Sequence[str] | None
) -> tuple[list[str], ModalityFeatures]:
    features = collate_features(samples)
    present = present_modalities(features, list(modalities or model.cfg.heads.modalities))
    prompts = [prompt_for(t, s.record, p, model.token_counts) for t, s, p in zip(tasks, samples, present, strict=True)]
    return prompts, features


def training_batch(
    model: NanoEmoX, examples: Sequence[tuple[str, ShardSample]], modalities: Sequence[str] | None = None
) -> ModelBatch:
    """Prompt + answer per example, loss on the answer only; `modalities` limits which tokens prompts carry."""
    tasks = [task for task, _ in examples]
    samples = [sample for _, sample in examples]
    prompts, features = _prompts(model, tasks, samples, modalities)
    answers = [answer_for(t, s.record) for t, s in examples]
    return ModelBatch(tasks, encode_for_training(model.tokenizer, prompts, answers, model.cfg.lm.max_length), features)


def generation_batch(model: NanoEmoX, tasks: Sequence[str], samples: Sequence[ShardSample]) -> ModelBatch:
    """Left-padded prompts for batched generation."""
    prompts, features = _prompts(model, tasks, samples, None)
    return ModelBatch(list(tasks), encode_for_generation(model.tokenizer, prompts, model.cfg.lm.max_length), features)
