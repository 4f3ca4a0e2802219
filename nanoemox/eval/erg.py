"""ERG metrics under the E3RG protocol (github.com/RH-Lin/E3RG): speaker emotion, coarse hit rate, Dist-1/2.

- The speaker emotion is read from the answer (`parse.parse_erg`: AvaMERG's `<emo> ... </emo>` tag, else the
  "the emotion of the speaker is ..." sentence, with or without its ordinal) and mapped to E3RG's label set the
  way `emotion_predict_conv_ola.py` does: each label of `emotion_projection_map_empathe_mead`, in its order, that
  occurs in the text replaces it, so "very anxious" -> anxious, "fearful" -> fear, "sad and lonely" -> sad
  (sad comes first in the map). Text in which no label occurs falls back to "neutral", as E3RG does; those
  answers are also counted in `n_fallback`. We lower-case the text first (E3RG matches case-sensitively).
- emotion_acc: the mapped emotion equals the fine-grained label. coarse_hit: both map to the same one of the
  8 classes; a ground-truth label outside the map is a miss and is listed in `unmapped`.
- Which turns: E3RG scores the emotion of each dialogue's last turn (`turns[-1]`); `turns="all"` scores every
  turn. A record id `dia{conversation}utt{k}_{speaker}` (the AvaMERG reader's) names its dialogue and turn.
- dist1/dist2: E3RG's `evaluate_dist_n` (`response_predict_turn_ola.py`, which answers every turn): per response,
  distinct n-grams over all n-grams of the lower-cased whitespace tokens, averaged over the responses that have
  an n-gram; dist1_corpus/dist2_corpus: the same over the whole set (Li et al., 2016). Distinct-n is computed on
  the reply after the chain of empathy, on every turn's response.
"""

import re
from collections.abc import Iterable, Mapping

from nanoemox.eval.errors import EvalError
from nanoemox.eval.ids import require_predictions
from nanoemox.eval.parse import parse_erg

COARSE = ("neutral", "happy", "surprised", "angry", "fear", "sad", "disgusted", "contempt")
FINE_TO_COARSE = {  # E3RG's emotion_projection_map_empathe_mead, in its key order
    **{label: label for label in COARSE},
    **dict.fromkeys(
        ("joyful", "prepared", "content", "caring", "trusting", "faithful", "confident", "hopeful", "grateful",
         "proud", "excited", "anticipating"),
        "happy",
    ),
    **dict.fromkeys(
        ("lonely", "guilty", "anxious", "nostalgic", "embarrassed", "disappointed", "sentimental", "ashamed",
         "devastated"),
        "sad",
    ),
    "impressed": "surprised",
    "furious": "angry",
    "annoyed": "angry",
    **dict.fromkeys(("afraid", "terrified", "apprehensive"), "fear"),
    # E3RG's dict literal lists "embarrassed" under sad and again under disgusted: Python keeps the key's first
    # position and the last value
    "embarrassed": "disgusted",
    "jealous": "contempt",
}  # fmt: skip
FALLBACK = "neutral"
TURN_ID = re.compile(r"(?P<dialogue>.*)utt(?P<turn>\d+)_[^/]*")


def e3rg_emotion(text: str) -> str | None:
    """E3RG's reading of an emotion answer: the label its matching loop leaves, None when no label occurs."""
    response = text.strip().lower()
    for label in FINE_TO_COARSE:
        if label in response:
            response = label
    return response if response in FINE_TO_COARSE else None


def last_turns(ids: Iterable[str]) -> set[str]:
    """The id of each dialogue's last turn; an id without a dialogue/turn name is a dialogue of its own."""
    last: dict[str, tuple[int, str]] = {}
    for sample in ids:
        match = TURN_ID.fullmatch(sample)
        dialogue, turn = (match["dialogue"], int(match["turn"])) if match else (sample, 0)
        if dialogue not in last or turn > last[dialogue][0]:
            last[dialogue] = (turn, sample)
    return {sample for _, sample in last.values()}


def _ngrams(text: str, n: int) -> list[tuple[str, ...]]:
    tokens = text.strip().lower().split()
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def distinct_n(responses: Iterable[str], n: int) -> float:
    """E3RG's Dist-n: mean over responses of distinct/total n-grams; responses without n-grams are skipped."""
    ratios = [len(set(grams)) / len(grams) for grams in (_ngrams(text, n) for text in responses) if grams]
    return sum(ratios) / len(ratios) if ratios else 0.0


def distinct_n_corpus(responses: Iterable[str], n: int) -> float:
    """Corpus Dist-n (Li et al., 2016): distinct n-grams over all n-grams of every response together."""
    grams = [gram for text in responses for gram in _ngrams(text, n)]
    return len(set(grams)) / len(grams) if grams else 0.0


def erg_scores(gt_emotion: Mapping[str, str], answers: Mapping[str, str], turns: str = "last") -> dict:
    """Scores of raw ERG answers (chain of empathy + reply) against the fine-grained speaker emotion, by id."""
    if turns not in ("last", "all"):
        raise EvalError(f"ERG turns must be 'last' or 'all', not {turns!r}")
    require_predictions(gt_emotion, answers)
    parsed = {sample: parse_erg(answers[sample]) for sample in gt_emotion}
    scored = last_turns(gt_emotion) if turns == "last" else set(gt_emotion)
    exact = hits = fallback = 0
    unmapped: set[str] = set()
    for sample in (s for s in gt_emotion if s in scored):
        truth, guess = gt_emotion[sample].strip().lower(), e3rg_emotion(parsed[sample]["emotion"])
        if guess is None:
            fallback += 1
            guess = FALLBACK
        exact += guess == truth
        if truth not in FINE_TO_COARSE:
            unmapped.add(truth)
        hits += truth in FINE_TO_COARSE and FINE_TO_COARSE[truth] == FINE_TO_COARSE[guess]
    responses = [answer["response"] for answer in parsed.values()]
    return {
        "emotion_acc": exact / len(scored),
        "coarse_hit": hits / len(scored),
        "dist1": distinct_n(responses, 1),
        "dist2": distinct_n(responses, 2),
        "dist1_corpus": distinct_n_corpus(responses, 1),
        "dist2_corpus": distinct_n_corpus(responses, 2),
        "n": len(scored),
        "n_fallback": fallback,
        "n_responses": len(responses),
        "turns": turns,
        "unmapped": sorted(unmapped),
    }
