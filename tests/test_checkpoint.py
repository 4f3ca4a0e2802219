import pytest
import torch

from nanoemox.config import load_config
from nanoemox.errors import NanoEmoXError
from nanoemox.model.checkpoint import load_checkpoint, save_checkpoint
from nanoemox.model.phases import set_trainable

from conftest import make_features, make_model, text_batch


def perturb_trainables(model):
    set_trainable(model, "3")
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.05)


def test_save_load_gives_the_same_outputs(tiny_cfg, tmp_path):
    model = make_model(tiny_cfg, seed=0)
    perturb_trainables(model)  # LoRA B is zero at init: make sure it is saved and restored
    save_checkpoint(model, tiny_cfg, tmp_path)
    assert (tmp_path / "heads.safetensors").is_file()
    assert (tmp_path / "lora" / "adapter_config.json").is_file()
    assert (tmp_path / "lora" / "adapter_model.safetensors").is_file()
    assert (tmp_path / "config.yaml").is_file()
    restored = make_model(tiny_cfg, seed=0)  # same frozen LM, fresh heads
    features = make_features(tiny_cfg, batch=2)
    _, batch = text_batch(model, features)
    before = restored(batch.input_ids, batch.attention_mask, features).logits
    load_checkpoint(restored, tiny_cfg, tmp_path)
    expected = model(batch.input_ids, batch.attention_mask, features).logits
    got = restored(batch.input_ids, batch.attention_mask, features).logits
    assert not torch.allclose(before, expected)
    assert torch.allclose(got, expected, atol=1e-6)


def test_load_refuses_a_different_model_config(tiny_cfg, tmp_path):
    save_checkpoint(make_model(tiny_cfg), tiny_cfg, tmp_path)
    other = load_config(preset="tiny", overrides=["model.heads.qformer.num_queries=4"])
    with pytest.raises(NanoEmoXError, match=r"model.heads.qformer.num_queries: 8 != 4"):
        load_checkpoint(make_model(other), other, tmp_path)


def test_load_names_a_missing_file(tiny_cfg, tmp_path):
    save_checkpoint(make_model(tiny_cfg), tiny_cfg, tmp_path)
    (tmp_path / "heads.safetensors").unlink()
    with pytest.raises(NanoEmoXError, match="heads.safetensors is missing"):
        load_checkpoint(make_model(tiny_cfg), tiny_cfg, tmp_path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("heads.safetensors", b"garbage", r"heads.safetensors: damaged heads weights"),
        ("lora/adapter_model.safetensors", b"\x00" * 9, r"adapter_model.safetensors: damaged LoRA weights"),
        ("config.yaml", b"model: [", r"config.yaml: invalid YAML \(line 1, column 9: expected the node content"),
        ("config.yaml", b"\xff\xfe model", r"config.yaml: not UTF-8 text \(byte 0\)"),
    ],
)
def test_load_names_a_damaged_file(tiny_cfg, tmp_path, name, content, message):
    save_checkpoint(make_model(tiny_cfg), tiny_cfg, tmp_path)
    (tmp_path / name).write_bytes(content)
    with pytest.raises(NanoEmoXError, match=message):
        load_checkpoint(make_model(tiny_cfg), tiny_cfg, tmp_path)
