"""The ERI judge, as AffectGPT scores EMER (zeroQiaoba/AffectGPT `AffectGPT/evaluation.py`).

Clue overlap: the judge summarises the emotional state described by the reference reasoning and by the predicted
one, and rates their overlap from 1 to 10 (`func_clue_scoring`). Label overlap: the judge first reduces each
reasoning to its most likely emotion words (`get_summarized_emotions`), then rates the overlap of the two
(`func_label_scoring`). The prompts say the same in our own words, in English. A reply with no score in 1-10
is reported under `failed` and left out of that mean (None when no reply has a score). `mean` is the mean of
the two, the ERI figure the paper reports (its Table 6 average).
"""

import re
from collections import Counter
from collections.abc import Sequence

from nanoemox.eval.errors import EvalError
from nanoemox.eval.llm import ChatClient

JUDGE_PROMPT_VERSION = "nanoemox-emer-judge-v1"  # change it whenever a prompt below changes
REPLY_FORMAT = "Answer in the format 'Score: <number>; Reason: <reason>'."
SCORE_AFTER_KEY = re.compile(r"score\W{0,3}\s*(\d+(?:\.\d+)?)", re.IGNORECASE)
FIRST_NUMBER = re.compile(r"\d+(?:\.\d+)?")  # AffectGPT's fallback reading: the first number in the reply


def clue_prompt(reference: str, predicted: str) -> str:
    """Rate how far the predicted reasoning's emotional description overlaps the reference's."""
    return (
        "Below are a reference description and a predicted description of a person. Score the predicted "
        "description from 1 to 10 in these steps:\n"
        "1. Summarise what the reference description says about the person's emotional state.\n"
        "2. Summarise what the predicted description says about the person's emotional state.\n"
        "3. Rate the overlap between the two: the larger the overlap, the higher the score.\n"
        f"{REPLY_FORMAT}\n\nReference description: {reference}\n\nPredicted description: {predicted}\n\nOutput:"
    )


def emotions_prompt(reasoning: str) -> str:
    """Reduce a reasoning to the person's most likely emotional state, as emotion words only."""
    return (
        "From the description of a video below, infer the most likely emotional state of the person in it. "
        "Output only emotion words.\n"
        "Description: He looks cheerful, but in fact he is very nervous.\nOutput: nervous\n"
        f"Description: {reasoning}\nOutput:"
    )


def label_prompt(reference_emotions: str, predicted_emotions: str) -> str:
    """Rate how far the predicted emotions overlap the reference emotions."""
    return (
        "Below are a person's reference emotions and predicted emotions. Rate the overlap between the predicted "
        "and the reference emotions from 1 to 10: the larger the overlap, the higher the score.\n"
        f"{REPLY_FORMAT}\n\nReference emotions: {reference_emotions}\n\nPredicted emotions: {predicted_emotions}"
        "\n\nOutput:"
    )


def parse_score(reply: str) -> float | None:
    """The 1-10 score of a judge reply ('Score: 7; Reason: ...', or else its first number), None if there is none."""
    match = SCORE_AFTER_KEY.search(reply) or FIRST_NUMBER.search(reply)
    if match is None:
        return None
    score = float(match.group(match.lastindex or 0))
    return score if 1 <= score <= 10 else None


def judge_eri(client: ChatClient, items: Sequence[tuple[str, str, str]]) -> dict:
    """Mean clue and label overlap (1-10) over (id, reference_reason, predicted_reason) items, with per-item scores."""
    ids = [item[0] for item in items]
    if not ids:
        raise EvalError("nothing to judge: no ERI items")
    repeated = sorted(sample for sample, count in Counter(ids).items() if count > 1)
    if repeated:
        raise EvalError(f"ERI item id(s) given more than once: {', '.join(repeated[:5])}")
    per_item, failed = [], []
    for sample, reference, predicted in items:
        clue_reply = client.ask(clue_prompt(reference, predicted))
        label_reply = client.ask(
            label_prompt(client.ask(emotions_prompt(reference)), client.ask(emotions_prompt(predicted)))
        )
        scores = {"clue_overlap": parse_score(clue_reply), "label_overlap": parse_score(label_reply)}
        for metric, reply in (("clue_overlap", clue_reply), ("label_overlap", label_reply)):
            if scores[metric] is None:
                failed.append({"id": sample, "metric": metric, "reply": reply})
        per_item.append({"id": sample, **scores})
    result: dict = {"n": len(items)}
    for metric in ("clue_overlap", "label_overlap"):
        valid = [item[metric] for item in per_item if item[metric] is not None]
        result[metric] = sum(valid) / len(valid) if valid else None
        result[f"n_{metric}"] = len(valid)
    pair = (result["clue_overlap"], result["label_overlap"])
    result["mean"] = None if None in pair else sum(pair) / 2
    return {**result, "failed": failed, "items": per_item}
