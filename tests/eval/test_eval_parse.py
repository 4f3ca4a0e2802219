import pytest

from nanoemox.datasets.record import EmpathyChain
from nanoemox.eval.parse import parse_emotions, parse_erg, parse_intent
from nanoemox.model.prompts import build_answer


def test_parse_emotions_reads_both_mer_answer_forms():
    assert parse_emotions(build_answer("ov-mer", emotions=["Happy", "excited"])) == ["happy", "excited"]
    assert parse_emotions(build_answer("mer", emotion="sad", question="mer-candidates")) == ["sad"]
    assert parse_emotions(build_answer("mer", emotion="worried")) == ["worried"]
    assert parse_emotions(build_answer("ov-mer", emotions=[])) == ["neutral"]


def test_parse_emotions_dedupes_strips_and_stops_at_the_sentence_end():
    text = "The character\u2019s emotional state is: happy, Happy , and excited. Also he is tired.###"
    assert parse_emotions(text) == ["happy", "excited"]
    assert parse_emotions("The most likely label is surprise###") == ["surprise"]


@pytest.mark.parametrize("text", ["", "I cannot tell.", "happy, sad"])
def test_parse_emotions_without_the_lead_is_empty(text):
    assert parse_emotions(text) == []


CANDIDATES = ["complain", "praise", "ask for help", "thank"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ask for help", "ask for help"),  # the training target form
        ("Praise.", "praise"),
        ("The intent is to COMPLAIN about it", "complain"),
        ("thanks a lot", "unknown"),  # 'thank' only as a whole word
        ("complaining", "unknown"),
        ("complain and praise", "multi"),
        ("", "unknown"),
    ],
)
def test_parse_intent_follows_mmla(text, expected):
    assert parse_intent(text, CANDIDATES) == expected


def test_parse_intent_prefers_the_exact_whole_answer():
    # "ask" alone would also match as a whole word inside "ask for help"; the exact answer wins
    assert parse_intent("ask for help", [*CANDIDATES, "ask"]) == "ask for help"
    assert parse_intent("I ask for help", [*CANDIDATES, "ask"]) == "multi"


def test_parse_erg_splits_the_chain_from_the_reply():
    chain = EmpathyChain(
        scenario="a lost job", emotion="Devastated", cause="layoffs", goal="comfort", response="I am so sorry."
    )
    parsed = parse_erg(build_answer("erg", empathy=chain) + "###")
    assert parsed["emotion"] == "devastated"
    assert parsed["response"] == "I am so sorry."
    assert parsed["think"].startswith("Firstly, the event scenario") and "</think>" not in parsed["think"]


def test_parse_erg_partial_answers():
    assert parse_erg("Just a reply.") == {"emotion": "", "response": "Just a reply.", "think": ""}
    cut = parse_erg("<think>Firstly, x\nSecondly, the emotion of the speaker is sad.\nThirdly")
    assert cut == {
        "emotion": "sad",
        "response": "",
        "think": "Firstly, x\nSecondly, the emotion of the speaker is sad.\nThirdly",
    }
