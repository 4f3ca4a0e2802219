"""Records with texts of realistic lengths for the benchmarks: word counts drawn between the 10th and 90th
percentiles of the reference annotations (MELD utterances, MERR / EMER reasons, MIntRec utterances); ERG chains
and dialogues sized like AvaMERG's. Words come from the tiny tokenizer's vocabulary: about one token per word
(Qwen2.5 takes about 1.3 per English word; the placeholders, most of a short prompt, are the same)."""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the tests' helpers

from nanoemox.datasets.labels import EMOTIONS
from nanoemox.model.tiny_tokenizer import WORDS

from helpers import synthetic_record

VOCABULARY = WORDS.split()
SUBTITLE_WORDS = {"meld": (1, 17), "mer-caption+": (4, 16), "mintrec": (3, 20), "avamerg": (5, 20)}
REASON_WORDS = (30, 75)
DIALOGUE_TURNS, TURN_WORDS = (2, 8), (5, 20)
CHAIN_WORDS = {"scenario": (5, 15), "cause": (5, 15), "goal": (3, 10), "response": (10, 40)}


def _words(rng: np.random.Generator, span: tuple[int, int]) -> str:
    return " ".join(rng.choice(VOCABULARY, int(rng.integers(span[0], span[1] + 1))))


def realistic_record(dataset: str, split: str, index: int, label: int) -> dict:
    """`synthetic_record` with subtitle, reason, open-vocabulary emotions, dialogue and empathy chain resized."""
    record = synthetic_record(dataset, split, index, label)
    rng = np.random.default_rng([zlib.crc32(dataset.encode()), index])
    record["subtitle"] = _words(rng, SUBTITLE_WORDS.get(dataset, (3, 20)))
    labels = record["labels"]
    if labels.get("reason"):
        labels["reason"] = _words(rng, REASON_WORDS)
    if labels.get("ov_emotions"):
        labels["ov_emotions"] = [str(e) for e in rng.choice(EMOTIONS["meld"], int(rng.integers(1, 5)))]
    if labels.get("empathy"):
        labels["empathy"] |= {field: _words(rng, span) for field, span in CHAIN_WORDS.items()}
        turns = int(rng.integers(DIALOGUE_TURNS[0], DIALOGUE_TURNS[1] + 1))
        record["dialogue"] = [
            {"speaker": ("user", "bot")[i % 2], "utterance": _words(rng, TURN_WORDS)} for i in range(turns)
        ]
    return record
