"""ERG metrics under the E3RG protocol (github.com/RH-Lin/E3RG): speaker emotion, coarse hit rate, Dist-1/2.

- emotion_acc: the speaker emotion named in the chain of empathy equals the fine-grained label.
- coarse_hit: both map to the same one of E3RG's 8 classes (`emotion_predict_conv_ola.py`,
  `emotion_projection_map_empathe_mead`); a word outside the map is a miss and is listed in `unmapped`.
- dist1/dist2: E3RG's `evaluate_dist_n` (`response_predict_turn_ola.py`): per response, distinct n-grams over
  all n-grams of the lower-cased whitespace tokens, averaged over the responses that have an n-gram.
- dist1_corpus/dist2_corpus: distinct n-grams over all n-grams of the whole set (Li et al., 2016).
Distinct-n is computed on the reply after </think>, never on the chain of empathy.
"""

from collections.abc import Iterable, Mapping

from nanoemox.eval.ids import require_predictions
from nanoemox.eval.parse import parse_erg

COARSE = ("neutral", "happy", "surprised", "angry", "fear", "sad", "disgusted", "contempt")
FINE_TO_COARSE = {
    **{label: label for label in COARSE},
    **dict.fromkeys(
        ("joyful", "prepared", "content", "caring", "trusting", "faithful", "confident", "hopeful", "grateful",
         "proud", "excited", "anticipating"),
        "happy",
    ),
    **dict.fromkeys(
        ("lonely", "guilty", "anxious", "nostalgic", "disappointed", "sentimental", "ashamed", "devastated"), "sad"
    ),
    "impressed": "surprised",
    "furious": "angry",
    "annoyed": "angry",
    **dict.fromkeys(("afraid", "terrified", "apprehensive"), "fear"),
    # E3RG's dict literal lists "embarrassed" under sad and again under disgusted; Python keeps the last one
    "embarrassed": "disgusted",
    "jealous": "contempt",
}  # fmt: skip


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


def erg_scores(gt_emotion: Mapping[str, str], answers: Mapping[str, str]) -> dict:
    """Scores of raw ERG answers (think chain + reply) against the fine-grained speaker emotion, by id."""
    require_predictions(gt_emotion, answers)
    exact = hits = 0
    unmapped: set[str] = set()
    responses = []
    for sample, label in gt_emotion.items():
        parsed = parse_erg(answers[sample])
        truth, guess = label.strip().lower(), parsed["emotion"]
        responses.append(parsed["response"])
        exact += guess == truth
        unmapped.update(word for word in (truth, guess) if word not in FINE_TO_COARSE)
        hits += truth in FINE_TO_COARSE and FINE_TO_COARSE[truth] == FINE_TO_COARSE.get(guess)
    n = len(gt_emotion)
    return {
        "emotion_acc": exact / n,
        "coarse_hit": hits / n,
        "dist1": distinct_n(responses, 1),
        "dist2": distinct_n(responses, 2),
        "dist1_corpus": distinct_n_corpus(responses, 1),
        "dist2_corpus": distinct_n_corpus(responses, 2),
        "n": n,
        "unmapped": sorted(unmapped),
    }
