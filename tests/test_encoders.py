import dataclasses

import pytest
import torch

from nanoemox.config import load_config
from nanoemox.encoders import build_clip, build_face_encoder, build_hubert
from nanoemox.encoders.facexformer import FaceXFormerEncoder, load_facexformer_checkpoint
from nanoemox.errors import NanoEmoXError

from conftest import make_model


def test_tiny_encoders_give_the_cached_layers(tiny_cfg):
    enc = tiny_cfg.model.encoders
    clip = build_clip(enc.clip)
    out = clip(pixel_values=torch.randn(2, 3, 224, 224), output_hidden_states=True)
    assert len(out.hidden_states) == enc.clip.num_hidden_layers + 1
    assert out.hidden_states[-2][:, 0].shape == (2, enc.clip.hidden_size)
    hubert = build_hubert(enc.hubert)
    out = hubert(torch.randn(2, 32000), output_hidden_states=True)
    assert len(out.hidden_states) == enc.hubert.num_hidden_layers + 1
    assert out.hidden_states[-1].shape[0::2] == (2, enc.hubert.hidden_size)
    assert not any(p.requires_grad for m in (clip, hubert) for p in m.parameters())


def test_encoders_load_by_path_like_real_weights(tiny_cfg, tmp_path):
    enc = tiny_cfg.model.encoders
    torch.manual_seed(0)
    clip, hubert = build_clip(enc.clip), build_hubert(enc.hubert)
    clip.save_pretrained(tmp_path / "clip")
    hubert.save_pretrained(tmp_path / "hubert")
    clip2 = build_clip(dataclasses.replace(enc.clip, init="pretrained", name_or_path=str(tmp_path / "clip")))
    hubert2 = build_hubert(dataclasses.replace(enc.hubert, init="pretrained", name_or_path=str(tmp_path / "hubert")))
    pixels, audio = torch.randn(1, 3, 224, 224), torch.randn(1, 16000)
    assert torch.equal(clip(pixel_values=pixels).pooler_output, clip2(pixel_values=pixels).pooler_output)
    assert torch.equal(hubert(audio).last_hidden_state, hubert2(audio).last_hidden_state)


def test_missing_pretrained_folder_is_a_clear_error(tiny_cfg, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NanoEmoXError, match="set model.encoders.clip.name_or_path to its local folder"):
        build_clip(dataclasses.replace(tiny_cfg.model.encoders.clip, init="pretrained", name_or_path=str(empty)))


def test_lm_and_tokenizer_load_by_path(tiny_cfg, tmp_path):
    model = make_model(tiny_cfg, seed=0)
    source = make_model(tiny_cfg, seed=0)
    source.lm.unload().save_pretrained(tmp_path / "lm")  # the plain LM, without LoRA layers
    source.tokenizer.save_pretrained(tmp_path / "lm")
    cfg = load_config(preset="tiny", overrides=["model.lm.init=pretrained", f"model.lm.name_or_path={tmp_path / 'lm'}"])
    loaded = make_model(cfg, seed=0)
    assert loaded.tokenizer.get_vocab() == model.tokenizer.get_vocab()
    assert loaded.placeholder_ids == model.placeholder_ids
    ids = model.tokenizer("###Human: hello <FrameHere> ###Assistant: happy", return_tensors="pt").input_ids
    assert torch.allclose(loaded.lm(input_ids=ids).logits, model.lm(input_ids=ids).logits, atol=1e-6)


def test_facexformer_checkpoint_loads_encoder_keys_strictly(tiny_cfg, tmp_path):
    face_cfg = tiny_cfg.model.encoders.face
    torch.manual_seed(0)
    source = FaceXFormerEncoder(face_cfg).eval()
    state = dict(source.state_dict())
    state["decoder.mlp.weight"] = torch.zeros(2, 2)  # a decoder key the encoder must ignore
    path = tmp_path / "model.pt"
    torch.save({"state_dict_backbone": state}, path)
    loaded = build_face_encoder(dataclasses.replace(face_cfg, init="pretrained", checkpoint=str(path)))
    images = torch.randn(2, 3, 224, 224)
    assert torch.equal(loaded(images), source(images))
    assert loaded(images).shape == (2, face_cfg.out_dim)
    assert load_facexformer_checkpoint(FaceXFormerEncoder(face_cfg), path) == ["decoder.mlp.weight"]


def test_facexformer_checkpoint_errors(tiny_cfg, tmp_path):
    face_cfg = tiny_cfg.model.encoders.face
    with pytest.raises(NanoEmoXError, match="checkpoint not found"):
        load_facexformer_checkpoint(FaceXFormerEncoder(face_cfg), tmp_path / "missing.pt")
    torch.save({"model": {}}, tmp_path / "wrong.pt")
    with pytest.raises(NanoEmoXError, match="no 'state_dict_backbone'"):
        load_facexformer_checkpoint(FaceXFormerEncoder(face_cfg), tmp_path / "wrong.pt")
    bigger = dataclasses.replace(face_cfg, out_dim=16)
    torch.save({"state_dict_backbone": FaceXFormerEncoder(bigger).state_dict()}, tmp_path / "other.pt")
    with pytest.raises(NanoEmoXError, match="do not fit model.encoders.face"):
        load_facexformer_checkpoint(FaceXFormerEncoder(face_cfg), tmp_path / "other.pt")


def test_full_preset_shapes_on_meta_device():
    cfg = load_config()
    with torch.device("meta"):
        face = FaceXFormerEncoder(cfg.model.encoders.face)
        assert face(torch.empty(2, 3, 224, 224)).shape == (2, 256)
        from nanoemox.model.nanoemox import build_heads

        heads = build_heads(cfg.model, cfg.model.lm.hidden_size)
        assert heads["visual_qformer"](torch.empty(2, 8, 1024)).shape == (2, 32, 768)
        assert heads["visual_adapter"](torch.empty(2, 32, 768)).shape == (2, 32, 1536)
        assert heads["face_adapter"](heads["face_temporal"](torch.empty(2, 8, 256), torch.ones(2, 8).bool())).shape == (
            2,
            4,
            1536,
        )
        fused = heads["fusion"](torch.empty(2, 8, 3, 1024), torch.empty(2, 8, 3, 1024))
        assert fused.token.shape == (2, 512) and fused.gate_weights.shape == (2, 3)
