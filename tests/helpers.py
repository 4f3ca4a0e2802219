"""Helpers the tests and benchmarks share, kept out of the runtime package: synthetic corpora and feature
shards, and whole-batch shortcuts over the runtime's per-example functions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase

from nanoemox.demo.media import voice, write_clip
from nanoemox.model.batching import ModelBatch, collate_training, training_examples
from nanoemox.model.inputs import OverLength, TextBatch, training_ids, training_text
from nanoemox.model.nanoemox import NanoEmoX
from nanoemox.shards.sample import ModalityFeatures, ShardSample

MELD_HEADER = "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime"


def write_meld_corpus(root: Path, clips: list[dict], split: str = "test") -> Path:
    """A MELD-format corpus: `{split}_sent_emo.csv` plus generated mp4 clips.

    Each dict may set seconds, fps, size, shape ((width, height)), audio (bool), video (bool), face (bool),
    emotion, dialogue and utterance (the clip's ids, default i and 0), and `file` ("ok", "corrupt", "missing",
    "dir").
    """
    from nanoemox.datasets.readers.meld import CLIP_FOLDERS

    folder = root / CLIP_FOLDERS[split]
    folder.mkdir(parents=True, exist_ok=True)
    rows = [MELD_HEADER]
    for i, clip in enumerate(clips):
        emotion = clip.get("emotion", "joy")
        dialogue, utterance = clip.get("dialogue", i), clip.get("utterance", 0)
        rows.append(f"{i + 1},Line {i},Ann,{emotion},positive,{dialogue},{utterance},1,1,0,1")
        path, seconds = folder / f"dia{dialogue}_utt{utterance}.mp4", clip.get("seconds", 2.5)
        kind = clip.get("file", "ok")
        if kind == "ok":
            audio = voice(seconds, seed=i) if clip.get("audio", True) else None
            fps, size, face = clip.get("fps", 10), clip.get("size", 256), clip.get("face", True)
            shape, video = clip.get("shape"), clip.get("video", True)
            write_clip(path, seconds, fps, size, audio, face, seed=i, shape=shape, video=video)
        elif kind == "corrupt":
            write_clip(path, seconds, audio=voice(seconds), seed=i)
            path.write_bytes(path.read_bytes()[:1500])  # truncated: the index is missing
        elif kind == "dir":
            path.mkdir()
    (root / f"{split}_sent_emo.csv").write_text("\n".join(rows) + "\n")
    return root


def synthetic_record(dataset: str, split: str, index: int, label: int) -> dict:
    """A stored record whose labels (for the tasks `dataset` feeds) are all determined by `label`."""
    from nanoemox.datasets.labels import EMOTIONS, INTENTS
    from nanoemox.datasets.record import EmpathyChain, Labels, Record, Turn

    emotions = EMOTIONS.get(dataset, EMOTIONS["meld"])
    emotion = emotions[label % len(emotions)]
    labels = Labels(emotion=emotion)
    if dataset in INTENTS:
        labels = Labels(intent=INTENTS[dataset][label % len(INTENTS[dataset])])
    elif dataset == "mer-caption+":
        labels = Labels(ov_emotions=[emotion, "calm"], reason=f"The voice and face show {emotion}.")
    elif dataset == "avamerg":
        chain = EmpathyChain("a talk", emotion, "the news", "to comfort", f"I hear that you feel {emotion}.")
        labels = Labels(emotion=emotion, empathy=chain)
    record = Record(
        id=f"{dataset}_{split}_{index}",
        dataset=dataset,
        split=split,
        subtitle=f"clip {index}",
        dialogue=[Turn("user", "hello")] if dataset == "avamerg" else [],
        labels=labels,
    )
    return record.to_dict()


def write_feature_shards(
    out: str | Path,
    dataset: str,
    split: str,
    cfg,
    count: int,
    classes: int = 4,
    shard_size: int = 16,
    seed: int = 0,
    make_record: Callable[[str, str, int, int], dict] = synthetic_record,
) -> Path:
    """Shards of synthetic features in which each record's label is written as a fixed pattern plus noise,
    so a model can learn it: for training tests and benchmarks without decoding anything. `make_record`
    (dataset, split, index, label) -> stored record gives the texts (benchmarks use realistic lengths)."""
    from nanoemox.shards.contract import build_contract
    from nanoemox.shards.writer import ShardWriter

    rng = np.random.default_rng(seed)
    shapes = build_contract(cfg)["model"]
    patterns = {
        name: np.random.default_rng(99).standard_normal((classes, *shapes[name]["shape"]))
        for name in ("clip", "hubert", "face")
    }
    split_dir = Path(out) / dataset / split
    writer = ShardWriter(split_dir, build_contract(cfg), shard_size, dataset=dataset, split=split)
    for index in range(count):
        label = int(rng.integers(classes))
        arrays = {
            name: (pattern[label] + 0.5 * rng.standard_normal(pattern.shape[1:])).astype(np.float16)
            for name, pattern in patterns.items()
        }
        masks = {"has_video": True, "has_audio": True, "face": [True] * shapes["face"]["shape"][0]}
        record = make_record(dataset, split, index, label)
        writer.write(record["id"], {"record": record, "media": {}, "masks": masks}, arrays)
    writer.close()
    return split_dir


def training_batch(
    model: NanoEmoX,
    examples: Sequence[tuple[str, ShardSample]],
    modalities: Sequence[str] | None = None,
    bos_id: int | None = None,
) -> ModelBatch:
    """Prompt + whole answer per example, loss on the answer only (`training_examples`, `collate_training`);
    every example must fit `model.lm.max_length`."""
    tokenized = training_examples(model, examples, modalities, bos_id)
    over = [f"{task} {sample.key}" for (task, sample), t in zip(examples, tokenized, strict=True) if t is None]
    if over:
        raise OverLength(
            f"{', '.join(over)}: prompt + whole answer exceed model.lm.max_length ({model.cfg.lm.max_length})"
        )
    return collate_training(tokenized, model.tokenizer.pad_token_id)


def encode_for_training(
    tokenizer: PreTrainedTokenizerBase,
    prompts: Sequence[str],
    answers: Sequence[str],
    max_length: int,
    bos_id: int | None = None,
) -> TextBatch:
    """Right-padded prompt + whole answer + end marker + EOS, loss on the answer only (see `training_ids`)."""
    rows = [
        training_ids(tokenizer, prompt, answer, max_length, bos_id)
        for prompt, answer in zip(prompts, answers, strict=True)
    ]
    return training_text(rows, tokenizer.pad_token_id)


def generate_texts(
    model: NanoEmoX,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    features: ModalityFeatures,
    max_new_tokens: int,
    **sampling: float | bool,
) -> list[str]:
    """The answers' texts (`NanoEmoX.generate_answers` without the truncation flags)."""
    answers = model.generate_answers(input_ids, attention_mask, features, max_new_tokens, **sampling)
    return [answer.text for answer in answers]
