import pytest

from nanoemox.datasets.record import EmpathyChain
from nanoemox.eval.erg import FINE_TO_COARSE, distinct_n, distinct_n_corpus, erg_scores
from nanoemox.eval.errors import EvalError
from nanoemox.model.prompts import build_answer


def answer(emotion: str, reply: str) -> str:
    chain = EmpathyChain(scenario="x", emotion=emotion, cause="y", goal="z", response=reply)
    return build_answer("erg", empathy=chain)


def test_fine_to_coarse_follows_e3rg():
    assert set(FINE_TO_COARSE.values()) == {
        "neutral",
        "happy",
        "surprised",
        "angry",
        "fear",
        "sad",
        "disgusted",
        "contempt",
    }
    assert FINE_TO_COARSE["embarrassed"] == "disgusted"  # E3RG's duplicate key: the later entry wins
    assert FINE_TO_COARSE["anxious"] == "sad" and FINE_TO_COARSE["jealous"] == "contempt"


def test_distinct_n_hand_computed():
    responses = ["I am so so sorry", "so sorry", ""]
    # unigrams: [i am so so sorry] 4/5, [so sorry] 2/2, '' skipped -> mean 0.9; corpus {i am so sorry} 4 / 7
    assert distinct_n(responses, 1) == pytest.approx(0.9)
    assert distinct_n_corpus(responses, 1) == pytest.approx(4 / 7)
    # bigrams: [i am, am so, so so, so sorry] 4/4, [so sorry] 1/1 -> 1.0; corpus 4 distinct of 5
    assert distinct_n(responses, 2) == pytest.approx(1.0)
    assert distinct_n_corpus(responses, 2) == pytest.approx(4 / 5)
    assert distinct_n(["one"], 2) == 0.0 and distinct_n_corpus([], 1) == 0.0


def test_erg_scores_hand_computed():
    gt = {"a": "Joyful", "b": "terrified", "c": "sad", "d": "wistful"}
    answers = {
        "a": answer("joyful", "That is great news!"),  # exact, coarse happy = happy
        "b": answer("afraid", "Oh no, stay safe."),  # not exact, coarse fear = fear
        "c": answer("furious", "Calm down."),  # coarse angry != sad
        "d": answer("wistful", "I see."),  # exact, but 'wistful' is not in E3RG's map: coarse miss
    }
    scores = erg_scores(gt, answers)
    assert scores["emotion_acc"] == pytest.approx(2 / 4)
    assert scores["coarse_hit"] == pytest.approx(2 / 4)
    assert scores["unmapped"] == ["wistful"]
    assert scores["n"] == 4
    # the think chain never enters Dist-n: every reply has distinct words only
    assert scores["dist1"] == scores["dist2"] == 1.0
    assert scores["dist1_corpus"] == pytest.approx(1.0)


def test_erg_missing_answer_is_an_error():
    with pytest.raises(EvalError, match="have no prediction: b"):
        erg_scores({"a": "sad", "b": "sad"}, {"a": answer("sad", "x")})
