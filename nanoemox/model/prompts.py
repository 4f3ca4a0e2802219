"""Prompts and answer texts for the six tasks, in the published code's `###Human: ... ###Assistant:` format.

The wording lives in one data file (prompts.yaml, or the file named by `model.prompts`).

A modality's sentence (and its placeholder tokens) appears only when the sample has that modality:
an absent modality is simply not mentioned, so the LM never sees empty or fake features.
"""

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nanoemox.config import TASKS
from nanoemox.datasets.record import EmpathyChain
from nanoemox.errors import NanoEmoXError
from nanoemox.fileio.files import read_yaml

PLACEHOLDERS = {  # modality -> placeholder token, in prompt order
    "fusion": "<MultiHere>",
    "speech": "<AudioHere>",
    "face": "<FaceHere>",
    "visual": "<FrameHere>",
}
ANSWER_END = "###"
DEFAULT_PROMPTS = Path(__file__).with_name("prompts.yaml")
QUESTION_KEYS = (*TASKS, "mer-candidates", "mer-dialogue")
DIALOGUE_QUESTIONS = ("erg", "mer-dialogue")  # asked in the dialogue-history frame (AvaMERG), not the subtitle's
ANSWER_LEADS = {  # MER answer per question (base_dataset.py: func_get_qa_onehot_*, func_get_qa_emotion_recognition)
    "mer": "The character's emotional state is",
    "mer-candidates": "The most likely label is",
    "mer-dialogue": "The emotion of the speaker is",
}
EXAMPLE_FIELDS = {"candidates": "a, b", "context": "A: hi", "utterance": "hi", "subtitle": "hi", "history": "A: hi"}


@dataclass(frozen=True)
class PromptTemplates:
    """The wording of every prompt (one data file): modality sentences and question variants per task."""

    human: str
    assistant: str
    modalities: dict[str, str]
    subtitle: str
    dialogue: str
    ask: dict[str, str]
    questions: dict[str, list[str]]

    def question(self, key: str, variant: int) -> str:
        """Variant `variant` (taken modulo the number of variants) of a task's question."""
        options = self.questions[key]
        return options[variant % len(options)]


def load_prompts(path: str | None = None) -> PromptTemplates:
    """The packaged prompts.yaml, or the user's file named by `model.prompts`, checked key by key (read again
    only when the file changes)."""
    where = Path(path or DEFAULT_PROMPTS)
    stat = where.stat() if where.is_file() else None
    return _read_prompts(str(where), stat and (stat.st_mtime_ns, stat.st_size))


@functools.cache
def _read_prompts(where: str, version: tuple[int, int] | None) -> PromptTemplates:
    data = read_yaml(where, "prompts file (model.prompts)")
    if not isinstance(data, dict):
        raise NanoEmoXError(f"{where}: a prompts file must be a mapping (see nanoemox/model/prompts.yaml)")
    texts = {key: _text(data, key, where) for key in ("human", "assistant", "subtitle", "dialogue")}
    modalities = {m: _text(data, f"modalities.{m}", where) for m in PLACEHOLDERS}
    ask = {"default": _text(data, "ask.default", where)}
    ask.update({task: _text(data, f"ask.{task}", where) for task in (data.get("ask") or {}) if task != "default"})
    questions = {key: _variants(data, key, where) for key in QUESTION_KEYS}
    return PromptTemplates(**texts, modalities=modalities, ask=ask, questions=questions)


def _lookup(data: dict, key: str) -> Any:
    for part in key.split("."):
        data = data.get(part) if isinstance(data, dict) else None
    return data


def _text(data: dict, key: str, where: str) -> str:
    value = _lookup(data, key)
    if not isinstance(value, str):
        raise NanoEmoXError(f"{where}: '{key}' must be a text, got {value!r}")
    _check_fields(value, key, where)
    return value


def _variants(data: dict, key: str, where: str) -> list[str]:
    value = _lookup(data, f"questions.{key}")
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise NanoEmoXError(f"{where}: 'questions.{key}' must be a non-empty list of question texts, got {value!r}")
    for i, text in enumerate(value):
        _check_fields(text, f"questions.{key}[{i}]", where)
    return value


def _check_fields(text: str, key: str, where: str) -> None:
    try:
        text.format(tokens="", **EXAMPLE_FIELDS)
    except (KeyError, IndexError, ValueError) as err:
        raise NanoEmoXError(
            f"{where}: '{key}' has an unknown or malformed {{field}} ({err}); "
            f"fields: tokens, {', '.join(EXAMPLE_FIELDS)}"
        ) from err


def build_prompt(
    task: str,
    present: Sequence[str],
    token_counts: Mapping[str, int],
    subtitle: str = "",
    candidates: Sequence[str] | None = None,
    dialogue: Sequence[tuple[str, str]] = (),
    variant: int = 0,
    prompts: PromptTemplates | None = None,
    question: str | None = None,
) -> str:
    """The user turn for `task`; `present` lists the modalities this sample has (in any order); `variant` picks
    the question variant (training draws one per sample, scoring asks the first); `question` names the question
    asked (a key of `questions`; default: `mer-candidates` for MER with candidates, else the task)."""
    if task not in TASKS:
        raise ValueError(f"unknown task '{task}'; choose from {', '.join(TASKS)}")
    if task == "mir" and not candidates:
        raise ValueError("the mir prompt needs its candidate intents")
    prompts = prompts or load_prompts()
    key = question or ("mer-candidates" if task == "mer" and candidates else task)
    text = prompts.human
    for modality, placeholder in PLACEHOLDERS.items():
        if modality in present:
            text += prompts.modalities[modality].format(tokens=placeholder * token_counts[modality])
    history = "\n".join(f"{speaker}: {utterance}" for speaker, utterance in dialogue)
    if key in DIALOGUE_QUESTIONS:
        text += prompts.dialogue.format(history=history)
    else:
        text += prompts.subtitle.format(subtitle=subtitle)
    asked = prompts.question(key, variant).format(
        candidates=", ".join(candidates or ()), context=history, utterance=subtitle
    )
    return text + prompts.ask.get(key, prompts.ask["default"]) + asked + prompts.assistant


def build_answer(
    task: str,
    emotion: str | None = None,
    emotions: Sequence[str] | None = None,
    intent: str | None = None,
    reason: str | None = None,
    empathy: EmpathyChain | None = None,
    question: str = "mer",
) -> str:
    """The target text for `task` (the answer end marker and EOS are added by tokenization); a MER answer's
    lead follows the `question` asked."""
    if task == "mer" and emotion:
        return f"{ANSWER_LEADS[question]} {emotion}."
    if task == "ov-mer" and emotions is not None:
        return f"The character's emotional state is {', '.join(emotions) or 'neutral'}."
    if task == "mir" and intent:
        return intent
    if task == "eri" and reason:
        return reason
    if task == "erg" and empathy:
        return (
            f"<think>Firstly, the event scenario of this conversation is: {empathy.scenario}\n"
            f"Secondly, the emotion of the speaker is {empathy.emotion}\n"
            f"Thirdly, the emotion cause is {empathy.cause}\n"
            f"Fourthly, the goal to response is {empathy.goal}</think>\n {empathy.response}"
        )
    raise ValueError(f"no training target for task '{task}' from the labels given")
