"""Reading our model's answer texts (the formats `nanoemox.model.prompts.build_answer` trains) back into labels."""

import re
from collections.abc import Sequence

from nanoemox.model.prompts import ANSWER_END

EMOTION_LEADS = re.compile(r"(?:the character's emotional state is|the most likely label is)\s*:?", re.IGNORECASE)
SPEAKER_EMOTION = re.compile(r"secondly, the emotion of the speaker is\s*:?\s*([^\n]*)", re.IGNORECASE)
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"


def _clean(text: str) -> str:
    """One answer with typographic apostrophes straightened and the answer end marker removed."""
    return text.replace("\u2019", "'").split(ANSWER_END)[0]


def parse_emotions(text: str) -> list[str]:
    """Emotion words of a MER / OV-MER answer, lower-cased, deduplicated in order; [] when the lead is missing."""
    text = _clean(text)
    lead = EMOTION_LEADS.search(text)
    if lead is None:
        return []
    sentence = re.split(r"\.(?:\s|$)|\n", text[lead.end() :], maxsplit=1)[0]
    words = (word.strip(" \t'\"[]().").lower() for word in re.split(r",|;|\band\b", sentence))
    return list(dict.fromkeys(word for word in words if word))


def parse_intent(text: str, candidates: Sequence[str]) -> str:
    """The MMLA reading of an intent answer: the one candidate it names, else "unknown" (none) or "multi".

    An answer that is exactly one candidate (ignoring case, spaces and a final full stop) is that candidate;
    otherwise each candidate is searched as a whole word, as MMLA's `src/Zero-shot_Inference/eval.py` does.
    """
    answer = _clean(text).strip().lower()
    labels = [candidate.lower() for candidate in candidates]
    if answer.rstrip(".").strip() in labels:
        return answer.rstrip(".").strip()
    found = [label for label in labels if re.search(r"(?<!\w)" + re.escape(label) + r"(?!\w)", answer)]
    if not found:
        return "unknown"
    return found[0] if len(found) == 1 else "multi"


def parse_erg(text: str) -> dict[str, str]:
    """An ERG answer split into the chain of empathy (`think`), the reply after it and the speaker emotion.

    A reply with no </think> (generation cut short inside the chain) has an empty response; one with no
    <think> at all is all response. The emotion is "" when the chain does not name it.
    """
    text = _clean(text)
    before, opened, after_open = text.partition(THINK_OPEN)
    think, closed, response = after_open.partition(THINK_CLOSE)
    if not opened:
        think, response = "", before
    elif not closed:
        response = ""
    emotion = SPEAKER_EMOTION.search(think)
    return {
        "emotion": emotion.group(1).strip().rstrip(".").strip().lower() if emotion else "",
        "response": response.strip(),
        "think": think.strip(),
    }
