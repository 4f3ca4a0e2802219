"""Prompts and answer texts for the six tasks, in the published code's `###Human: ... ###Assistant:` format.

A modality's sentence (and its placeholder tokens) appears only when the sample has that modality:
an absent modality is simply not mentioned, so the LM never sees empty or fake features.
"""

from collections.abc import Mapping, Sequence

from nanoemox.config import TASKS
from nanoemox.datasets.record import EmpathyChain

TASK_TAGS = {
    "mer": "[Recognition]",
    "ov-mer": "[Recogn_OV]",
    "msa": "[Recogn_OV]",  # MSA is scored from open-vocabulary emotions mapped to polarity (MER-UniBench)
    "mir": "[Intent]",
    "eri": "[Inference]",
    "erg": "[Interaction]",
}
PLACEHOLDERS = {  # modality -> placeholder token, in prompt order
    "fusion": "<MultiHere>",
    "speech": "<AudioHere>",
    "face": "<FaceHere>",
    "visual": "<FrameHere>",
}
MODALITY_SENTENCES = {
    "fusion": "The audio and video merged info is: <Multi>{tokens}</Multi>. ",
    "speech": "The audio content is as follows: <Audio>{tokens}</Audio>. ",
    "face": "Meanwhile, we uniformly extract facial information from video: <Video>{tokens}</Video>. ",
    "visual": "Meanwhile, we uniformly sample raw frames from the video: <Video>{tokens}</Video>. ",
}
ANSWER_END = "###"
QUESTIONS = {
    "mer": "[Recognition] Please recognize the character's most likely emotional state.",
    "mer-candidates": (
        "[Recognition] Please select the label that can best describe the person's emotional state "
        "from the provided candidate labels: {candidates}."
    ),
    "ov-mer": "[Recogn_OV] Please recognize all possible emotional states of the character.",
    "mir": "[Intent] Recognize the speaker's intention from the provided candidate labels: {candidates}.",
    "eri": (
        "[Inference] Based on the video, audio, facial expressions and subtitle, what is the subject's "
        "emotional state? Provide a detailed rationale citing the clues."
    ),
    "erg": (
        "Context: {context}\ncurrent user input: {utterance}\n[Interaction] You are an empathetic listener. "
        "Analyze with the Chain of Empathy (Firstly, the event scenario; Secondly, the user's emotion; "
        "Thirdly, the emotion cause; Fourthly, the goal to response) in <think></think> tags with line "
        "breaks, then give your empathic response:"
    ),
}


def build_prompt(
    task: str,
    present: Sequence[str],
    token_counts: Mapping[str, int],
    subtitle: str = "",
    candidates: Sequence[str] | None = None,
    dialogue: Sequence[tuple[str, str]] = (),
) -> str:
    """The user turn for `task`; `present` lists the modalities this sample has (in any order)."""
    if task not in TASKS:
        raise ValueError(f"unknown task '{task}'; choose from {', '.join(TASKS)}")
    if task == "mir" and not candidates:
        raise ValueError("the mir prompt needs its candidate intents")
    text = "###Human: "
    for modality, placeholder in PLACEHOLDERS.items():
        if modality in present:
            text += MODALITY_SENTENCES[modality].format(tokens=placeholder * token_counts[modality])
    if task == "erg":
        history = "\n".join(f"{speaker}: {utterance}" for speaker, utterance in dialogue)
        text += f"The dialogue history is: <Dialogue History>{history}</Dialogue History>. "
        question = QUESTIONS["erg"].format(context=history, utterance=subtitle)
    else:
        text += f"The subtitle of this video is: <Subtitle>{subtitle}</Subtitle>. "
        key = "mer-candidates" if task == "mer" and candidates else "ov-mer" if task == "msa" else task
        question = QUESTIONS[key].format(candidates=", ".join(candidates or ()))
    text += f"Now, please answer my question based on all the provided information. {question} ###Assistant: "
    return text


def build_answer(
    task: str,
    emotion: str | None = None,
    emotions: Sequence[str] | None = None,
    intent: str | None = None,
    reason: str | None = None,
    empathy: EmpathyChain | None = None,
    with_candidates: bool = False,
) -> str:
    """The target text for `task` (the answer end marker and EOS are added by tokenization)."""
    if task == "mer" and emotion:
        lead = "The most likely label is" if with_candidates else "The character's emotional state is"
        return f"{lead} {emotion}."
    if task == "ov-mer" and emotions is not None:
        return f"The character's emotional state is {', '.join(emotions) or 'neutral'}."
    if task == "mir" and intent:
        return intent
    if task == "eri" and reason:
        return reason
    if task == "erg" and empathy:
        return (
            f"<think>Firstly, the event scenario of this conversation is: {empathy.scenario}\n"
            f"Secondly, the emotion of the speaker is {empathy.emotion}\n"
            f"Thirdly, the emotion cause is {empathy.cause}\n"
            f"Fourthly, the goal to response is {empathy.goal}</think>\n {empathy.response}"
        )
    raise ValueError(f"no training target for task '{task}' from the labels given")
