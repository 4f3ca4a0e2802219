import dataclasses

import pytest
import torch
import torch.nn.functional as F

from nanoemox.errors import NanoEmoXError
from nanoemox.model import present_modalities
from nanoemox.model.inputs import IGNORE_INDEX, encode_for_generation
from nanoemox.model.prompts import build_answer, build_prompt

from conftest import make_features, make_model, text_batch
from helpers import generate_texts


def test_placeholder_count_equals_modality_tokens(tiny_model, tiny_cfg):
    features = make_features(tiny_cfg, batch=2)
    tokens, gates = tiny_model.encode_features(features)
    _, batch = text_batch(tiny_model, features)
    for modality, token_id in tiny_model.placeholder_ids.items():
        assert tokens[modality].shape == (2, tiny_model.token_counts[modality], tiny_cfg.model.lm.hidden_size)
        assert (batch.input_ids == token_id).sum(1).tolist() == [tiny_model.token_counts[modality]] * 2
    assert gates.shape == (2, 3)


def test_placeholders_are_replaced_by_modality_tokens(tiny_model, tiny_cfg):
    features = make_features(tiny_cfg, batch=1)
    tokens, _ = tiny_model.encode_features(features)
    _, batch = text_batch(tiny_model, features)
    embeds = tiny_model.embed_prompt(batch.input_ids, tokens)
    slots = batch.input_ids[0] == tiny_model.placeholder_ids["speech"]
    assert torch.equal(embeds[0, slots], tokens["speech"][0])


def test_loss_only_on_answer_tokens(tiny_model, tiny_cfg):
    features = make_features(tiny_cfg, batch=2)
    answer = "The character's emotional state is happy."
    _, batch = text_batch(tiny_model, features, answer=answer)
    n_answer = len(tiny_model.tokenizer(answer + "###", add_special_tokens=False).input_ids) + 1  # + EOS
    assert ((batch.labels != IGNORE_INDEX).sum(1) == n_answer).all()
    out = tiny_model(batch.input_ids, batch.attention_mask, features, batch.labels)
    logits = out.logits[:, :-1].float()
    manual = F.cross_entropy(logits.transpose(1, 2), batch.labels[:, 1:], ignore_index=IGNORE_INDEX)
    assert torch.allclose(out.loss, manual, atol=1e-5)


def test_absent_modalities(tiny_model, tiny_cfg):
    # sample 0: all; 1: video without face and no audio; 2: audio only; 3: nothing (text only)
    features = make_features(
        tiny_cfg,
        batch=4,
        has_video=torch.tensor([True, True, False, False]),
        has_audio=torch.tensor([True, False, True, False]),
        face_mask=torch.tensor([[True] * 8, [False] * 8, [False] * 8, [False] * 8]),
    )
    present = present_modalities(features, tiny_cfg.model.heads.modalities)
    assert present == [["fusion", "speech", "face", "visual"], ["visual"], ["speech"], []]
    _, batch = text_batch(tiny_model, features)
    out = tiny_model(batch.input_ids, batch.attention_mask, features, batch.labels)
    assert torch.isfinite(out.loss)
    # a batch with no audio at all carries no hubert features
    no_audio = dataclasses.replace(features, hubert=None, has_audio=torch.zeros(4, dtype=torch.bool))
    _, batch = text_batch(tiny_model, no_audio)
    assert torch.isfinite(tiny_model(batch.input_ids, batch.attention_mask, no_audio, batch.labels).loss)


def test_placeholder_mismatch_is_an_error(tiny_model, tiny_cfg):
    features = make_features(tiny_cfg, batch=1)
    tokens, _ = tiny_model.encode_features(features)
    prompt = build_prompt("mer", ["speech"], {"speech": 3}, "hi")
    batch = encode_for_generation(tiny_model.tokenizer, [prompt], 512)
    with pytest.raises(NanoEmoXError, match="expected 8 per prompt"):
        tiny_model.embed_prompt(batch.input_ids, tokens)
    with pytest.raises(NanoEmoXError, match="no speech features"):
        tiny_model.embed_prompt(batch.input_ids, {})


def test_batched_greedy_generation_matches_single(tiny_cfg):
    model = make_model(tiny_cfg, seed=3)
    features = make_features(tiny_cfg, batch=2, has_audio=torch.tensor([True, False]))
    present = present_modalities(features, tiny_cfg.model.heads.modalities)
    prompts = [
        build_prompt("mer", p, model.token_counts, s)
        for p, s in zip(present, ["hi", "a much longer subtitle"], strict=True)
    ]
    batch = encode_for_generation(model.tokenizer, prompts, 512)
    assert (batch.attention_mask[:, 0] == 0).any()  # left padded
    both = generate_texts(model, batch.input_ids, batch.attention_mask, features, max_new_tokens=6)
    for i in range(2):
        one = encode_for_generation(model.tokenizer, [prompts[i]], 512)
        row = dataclasses.replace(
            features, **{f: getattr(features, f)[i : i + 1] for f in features.__dataclass_fields__}
        )
        assert generate_texts(model, one.input_ids, one.attention_mask, row, max_new_tokens=6) == [both[i]]
    sampled = generate_texts(model, batch.input_ids, batch.attention_mask, features, 6, do_sample=True, top_p=0.9)
    assert len(sampled) == 2 and all(isinstance(s, str) for s in sampled)


def test_model_learns_to_answer(tiny_cfg):
    """A few steps on one example make the greedy answer the target: loss and generation agree."""
    model = make_model(tiny_cfg, seed=1).train()
    from nanoemox.model.phases import set_trainable

    set_trainable(model, "3")
    features = make_features(tiny_cfg, batch=1)
    answer = build_answer("mer", emotion="happy")
    prompts, batch = text_batch(model, features, answer=answer)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    losses = []
    for _ in range(50):
        loss = model(batch.input_ids, batch.attention_mask, features, batch.labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]
    model.eval()
    gen = encode_for_generation(model.tokenizer, prompts, 512)
    assert generate_texts(model, gen.input_ids, gen.attention_mask, features, max_new_tokens=20) == [answer]


ABLATIONS = [
    ["model.heads.modalities=[speech]"],
    ["model.heads.modalities=[visual, face]"],
    ["model.heads.modalities=[face, fusion]"],
    ["model.heads.fusion.type=attention"],
    ["model.heads.fusion.type=none", "model.heads.modalities=[speech, visual, face]"],
    ["model.heads.fusion.gate=average"],
    ["model.heads.fusion.pairing=cross"],
]


@pytest.mark.parametrize("overrides", ABLATIONS, ids=lambda o: " ".join(o))
def test_ablation_switches_build_and_run(overrides):
    from nanoemox.config import load_config

    cfg = load_config(preset="tiny", overrides=overrides)
    model = make_model(cfg)
    assert sorted(m for m in model.token_counts) == sorted(cfg.model.heads.modalities)
    features = make_features(cfg, batch=2)
    _, batch = text_batch(model, features)
    for modality, token_id in model.placeholder_ids.items():
        assert bool((batch.input_ids == token_id).any()) == (modality in cfg.model.heads.modalities)
    out = model(batch.input_ids, batch.attention_mask, features, batch.labels)
    assert torch.isfinite(out.loss)
    out.loss.backward()


def test_random_init_lm_is_the_same_in_every_process(tiny_cfg):
    """Heads trained on the tiny random LM must meet the same LM when scoring, whatever the RNG state."""
    first, second = make_model(tiny_cfg, seed=1), make_model(tiny_cfg, seed=2)
    weights = zip(first.lm.get_base_model().parameters(), second.lm.get_base_model().parameters(), strict=True)
    frozen = [(a, b) for a, b in weights if not a.requires_grad]
    assert frozen and all(torch.equal(a, b) for a, b in frozen)
