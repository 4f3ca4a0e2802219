"""MIR and ERG scored by the published Nano-EmoX repository's own rules (`eval.protocol: published-code`).

waHAHJIAHAO/Nano-EmoX `evaluation/eval_merg_exp.py` at b08f985, called by `evaluation-scoreonly.py:225-288` on the
answers `conversation/conversation_video.py:274-281` returns (cut at the last `###`, after "Assistant:", stripped).
It differs from the benchmarks' protocols that `mir.py` (MMLA) and `erg.py` (E3RG) follow, so both numbers can be
shown:
- MIR (`evaluate_mintrec_metrics`): the whole answer must equal the label, case and all; no parsing.
- ERG (`evaluate_avamerg_metrics`): the emotion is the word after "the emotion of the speaker is" inside
  `<think>` (lower-cased), else the first keyword of its own dictionary found anywhere in the answer (the
  dictionary's key, so "happy" reads as joyful), else "unknown". Accuracy: that word equals the label as
  annotated. Hit rate: both map to the same class of its copy of E3RG's map; the published code raises on a
  word outside the map, here such a pair is a miss, listed in `unmapped`. Dist-n: per answer with `<think>...</think>`
  removed, empty answers skipped. Scored: each dialogue's last turn (the published inference asks only those).
Fractions in [0, 1]; the published script prints them x100.
"""

import re
from collections.abc import Mapping

from nanoemox.datasets.record import Labels
from nanoemox.eval.classification import accuracy, prf
from nanoemox.eval.erg import FINE_TO_COARSE, distinct_n, last_turns

SPEAKER_EMOTION = re.compile(r"the emotion of the speaker is\s+(\w+)")
THINK = re.compile(r"<think>.*?</think>", re.DOTALL)
KEYWORDS = {  # eval_merg_exp.py:139-162, searched in this order
    "angry": ("angry", "anger", "furious", "mad", "irate", "enraged"),
    "annoyed": ("annoyed", "annoyance", "irritated", "irritation", "vexed", "bothered"),
    "caring": ("caring", "compassionate", "empathetic", "kind", "sympathetic", "concern"),
    "content": ("content", "contentment", "satisfied", "pleased", "peaceful", "fulfilled"),
    "disappointed": ("disappointed", "disappointment", "letdown", "discouraged", "disheartened"),
    "excited": ("excited", "excitement", "enthusiastic", "thrilled", "eager", "animated"),
    "faithful": ("faithful", "loyal", "devoted", "dedicated", "steadfast", "fidelity"),
    "frustrated": ("frustrated", "frustration", "exasperated", "aggravated", "irked"),
    "grateful": ("grateful", "gratitude", "thankful", "appreciative", "obliged"),
    "guilty": ("guilty", "guilt", "remorseful", "ashamed", "contrite", "regretful"),
    "hopeful": ("hopeful", "hope", "optimistic", "encouraged", "buoyant", "expectant", "anticipating"),
    "joyful": ("joyful", "joy", "happy", "delighted", "cheerful", "gleeful"),
    "lonely": ("lonely", "loneliness", "lonesome", "isolated", "forlorn", "desolate"),
    "loneliness": ("lonely", "loneliness", "lonesome", "isolated", "forlorn", "desolate"),
    "nostalgic": ("nostalgic", "nostalgia", "sentimental", "wistful", "yearning"),
    "overwhelmed": ("overwhelmed", "overwhelm", "swamped", "burdened", "overloaded"),
    "sad": ("sad", "sadness", "sorrowful", "melancholy", "grief", "depressed"),
    "sadness": ("sad", "sadness", "sorrowful", "melancholy", "grief", "depressed"),
    "surprised": ("surprised", "surprise", "amazed", "astonished", "shocked", "stunned"),
    "terrified": ("terrified", "terror", "frightened", "afraid", "scared", "petrified"),
    "trusting": ("trusting", "trust", "confident", "relying", "believing", "assured", "prepared"),
    "worried": ("worried", "worry", "anxious", "nervous", "concerned", "uneasy", "apprehensive"),
    "anxious": ("anxious", "anxiety", "worried", "nervous", "concerned", "uneasy"),
}  # fmt: skip
PROTOCOL = "published Nano-EmoX evaluation/eval_merg_exp.py"


def published_answer(output: str) -> str:
    """The answer as the published inference keeps it: before the last `###`, after "Assistant:", stripped."""
    return output.rsplit("###", 1)[0].split("Assistant:")[-1].strip()


def published_emotion(answer: str) -> str:
    """eval_merg_exp.py:124-195, `extract_emotion_from_response` without a mapping."""
    if not answer:
        return "unknown"
    start, end = answer.find("<think>"), answer.find("</think>")
    if start != -1 and end != -1:
        match = SPEAKER_EMOTION.search(answer[start + len("<think>") : end].lower())
        if match:
            return match.group(1).strip()
    lower = answer.lower()
    for emotion, words in KEYWORDS.items():
        if any(word in lower for word in words):
            return emotion
    return "unknown"


def published_mir(gt: Mapping[str, str], outputs: Mapping[str, str]) -> dict:
    """acc, weighted F1 and weighted precision of whole answers against the labels (ids with an answer)."""
    ids = [i for i in gt if i in outputs]
    truth, guess = [gt[i] for i in ids], [published_answer(outputs[i]) for i in ids]
    if not ids:
        return {"acc": 0.0, "wf1": 0.0, "wp": 0.0, "n": 0, "protocol": PROTOCOL}
    weighted_p, _, weighted_f = prf(truth, guess, "weighted")
    return {"acc": accuracy(truth, guess), "wf1": weighted_f, "wp": weighted_p, "n": len(ids), "protocol": PROTOCOL}


def published_erg(gt_emotion: Mapping[str, str], outputs: Mapping[str, str]) -> dict:
    """Emotion accuracy, hit rate and Dist-1/2 of each dialogue's last turn (ids with an answer)."""
    ids = [i for i in last_turns(gt_emotion) if i in outputs]
    answers = {i: published_answer(outputs[i]) for i in ids}
    exact = hits = 0
    unmapped: set[str] = set()
    for i in ids:
        truth, guess = gt_emotion[i], published_emotion(answers[i])
        exact += guess == truth
        unmapped |= {word for word in (truth, guess) if word not in FINE_TO_COARSE}
        hits += truth in FINE_TO_COARSE and guess in FINE_TO_COARSE and FINE_TO_COARSE[truth] == FINE_TO_COARSE[guess]
    replies = [text for text in (THINK.sub("", a).strip() for a in answers.values()) if text]
    n = len(ids) or 1
    return {
        "emotion_acc": exact / n,
        "coarse_hit": hits / n,
        "dist1": distinct_n(replies, 1),
        "dist2": distinct_n(replies, 2),
        "n": len(ids),
        "unmapped": sorted(unmapped),
        "protocol": PROTOCOL,
    }


def published_scores(task: str, labels: Mapping[str, Labels], rows: Mapping[str, dict]) -> dict:
    """MIR or ERG of a predictions file under the published repository's rules."""
    outputs = {i: row.get("output") or "" for i, row in rows.items()}
    if task == "mir":
        return published_mir({i: lab.intent for i, lab in labels.items() if lab.intent}, outputs)
    return published_erg({i: lab.empathy.emotion for i, lab in labels.items() if lab.empathy}, outputs)
