"""MSA under MER-UniBench: predicted emotions -> polarity, then WAF and ACC on positive vs non-positive.

AffectGPT (`evaluation.py`, `calculate_dimension_zeroshot`) asks Qwen2.5 to turn the open-vocabulary emotions into
positive / negative / neutral (`toolkit/utils/qwen.py`, `openset_to_sentiment_qwen`, whose prompt the published
Nano-EmoX evaluation also uses and `sentiment_llm` sends), reads those as 1 / -1 / 0
(any other reply as 0), drops samples whose ground truth is 0 and scores (truth > 0) against (prediction > 0)
with accuracy and weighted F1. `sentiment_llm` follows that path with any OpenAI-compatible model.

`wheel_polarity` is the path without an LLM (ours, not AffectGPT's): every emotion word votes with the sign of
the level-1 classes of the wheel words it reaches through the wheel's word forms and synonyms ("surprised" has
no sign); a sample is positive when its positive words outnumber its negative ones.
"""

from collections.abc import Mapping, Sequence

from nanoemox.eval.classification import accuracy, prf
from nanoemox.eval.errors import EvalError
from nanoemox.eval.ids import require_predictions
from nanoemox.eval.llm import ChatClient
from nanoemox.eval.wheel import EmotionWheels

LEVEL1_POLARITY = {  # the level-1 classes of MER-UniBench's five wheels
    "happy": 1, "joyful": 1, "joy": 1, "powerful": 1, "peaceful": 1, "genius": 1,
    "mad": -1, "angry": -1, "anger": -1, "disgusted": -1, "disgust": -1, "sad": -1,
    "scared": -1, "fearful": -1, "fear": -1, "bad": -1,
    "surprised": 0,
}  # fmt: skip
SENTIMENT_VALUES = {"positive": 1, "negative": -1, "neutral": 0}


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def word_polarity(wheels: EmotionWheels, word: str) -> int:
    """+1, -1 or 0: the majority sign of the wheel classes `word` reaches (0 when it reaches none)."""
    votes = 0
    for wheel_word in set(wheels.wheel_words(word.lower().strip())):
        for wheel in wheels.wheels:
            if wheel_word in wheel:
                level1 = wheel[wheel_word]
                if level1 not in LEVEL1_POLARITY:
                    raise EvalError(f"emotion-wheel class '{level1}' has no polarity; add it to LEVEL1_POLARITY")
                votes += LEVEL1_POLARITY[level1]
    return _sign(votes)


def wheel_polarity(wheels: EmotionWheels, emotions: Sequence[str]) -> int:
    """+1, -1 or 0 for one sample's predicted emotions, one vote per word."""
    return _sign(sum(word_polarity(wheels, word) for word in emotions))


def sentiment_prompt(emotions: Sequence[str]) -> str:
    """The published evaluation's openset_to_sentiment_qwen, its indentation runs as single spaces."""
    return (
        "Please act as an expert in the field of emotions. We provide a few words to describe the emotions of a "
        "character. Please choose the most likely sentiment from the given candidates: [positive, negative, "
        "neutral] Please direct output answer without analyzing process. Input: [joyful]; Output: positive "
        f"Input: []; Output: neutral Input: [{', '.join(emotions)}]; Output: "
    )


def sentiment_llm(client: ChatClient, emotion_lists: Sequence[Sequence[str]], draw: int = 0) -> list[int]:
    """+1, -1 or 0 for each sample's predicted emotions, decided by an LLM as AffectGPT does (other replies: 0)."""
    replies = client.ask_all([sentiment_prompt(emotions) for emotions in emotion_lists], draw)
    return [SENTIMENT_VALUES.get(reply.strip().strip(".").lower(), 0) for reply in replies]


def msa_scores(gt: Mapping[str, float], pred: Mapping[str, float]) -> dict:
    """Weighted F1 (waf) and accuracy of positive (>0) vs non-positive, ground truth 0 dropped; n scored."""
    require_predictions(gt, pred)
    kept = [sample for sample, value in gt.items() if value != 0]
    if not kept:
        raise EvalError("nothing to score: every ground-truth sentiment is 0")
    truth = [gt[sample] > 0 for sample in kept]
    guess = [pred[sample] > 0 for sample in kept]
    return {"waf": prf(truth, guess, "weighted")[2], "acc": accuracy(truth, guess), "n": len(kept)}
