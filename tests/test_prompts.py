import random
from collections import Counter

import pytest
import yaml

from nanoemox.errors import NanoEmoXError
from nanoemox.model.prompts import (
    DEFAULT_PROMPTS,
    PLACEHOLDERS,
    TASKS,
    EmpathyChain,
    build_answer,
    build_prompt,
    load_prompts,
)

TASK_TAGS = {
    "mer": "[Recognition]",
    "ov-mer": "[Recogn_OV]",
    "msa": "[Recogn_OV]",
    "mir": "[Intent]",
    "eri": "[Inference]",
    "erg": "[Interaction]",
}
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
    assert "current user input:I failed my exam" in erg
    with pytest.raises(ValueError, match="candidate intents"):
        build_prompt("mir", [], COUNTS, "x")
    with pytest.raises(ValueError, match="unknown task"):
        build_prompt("vqa", [], COUNTS, "x")


def test_answers():
    assert build_answer("mer", emotion="happy") == "The character's emotional state is happy."
    assert build_answer("mer", emotion="sad", question="mer-candidates") == "The most likely label is sad."
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


def test_question_variants_come_from_the_data_file():
    prompts = load_prompts()
    assert len(prompts.questions["eri"]) == 4 and len(prompts.questions["ov-mer"]) == 5  # as the published code
    asked = Counter()
    rng = random.Random(0)
    for _ in range(400):
        prompt = build_prompt("eri", [], COUNTS, "x", variant=rng.getrandbits(31))
        asked[next(q for q in prompts.questions["eri"] if q in prompt)] += 1
    assert set(asked) == set(prompts.questions["eri"]) and min(asked.values()) > 60  # each drawn, about equally
    assert prompts.questions["eri"][0] in build_prompt("eri", [], COUNTS, "x")  # scoring asks the first


def test_a_users_prompt_file_replaces_the_wording(tmp_path):
    data = yaml.safe_load(DEFAULT_PROMPTS.read_text())
    data["questions"]["ov-mer"] = ["[Recogn_OV] Which emotions? (A)", "[Recogn_OV] Which emotions? (B)"]
    data["subtitle"] = "Words: {subtitle}. "
    path = tmp_path / "prompts.yaml"
    path.write_text(yaml.safe_dump(data))
    prompts = load_prompts(str(path))
    assert build_prompt("ov-mer", [], COUNTS, "hi", variant=1, prompts=prompts).endswith(
        "Words: hi. Now, please answer my question based on all the provided information. "
        "[Recogn_OV] Which emotions? (B) ###Assistant: "
    )
    del data["questions"]["mir"]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(NanoEmoXError, match=r"prompts.yaml: 'questions.mir' must be a non-empty list"):
        load_prompts(str(path))
    data["questions"]["mir"] = ["[Intent] pick one of {labels}"]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(NanoEmoXError, match=r"'questions.mir\[0\]' has an unknown or malformed \{field\}"):
        load_prompts(str(path))
