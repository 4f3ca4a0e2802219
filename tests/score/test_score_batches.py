"""Scoring batches: prompts sorted by length within a window; generation stops once every row has ended."""

import pytest

from nanoemox.config import load_config
from nanoemox.model.batching import generation_batch, prompt_lengths
from nanoemox.model.inputs import encode_for_generation
from nanoemox.model.prompts import ANSWER_END
from nanoemox.score.job import batches
from nanoemox.shards.reader import iter_split

from conftest import make_features, make_model, text_batch
from helpers import generate_texts, synthetic_record, write_feature_shards


def varied_subtitle(dataset: str, split: str, index: int, label: int) -> dict:
    record = synthetic_record(dataset, split, index, label)
    record["subtitle"] = " ".join(["happy"] * (index * 7 % 23))
    return record


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    cfg = load_config(preset="tiny")
    split = write_feature_shards(
        tmp_path_factory.mktemp("sorted"), "meld", "test", cfg, 40, make_record=varied_subtitle
    )
    return list(iter_split(split, cfg))


def real_share(model, chunks) -> float:
    masks = [generation_batch(model, ["mer"] * len(c), c).text.attention_mask for c in chunks]
    return sum(int(m.sum()) for m in masks) / sum(m.numel() for m in masks)


def test_batches_sort_prompts_by_length_within_a_window(samples):
    model = make_model(load_config(preset="tiny"))
    sorted_cfg = load_config(preset="tiny", overrides=["score.batch_size=4", "score.sort_window=4"])
    chunks = list(batches(model, sorted_cfg, "mer", iter(samples)))
    assert sorted(s.key for c in chunks for s in c) == sorted(s.key for s in samples)  # every clip once
    assert [len(c) for c in chunks] == [4] * 10
    for start in range(0, 10, 4):  # windows of 16 clips: ascending prompt length across their batches
        window = [s for c in chunks[start : start + 4] for s in c]
        lengths = prompt_lengths(model, ["mer"] * len(window), window)
        assert lengths == sorted(lengths)
    as_read = list(batches(model, load_config(preset="tiny", overrides=["score.sort_window=1"]), "mer", samples))
    assert 1 - real_share(model, chunks) < (1 - real_share(model, as_read)) / 2  # padding at least halved


def test_generation_stops_once_every_row_has_ended(tiny_cfg):
    """Row 0 ends at once (answer end marker), row 1 after three tokens (EOS): three LM steps, not 20."""
    model = make_model(tiny_cfg)
    features = make_features(tiny_cfg, batch=2)
    prompts, _ = text_batch(model, features)
    text = encode_for_generation(model.tokenizer, prompts, tiny_cfg.model.lm.max_length)
    marker = model.tokenizer(ANSWER_END, add_special_tokens=False).input_ids[-1]
    steps = []

    def force_ends(module, inputs, logits):
        steps.append(1)
        logits = logits.clone()
        logits[0, -1, marker] += 1e4
        if len(steps) >= 3:
            logits[1, -1, model.tokenizer.eos_token_id] += 1e4
        return logits

    hook = model.lm.get_output_embeddings().register_forward_hook(force_ends)
    try:
        texts = generate_texts(model, text.input_ids, text.attention_mask, features, max_new_tokens=20)
    finally:
        hook.remove()
    assert len(steps) == 3
    assert texts[0] == "" and texts[1] != ""
    steps.clear()  # without the forced ends, the random model runs to the token limit
    hook = model.lm.get_output_embeddings().register_forward_hook(lambda *_: steps.append(1))
    generate_texts(model, text.input_ids, text.attention_mask, features, max_new_tokens=5)
    hook.remove()
    assert len(steps) == 5
