"""Tokenize prompts (and answers) into padded batches: labels only on answer tokens."""

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedTokenizerBase

from nanoemox.errors import NanoEmoXError
from nanoemox.model.prompts import ANSWER_END

IGNORE_INDEX = -100
TOKENIZER_LOCK = threading.Lock()


@dataclass
class TextBatch:
    input_ids: torch.Tensor  # [batch, length]
    attention_mask: torch.Tensor  # [batch, length]
    labels: torch.Tensor | None = None  # [batch, length], IGNORE_INDEX outside the answer


class OverLength(NanoEmoXError):
    """A training example whose prompt and whole answer do not fit `model.lm.max_length`."""


def training_ids(
    tokenizer: PreTrainedTokenizerBase, prompt: str, answer: str, max_length: int, bos_id: int | None = None
) -> tuple[list[int], list[int]]:
    """One example's prompt ids (after `bos_id` when given) and its whole answer (answer + end marker + EOS);
    an example longer than `max_length` raises OverLength: an answer is never cut."""
    prompt_ids = ([bos_id] if bos_id is not None else []) + _token_ids(tokenizer, prompt)
    answer_ids = _token_ids(tokenizer, answer + ANSWER_END) + [tokenizer.eos_token_id]
    if len(prompt_ids) + len(answer_ids) > max_length:
        raise OverLength(
            f"{len(prompt_ids)} prompt + {len(answer_ids)} answer tokens exceed model.lm.max_length ({max_length})"
        )
    return prompt_ids, answer_ids


def training_text(rows: Sequence[tuple[list[int], list[int]]], pad_id: int) -> TextBatch:
    """Already tokenized (prompt ids, answer ids) rows, right-padded, loss on the answer only."""
    input_ids, attention_mask = _pad([prompt + answer for prompt, answer in rows], pad_id, left=False)
    labels, _ = _pad([[IGNORE_INDEX] * len(prompt) + answer for prompt, answer in rows], IGNORE_INDEX, left=False)
    return TextBatch(input_ids, attention_mask, labels)


def bos_id(tokenizer: PreTrainedTokenizerBase) -> int:
    """The token the published training puts before each prompt: Qwen's `<|im_start|>` (its BOS there)."""
    token = tokenizer.convert_tokens_to_ids("<|im_start|>")
    if token is not None and token != tokenizer.unk_token_id:
        return token
    if tokenizer.bos_token_id is not None:
        return tokenizer.bos_token_id
    raise NanoEmoXError("train.prepend_bos is true but the tokenizer has neither <|im_start|> nor a BOS token")


def encode_for_generation(tokenizer: PreTrainedTokenizerBase, prompts: Sequence[str], max_length: int) -> TextBatch:
    """Left-padded prompts, so every row's next token is generated at the same position."""
    rows = [_prompt_ids(tokenizer, prompt, max_length) for prompt in prompts]
    input_ids, attention_mask = _pad(rows, tokenizer.pad_token_id, left=True)
    return TextBatch(input_ids, attention_mask)


def prompt_length(tokenizer: PreTrainedTokenizerBase, prompt: str, max_length: int) -> int:
    """Tokens of one generation prompt, as `encode_for_generation` builds it."""
    return len(_prompt_ids(tokenizer, prompt, max_length))


def _token_ids(tokenizer: PreTrainedTokenizerBase, text: str) -> list[int]:
    with TOKENIZER_LOCK:  # HF fast tokenizers reject concurrent calls ("Already borrowed")
        return tokenizer(text, add_special_tokens=False).input_ids


def _prompt_ids(tokenizer: PreTrainedTokenizerBase, prompt: str, limit: int) -> list[int]:
    ids = _token_ids(tokenizer, prompt)
    if len(ids) > limit:
        raise NanoEmoXError(
            f"prompt of {len(ids)} tokens exceeds model.lm.max_length ({limit}); "
            f"shorten the subtitle/dialogue or raise the limit: {prompt[:80]!r}..."
        )
    return ids


def _pad(rows: list[list[int]], value: int, left: bool) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), value, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        span = slice(width - len(row), width) if left else slice(0, len(row))
        ids[i, span] = torch.tensor(row, dtype=torch.long)
        mask[i, span] = 1
    return ids, mask
