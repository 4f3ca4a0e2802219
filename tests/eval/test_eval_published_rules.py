"""The published repository's MIR/ERG rules (evaluation/eval_merg_exp.py), hand-computed, and the config switch."""

import pytest

from nanoemox.config import load_config
from nanoemox.datasets.record import EmpathyChain, Labels
from nanoemox.eval.benchmark import Scorer
from nanoemox.eval.published_rules import published_emotion, published_erg, published_mir

CHAIN = (
    "<think>Firstly, the event scenario of this conversation is: a loss\nSecondly, the emotion of the speaker is {}\n"
)


def think(emotion: str, reply: str) -> str:
    return (
        CHAIN.format(emotion)
        + "Thirdly, the emotion cause is x\nFourthly, the goal to response is y</think>\n "
        + reply
    )


def test_the_emotion_is_read_inside_think_else_by_keyword():
    assert published_emotion(think("Anxious", "ok")) == "anxious"  # lower-cased inside <think>
    assert published_emotion("I am so happy for you") == "joyful"  # the dictionary's key, not the word
    assert published_emotion("You sound worried and sad") == "sad"  # dictionary order: sad before worried
    assert published_emotion("Tell me more.") == "unknown" and published_emotion("") == "unknown"


def test_published_mir_is_an_exact_match_of_the_whole_answer():
    gt = {"a": "complain", "b": "praise", "c": "thank", "d": "greet"}
    outputs = {"a": "complain###", "b": "Praise", "c": "thank you", "d": " greet "}  # "Praise" and "thank you" miss
    scores = published_mir(gt, outputs)
    assert scores["acc"] == pytest.approx(0.5) and scores["n"] == 4
    # weighted over the true classes (1 each): F1 1, 0, 0, 1 -> 0.5; precision 1, 0, 0, 1 -> 0.5
    assert (scores["wf1"], scores["wp"]) == pytest.approx((0.5, 0.5))


def test_published_erg_hand_computed():
    gt = {"dia1utt0_5": "sad", "dia1utt2_5": "anxious", "dia2utt0_7": "proud", "dia3utt0_9": "frustrated"}
    outputs = {
        "dia1utt0_5": think("furious", "earlier turn, not scored"),
        "dia1utt2_5": think("anxious", "That sounds hard."),  # exact
        "dia2utt0_7": "I am so happy for you",  # joyful: not exact, both happy: a hit
        "dia3utt0_9": think("frustrated", "I see"),  # exact, but frustrated is not in the map: a miss
    }
    scores = published_erg(gt, outputs)
    assert scores["n"] == 3  # each dialogue's last turn
    assert scores["emotion_acc"] == pytest.approx(2 / 3) and scores["coarse_hit"] == pytest.approx(2 / 3)
    assert scores["unmapped"] == ["frustrated"]
    # replies without <think>: "That sounds hard." 3/3, "I am so happy for you" 6/6, "I see" 2/2
    assert scores["dist1"] == pytest.approx(1.0)


def test_eval_protocol_switches_the_scorer():
    labels = {"x": Labels(intent="thank"), "y": Labels(intent="greet")}
    rows = {"x": {"output": "thank", "answer": "thank"}, "y": {"output": "Greet!", "answer": "greet"}}
    benchmark = Scorer(load_config(preset="tiny").eval, None).score("mir", labels, rows, "mintrec")
    published = Scorer(load_config(preset="tiny,published-code").eval, None).score("mir", labels, rows, "mintrec")
    assert benchmark["acc"] == 1.0 and published["acc"] == 0.5
    assert "eval_merg_exp" in published["protocol"] and "MMLA" in benchmark["protocol"]
    chain = EmpathyChain("a loss", "sad", "x", "y", "I am sorry.")
    erg = Scorer(load_config(preset="tiny,published-code").eval, None).score(
        "erg", {"dia1utt0_5": Labels(emotion="sad", empathy=chain)}, {"dia1utt0_5": {"output": "So sad."}}, "avamerg"
    )
    assert erg["emotion_acc"] == 1.0 and erg["dist1"] == pytest.approx(1.0)
