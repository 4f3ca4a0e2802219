"""Speed switches reach the model and optimizer and leave what is computed the same (tiny preset, CPU)."""

import pytest
import torch

from nanoemox.config import load_config
from nanoemox.model.phases import set_trainable
from nanoemox.train.optim import autocast_and_scaler, build_optimizer, speed_switches
from nanoemox.train.stages import Stage

from conftest import make_features, make_model, text_batch

PHASE3 = Stage("phase3", "3", "3", 10, None)


def loss_and_grads(model, seed: int = 0, autocast=None, trained=None):
    features = make_features(load_config(preset="tiny"), batch=3)
    _, text = text_batch(model, features)
    torch.manual_seed(seed)
    with autocast or torch.autocast("cpu", enabled=False):
        out = (trained or model)(text.input_ids, text.attention_mask, features, text.labels)
    out.loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return out, grads


@pytest.mark.parametrize("implementation", ["eager", "sdpa"])
def test_attention_implementation_reaches_the_lm_and_gives_the_same_loss(implementation):
    cfg = load_config(preset="tiny", overrides=[f"model.lm.attn_implementation={implementation}"])
    model = make_model(cfg)
    assert model.lm.get_base_model().config._attn_implementation == implementation
    reference = make_model(load_config(preset="tiny", overrides=["model.lm.attn_implementation=eager"]))
    out, _ = loss_and_grads(model)
    expected, _ = loss_and_grads(reference)
    assert out.loss.item() == pytest.approx(expected.loss.item(), rel=1e-5)


def test_precision_switch_sets_autocast_and_scaler(tiny_cfg):
    autocast, scaler = autocast_and_scaler("cpu", "auto")
    assert not autocast._enabled and not scaler.is_enabled()
    autocast, scaler = autocast_and_scaler("cpu", "fp16")
    assert autocast._enabled and autocast.fast_dtype == torch.float16 and scaler.is_enabled()
    model = make_model(tiny_cfg)
    autocast, scaler = autocast_and_scaler("cpu", "bf16")
    assert not scaler.is_enabled()
    low, _ = loss_and_grads(model, autocast=autocast)
    full, _ = loss_and_grads(model)
    assert low.logits.dtype == torch.bfloat16 and full.logits.dtype == torch.float32
    assert float(low.loss) == pytest.approx(float(full.loss), rel=0.05)


def test_fused_adamw_takes_the_same_step():
    params = {}
    for fused in (True, False):
        cfg = load_config(preset="tiny", overrides=[f"train.fused_adamw={str(fused).lower()}"])
        model = make_model(cfg).train()
        set_trainable(model, "3")
        optimizer, _ = build_optimizer(model, cfg, PHASE3)
        assert all(group.get("fused") is fused for group in optimizer.param_groups)
        features = make_features(cfg, batch=3)
        _, text = text_batch(model, features)
        torch.manual_seed(0)
        model(text.input_ids, text.attention_mask, features, text.labels).loss.backward()
        optimizer.step()
        params[fused] = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    for name, value in params[True].items():
        torch.testing.assert_close(value, params[False][name], rtol=1e-5, atol=1e-6)


def test_gradient_checkpointing_gives_the_same_gradients():
    grads = {}
    for checkpointing in (True, False):
        cfg = load_config(preset="tiny", overrides=[f"train.gradient_checkpointing={str(checkpointing).lower()}"])
        model = make_model(cfg).train()
        set_trainable(model, "3")
        trained = speed_switches(model, cfg, model)
        assert model.lm.get_base_model().model.gradient_checkpointing is checkpointing
        _, grads[checkpointing] = loss_and_grads(model, trained=trained)
    assert grads[True].keys() == grads[False].keys() and grads[True]
    for name, grad in grads[True].items():
        torch.testing.assert_close(grad, grads[False][name], rtol=1e-4, atol=1e-6)


def test_compile_switch_wraps_the_trained_module(tiny_model):
    cfg = load_config(preset="tiny", overrides=["train.compile=true"])
    assert isinstance(speed_switches(tiny_model, cfg, tiny_model), torch._dynamo.eval_frame.OptimizedModule)
    assert speed_switches(tiny_model, load_config(preset="tiny"), tiny_model) is tiny_model
