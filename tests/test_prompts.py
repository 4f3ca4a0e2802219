import pytest

from nanoemox.model.prompts import PLACEHOLDERS, TASK_TAGS, TASKS, EmpathyChain, build_answer, build_prompt

COUNTS = {"fusion": 1, "speech": 32, "face": 4, "visual": 32}
ALL = list(COUNTS)


@pytest.mark.parametrize("task", TASKS)
def test_every_task_has_its_identifier_and_placeholders(task):
    prompt = build_prompt(task, ALL, COUNTS, "I can't believe it", ["happy", "sad"], [("A", "hi"), ("B", "hello")])
    assert TASK_TAGS[task] in prompt
    assert prompt.startswith("###Human: ") and prompt.endswith("###Assistant: ")
    for modality, token in PLACEHOLDERS.items():
        assert prompt.count(token) == COUNTS[modality]
    # modality order as in the published code: fusion, speech, face, frames
    positions = [prompt.index(PLACEHOLDERS[m]) for m in ("fusion", "speech", "face", "visual")]
    assert positions == sorted(positions)


def test_absent_modalities_are_not_mentioned():
    prompt = build_prompt("mer", ["visual", "face"], COUNTS, "hello")
    assert "<AudioHere>" not in prompt and "<MultiHere>" not in prompt and "audio" not in prompt
    assert prompt.count("<FrameHere>") == 32
    text_only = build_prompt("ov-mer", [], COUNTS, "hello")
    assert not any(token in text_only for token in PLACEHOLDERS.values())


def test_candidates_and_dialogue():
    mer = build_prompt("mer", [], COUNTS, "x", ["happy", "sad", "angry"])
    assert "candidate labels: happy, sad, angry." in mer
    assert "candidate" not in build_prompt("mer", [], COUNTS, "x")
    erg = build_prompt("erg", [], COUNTS, "I failed my exam", dialogue=[("user", "Hi"), ("listener", "Hello!")])
    assert "<Dialogue History>user: Hi\nlistener: Hello!</Dialogue History>" in erg
    assert "current user input: I failed my exam" in erg
    with pytest.raises(ValueError, match="candidate intents"):
        build_prompt("mir", [], COUNTS, "x")
    with pytest.raises(ValueError, match="unknown task"):
        build_prompt("vqa", [], COUNTS, "x")


def test_answers():
    assert build_answer("mer", emotion="happy") == "The character's emotional state is happy."
    assert build_answer("mer", emotion="sad", with_candidates=True) == "The most likely label is sad."
    assert build_answer("ov-mer", emotions=["happy", "excited"]) == "The character's emotional state is happy, excited."
    assert build_answer("ov-mer", emotions=[]) == "The character's emotional state is neutral."
    assert build_answer("mir", intent="thank") == "thank"
    chain = EmpathyChain("a job interview", "anxious", "no reply yet", "reassure", "Hang in there!")
    erg = build_answer("erg", empathy=chain)
    assert erg.startswith("<think>Firstly, the event scenario of this conversation is: a job interview\n")
    assert "Secondly, the emotion of the speaker is anxious\n" in erg
    assert erg.endswith("</think>\n Hang in there!")
    with pytest.raises(ValueError, match="no training target"):
        build_answer("msa")
