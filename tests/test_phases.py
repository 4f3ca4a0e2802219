import pytest
import torch

from nanoemox.errors import NanoEmoXError
from nanoemox.model.phases import PHASE_HEADS, PHASES_WITH_LORA, set_trainable

from conftest import make_features, make_model, text_batch


def expected_trainable(name: str, phase: str) -> bool:
    if name.startswith("heads."):
        return name.split(".")[1] in PHASE_HEADS[phase]
    return "lora_" in name and phase in PHASES_WITH_LORA


@pytest.mark.parametrize("phase", ["1-speech", "1-visual", "2", "3", "joint"])
def test_phase_changes_exactly_its_trainable_set(tiny_cfg, phase):
    model = make_model(tiny_cfg).train()
    trainable = set(set_trainable(model, phase))
    names = {n for n, _ in model.named_parameters()}
    assert trainable == {n for n in names if expected_trainable(n, phase)}
    assert any("lora_" in n for n in trainable) == (phase in PHASES_WITH_LORA)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    features = make_features(tiny_cfg, batch=2)
    _, batch = text_batch(model, features)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2, weight_decay=0.05)
    for _ in range(2):
        opt.zero_grad()
        model(batch.input_ids, batch.attention_mask, features, batch.labels).loss.backward()
        for name, param in model.named_parameters():
            assert (param.grad is not None) == (name in trainable), name
        opt.step()
    for name, param in model.named_parameters():
        if name in trainable:
            assert not torch.equal(param, before[name]), f"{name} should have changed"
        else:
            assert torch.equal(param, before[name]), f"{name} should be bit-identical"


def test_phase_1_speech_leaves_visual_heads_alone(tiny_cfg):
    model = make_model(tiny_cfg)
    names = set_trainable(model, "1-speech")
    assert names and all(n.startswith(("heads.speech_qformer", "heads.speech_adapter")) for n in names)


def test_unknown_phase(tiny_model):
    with pytest.raises(NanoEmoXError, match="unknown phase '4'"):
        set_trainable(tiny_model, "4")
