"""Label vocabularies per dataset, in official order; nanoemox.tasks draws MER and MIR candidates from them."""

EMOTIONS = {
    "mer2023": ("neutral", "angry", "happy", "sad", "worried", "surprise"),
    "mer2024": ("neutral", "angry", "happy", "sad", "worried", "surprise"),
    "meld": ("neutral", "surprise", "fear", "sadness", "joy", "disgust", "anger"),
    "iemocap": ("angry", "happy", "neutral", "sad"),  # the 4-class protocol, excited merged into happy
    "caer": ("anger", "disgust", "fear", "happy", "neutral", "sad", "surprise"),
    "ferv39k": ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"),
    "crema-d": ("anger", "disgust", "fear", "happy", "neutral", "sad"),
    "m3ed": ("happy", "surprise", "sad", "disgust", "anger", "fear", "neutral"),
    # MERR-Fine's pseudo-labels, by frequency in MERR_fine_grained.json
    "merr-fine": ("neutral", "sad", "angry", "happy", "worried", "surprise", "fear", "doubt", "contempt"),
    "emer": ("neutral", "angry", "happy", "sad", "worried", "surprise"),  # MER2023's labels (EMER README)
}
INTENTS = {
    "mintrec": (
        "complain", "praise", "apologise", "thank", "criticize", "agree", "taunt", "flaunt", "joke", "oppose",
        "comfort", "care", "inform", "advise", "arrange", "introduce", "leave", "prevent", "greet", "ask for help",
    ),
    "mintrec2": (
        "acknowledge", "advise", "agree", "apologise", "arrange", "ask for help", "asking for opinions", "care",
        "comfort", "complain", "confirm", "criticize", "doubt", "emphasize", "explain", "flaunt", "greet", "inform",
        "introduce", "invite", "joke", "leave", "oppose", "plan", "praise", "prevent", "refuse", "taunt", "thank",
        "warn",
    ),
}  # fmt: skip


def vocabulary(dataset: str) -> tuple[str, ...] | None:
    """The closed label set of a dataset (emotions or intents), or None for open-vocabulary datasets."""
    return EMOTIONS.get(dataset) or INTENTS.get(dataset)
