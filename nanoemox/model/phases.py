"""The one place that decides what each P2E phase trains; everything else stays frozen."""

from torch import nn

from nanoemox.config import PHASES
from nanoemox.errors import NanoEmoXError

SPEECH = ("speech_qformer", "speech_adapter")
VISUAL = ("visual_qformer", "visual_adapter", "face_temporal", "face_adapter")
FUSION = ("fusion", "fusion_adapter")
PHASE_HEADS = {
    "1-speech": SPEECH,
    "1-visual": VISUAL,
    "2": SPEECH + VISUAL + FUSION,
    "3": SPEECH + VISUAL + FUSION,
    "joint": SPEECH + VISUAL + FUSION,
}
PHASES_WITH_LORA = ("3", "joint")
PHASE_MODALITIES = {  # phase 1 branches see only their own modality tokens (+ text), as the published code
    "1-speech": ("speech",),
    "1-visual": ("visual", "face"),
}


def phase_modalities(phase: str, enabled: list[str]) -> list[str]:
    """The modalities whose tokens a phase's prompts carry."""
    return [m for m in enabled if m in PHASE_MODALITIES.get(phase, enabled)]


def set_trainable(model: nn.Module, phase: str) -> list[str]:
    """Freeze everything, then unfreeze the phase's heads (and LoRA in phase 3 / joint).

    Returns the names of the trainable parameters. Frozen encoders are not part of the model: their
    features come from shards.
    """
    if phase not in PHASES:
        raise NanoEmoXError(f"unknown phase '{phase}'; choose from {', '.join(PHASES)}")
    model.requires_grad_(False)
    for name in PHASE_HEADS[phase]:
        if name in model.heads:  # a head removed by the modality ablation has nothing to train
            model.heads[name].requires_grad_(True)
    if phase in PHASES_WITH_LORA:
        for name, param in model.lm.named_parameters():
            if "lora_" in name:
                param.requires_grad_(True)
    return [name for name, param in model.named_parameters() if param.requires_grad]
