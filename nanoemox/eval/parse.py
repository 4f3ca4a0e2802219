"""Reading our model's answer texts (the formats `nanoemox.model.prompts.build_answer` trains) back into labels."""

import re
from collections.abc import Sequence

from nanoemox.model.prompts import ANSWER_END

EMOTION_LEADS = re.compile(
    r"(?:the character's emotional state is|the most likely label is|the emotion of the speaker is)\s*:?", re.IGNORECASE
)
EMO_TAG = re.compile(r"<emo>(.*?)</emo>", re.IGNORECASE | re.DOTALL)  # AvaMERG's training target
SPEAKER_EMOTION = re.compile(  # the sentence, with or without "Secondly, ", up to the end of the sentence
    r"the emotion of the speaker is\s*:?\s*(.*?)\s*(?:\n|\.\s|\.$|thirdly\b|$)", re.IGNORECASE | re.DOTALL
)
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
AVAMERG_REPLY = re.compile(r"output the empathetic response\.", re.IGNORECASE)  # AvaMERG: chain, this, reply
AVAMERG_END = "</response>"


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

    Our format: `<think>chain</think> reply`; a reply with no </think> (generation cut short inside the chain)
    has an empty response, one with no <think> at all is all response. AvaMERG's format: the chain, then
    "Finally, output the empathetic response." and the reply, ending at </response>. The emotion is the text of
    the chain's `<emo>` tag, else of its "the emotion of the speaker is ..." sentence; "" when neither is there.
    """
    text = _clean(text)
    before, opened, after_open = text.partition(THINK_OPEN)
    think, closed, response = after_open.partition(THINK_CLOSE)
    if not opened:
        marker = AVAMERG_REPLY.search(before)
        think, response = (before[: marker.start()], before[marker.end() :]) if marker else ("", before)
        response = response.split(AVAMERG_END)[0]
    elif not closed:
        response = ""
    found = EMO_TAG.search(think) or SPEAKER_EMOTION.search(think)
    return {
        "emotion": found.group(1).strip().rstrip(".").strip().lower() if found else "",
        "response": response.strip(),
        "think": think.strip(),
    }
