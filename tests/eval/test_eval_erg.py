import pytest

from nanoemox.datasets.record import EmpathyChain
from nanoemox.eval.erg import FINE_TO_COARSE, distinct_n, distinct_n_corpus, e3rg_emotion, erg_scores, last_turns
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
        "d": answer("wistful", "I see."),  # E3RG reads no label in 'wistful': neutral; the truth is not in its map
    }
    scores = erg_scores(gt, answers)
    assert scores["emotion_acc"] == pytest.approx(1 / 4)
    assert scores["coarse_hit"] == pytest.approx(2 / 4)
    assert scores["unmapped"] == ["wistful"] and scores["n_fallback"] == 1
    assert scores["n"] == 4
    # the think chain never enters Dist-n: every reply has distinct words only
    assert scores["dist1"] == scores["dist2"] == 1.0
    assert scores["dist1_corpus"] == pytest.approx(1.0)


def avamerg_answer(emotion: str, reply: str) -> str:
    """AvaMERG's own target format (merg_code/model/common/utils.py): tagged emotion, reply before </response>."""
    return (
        "Firstly, the event scenario of this conversation is a move .            Secondly, the emotion of the "
        f"speaker is <emo> {emotion} </emo>.            Thirdly, the emotion cause is the move.            "
        f"Fourthly, the goal to response is comfort.            Finally, output the empathetic response. {reply}"
        "</response>\n###"
    )


# (id, truth, answer): one dialogue per id except dia1, whose last turn is utt2. What E3RG's matching loop
# (emotion_predict_conv_ola.py, run on each emotion text) returns is given per line: label, coarse hit.
E3RG_CASES = [
    ("dia1utt0_S1", "sad", avamerg_answer("happy", "Nice.")),  # happy; an earlier turn
    ("dia1utt2_S1", "anxious", avamerg_answer("very anxious", "Take a breath.")),  # anxious, hit
    # fear, hit
    ("dia2utt0_S2", "afraid", "<think>Secondly, the emotion of the speaker is fearful\nThirdly</think> Go."),
    ("dia3utt0_S3", "lonely", "<think>x. The emotion of the speaker is sad and lonely. Thirdly</think> Hi."),  # sad
    ("dia4utt0_S4", "anxious", avamerg_answer("nervous", "Relax.")),  # no label: neutral (fallback), miss
    ("dia5utt0_S5", "neutral", "<think>Firstly, a chat.</think> Sure thing."),  # no emotion: neutral (fallback), hit
    ("dia6utt0_S6", "jealous", avamerg_answer("contempt", "I see.")),  # contempt, hit
    ("dia7utt0_S7", "grateful", "<think>Secondly, the emotion of the speaker is grateful.</think> Glad."),  # grateful
    ("dia8utt0_S8", "ashamed", avamerg_answer("embarrassed", "It happens.")),  # embarrassed (disgusted), miss
]  # fmt: skip


def test_erg_reads_avamerg_tags_and_e3rg_word_rules():
    gt = {sample: truth for sample, truth, _ in E3RG_CASES}
    answers = {sample: text for sample, _, text in E3RG_CASES}
    last = erg_scores(gt, answers)  # E3RG: each dialogue's last turn
    assert last["n"] == 8 and last["turns"] == "last" and last["n_responses"] == 9
    assert last["emotion_acc"] == pytest.approx(3 / 8)  # anxious, neutral, grateful
    assert last["coarse_hit"] == pytest.approx(6 / 8)
    assert last["n_fallback"] == 2
    every = erg_scores(gt, answers, turns="all")
    assert (
        every["n"] == 9 and every["emotion_acc"] == pytest.approx(3 / 9) and every["coarse_hit"] == pytest.approx(6 / 9)
    )
    # Dist-n on the replies only: AvaMERG's chain before "output the empathetic response." is left out
    assert last["dist1"] == every["dist1"] == 1.0


@pytest.mark.parametrize(
    ("text", "label"),
    [  # what E3RG's loop returns for each text (run on a fetched copy of emotion_predict_conv_ola.py)
        ("very anxious", "anxious"),
        ("fearful", "fear"),
        ("sad and lonely", "sad"),
        ("lonely and sad", "sad"),  # the map's order decides, not the text's
        ("sadness", "sad"),
        ("unhappy", "happy"),
        ("joyful and excited", "joyful"),
        ("angry", "angry"),
        ("happiness", None),  # E3RG: neutral
        ("scared", None),
        ("disgust", None),
        ("", None),
    ],
)
def test_e3rg_emotion_matches_the_reference_loop(text, label):
    assert e3rg_emotion(text) == label


def test_last_turns_picks_the_highest_turn_of_each_dialogue():
    ids = ["dia1utt0_S1", "dia1utt10_S1", "dia1utt2_S1", "dia2utt4_S2", "plain"]
    assert last_turns(ids) == {"dia1utt10_S1", "dia2utt4_S2", "plain"}


def test_erg_missing_answer_is_an_error():
    with pytest.raises(EvalError, match="have no prediction: b"):
        erg_scores({"a": "sad", "b": "sad"}, {"a": answer("sad", "x")})
