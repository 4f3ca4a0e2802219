"""Which task a record can serve, and its prompt (and training answer) for that task.

Shared by training (prompt + answer) and scoring (prompt only), so both ask the same questions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from nanoemox.datasets.labels import EMOTIONS, INTENTS
from nanoemox.datasets.record import Record
from nanoemox.errors import NanoEmoXError
from nanoemox.model.prompts import PromptTemplates, build_answer, build_prompt

MER_UNIBENCH = ("mer2023", "mer2024", "meld", "iemocap", "mosi", "mosei", "sims", "simsv2", "ov-merd")
# MER asked without the candidate list although the label set is closed, as the published code asks M3ED
# (datasets/datasets/base_dataset.py:670-671, func_get_qa_onehot_wo_candidates)
MER_WITHOUT_CANDIDATES = ("m3ed",)
# MER asked in the dialogue frame about the speaker's emotion, as the published code asks AvaMERG
# (avamerg_dataset.py:198-205, base_dataset.py:438-451, func_get_qa_emotion_recognition)
MER_IN_DIALOGUE = ("avamerg",)


def candidates(task: str, dataset: str) -> list[str] | None:
    """MER candidate emotions / MIR candidate intents the prompt lists: the dataset's closed label set (None when
    open, and for MER datasets the published code asks without candidates)."""
    if task == "mer" and dataset in MER_WITHOUT_CANDIDATES:
        return None
    table = INTENTS if task == "mir" else EMOTIONS if task == "mer" else {}
    return list(table[dataset]) if dataset in table else None


def question_key(task: str, dataset: str) -> str:
    """Which question of prompts.yaml a task asks on a dataset."""
    if task == "mer" and dataset in MER_IN_DIALOGUE:
        return "mer-dialogue"
    return "mer-candidates" if task == "mer" and candidates(task, dataset) else task


def check_askable(task: str, dataset: str) -> None:
    """Refuse, before any model is loaded, a task whose prompt needs candidates the dataset does not have."""
    if task == "mir" and candidates("mir", dataset) is None:
        raise NanoEmoXError(
            f"the mir prompt lists the dataset's candidate intents and '{dataset}' has none; "
            f"ask mir on {' or '.join(INTENTS)}"
        )


def prompt_for(
    task: str,
    record: Record,
    present: Sequence[str],
    token_counts: Mapping[str, int],
    variant: int = 0,
    prompts: PromptTemplates | None = None,
) -> str:
    """The prompt for `task` on a stored record; `present` lists the modalities the clip has; `variant` picks
    the question variant."""
    dialogue = [(turn.speaker, turn.utterance) for turn in record.dialogue]
    return build_prompt(
        task,
        present,
        token_counts,
        record.subtitle,
        candidates(task, record.dataset),
        dialogue,
        variant,
        prompts,
        question_key(task, record.dataset),
    )


def asked_task(task: str, dataset: str, unibench_question: str) -> str:
    """The task whose question scoring asks: MER-UniBench asks MER datasets the open-vocabulary question."""
    return "ov-mer" if task == "mer" and dataset in MER_UNIBENCH and unibench_question == "open" else task


def prompt_id(task: str, dataset: str) -> str:
    """Which question was asked, recorded with each prediction (MER asks with candidates, without, or in the
    dialogue frame)."""
    if task == "mer":
        return question_key(task, dataset)
    return f"{task}-candidates" if candidates(task, dataset) else task


def answer_for(task: str, record: Record) -> str:
    """The training target for `task` from a stored record's labels."""
    labels, empathy = record.labels, record.labels.empathy
    question = question_key(task, record.dataset)
    # in the dialogue frame the answer names the speaker emotion as annotated, the word the ERG chain says
    emotion = empathy.emotion if question == "mer-dialogue" and empathy else labels.emotion
    return build_answer(
        task,
        emotion=emotion,
        emotions=labels.ov_emotions,
        intent=labels.intent,
        reason=labels.reason,
        empathy=empathy,
        question=question,
    )
