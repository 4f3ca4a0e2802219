import dataclasses

import pytest
import torch

from nanoemox.heads import Adapter, AttentionFusion, FaceTemporal, GatedExpertFusion, ModalityQFormer


def test_qformer_shapes_and_positions(tiny_cfg):
    qcfg = tiny_cfg.model.heads.qformer
    head = ModalityQFormer(qcfg, encoder_width=32, num_positions=8).eval()
    features = torch.randn(2, 8, 32)
    out = head(features)
    assert out.shape == (2, qcfg.num_queries, qcfg.hidden_size)
    # frame position embeddings make the output depend on frame order
    assert not torch.allclose(out, head(features.flip(1)), atol=1e-5)
    assert head.qformer.config.cross_attention_frequency == 1
    assert all(layer.has_cross_attention for layer in head.qformer.encoder.layer)


def test_face_temporal_ignores_masked_frames(tiny_cfg):
    head = FaceTemporal(tiny_cfg.model.heads.face_temporal, face_dim=32).eval()
    faces = torch.randn(2, 8, 32)
    mask = torch.tensor([[True] * 4 + [False] * 4, [False] * 8])
    out = head(faces, mask)
    assert out.shape == (2, 4, 32)
    changed = faces.clone()
    changed[0, 4:] = 100.0  # frames without a face must not matter
    assert torch.allclose(out[0], head(changed, mask)[0], atol=1e-5)
    assert torch.isfinite(out[1]).all()  # no face at all still gives finite tokens


def fusion_cfg(tiny_cfg, **changes):
    return dataclasses.replace(tiny_cfg.model.heads.fusion, **changes)


@pytest.mark.parametrize("pairing", ["layerwise", "cross"])
def test_gated_fusion_returns_gate_weights(tiny_cfg, pairing):
    fusion = GatedExpertFusion(fusion_cfg(tiny_cfg, pairing=pairing), 32, 48, num_pairs=3).eval()
    out = fusion(torch.randn(2, 8, 3, 32), torch.randn(2, 8, 3, 48))
    assert out.token.shape == (2, tiny_cfg.model.heads.fusion.hidden_size)
    assert out.gate_weights.shape == (2, 3)
    assert torch.allclose(out.gate_weights.sum(-1), torch.ones(2))


def expert_outputs(fusion, speech, visual):
    captured = []
    hooks = [e.register_forward_hook(lambda m, i, o: captured.append(o)) for e in fusion.experts]
    fusion(speech, visual)
    for h in hooks:
        h.remove()
    return captured


@pytest.mark.parametrize("pairing, expert0_changes", [("layerwise", False), ("cross", True)])
def test_pairing_decides_which_visual_layers_an_expert_sees(tiny_cfg, pairing, expert0_changes):
    fusion = GatedExpertFusion(fusion_cfg(tiny_cfg, pairing=pairing), 32, 32, num_pairs=3).eval()
    speech, visual = torch.randn(1, 8, 3, 32), torch.randn(1, 8, 3, 32)
    changed = visual.clone()
    changed[:, :, 1] += 1.0  # change visual layer 1 only
    before, after = expert_outputs(fusion, speech, visual), expert_outputs(fusion, speech, changed)
    assert (not torch.allclose(before[0], after[0])) == expert0_changes
    assert not torch.allclose(before[1], after[1])


def test_average_gate_weights_experts_equally(tiny_cfg):
    fusion = GatedExpertFusion(fusion_cfg(tiny_cfg, gate="average"), 32, 32, num_pairs=3).eval()
    out = fusion(torch.randn(2, 8, 3, 32), torch.randn(2, 8, 3, 32))
    assert torch.allclose(out.gate_weights, torch.full((2, 3), 1 / 3))
    assert not hasattr(fusion, "gate")


def test_attention_fusion(tiny_cfg):
    fusion = AttentionFusion(fusion_cfg(tiny_cfg, type="attention"), 32, 48)
    out = fusion(torch.randn(2, 8, 3, 32), torch.randn(2, 8, 3, 48))
    assert out.token.shape == (2, tiny_cfg.model.heads.fusion.hidden_size)
    assert torch.allclose(out.gate_weights.sum(-1), torch.ones(2))


def test_adapters():
    assert Adapter(32, 64)(torch.randn(2, 5, 32)).shape == (2, 5, 64)
    mlp = Adapter(32, 64, hidden=16, dropout=0.1)
    assert [type(m).__name__ for m in mlp.net] == ["Linear", "GELU", "Dropout", "Linear"]
    assert mlp(torch.randn(2, 4, 32)).shape == (2, 4, 64)
