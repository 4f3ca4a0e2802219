"""Length-grouped batches: the mixer's exact examples, less padding, exact restore, unchanged per-sample losses."""

from collections import Counter
from itertools import islice

import pytest
import torch
import torch.nn.functional as F

from nanoemox.config import load_config
from nanoemox.model.batching import collate_training, training_examples
from nanoemox.model.inputs import IGNORE_INDEX
from nanoemox.train.data import LengthGroupedBatches, TaskMixer, phase_sources
from tests.conftest import make_model

from helpers import training_batch, write_feature_shards

PHASE3 = [
    "train.phases.3.datasets={mer: [meld], ov-mer: [mer-caption+], mir: [mintrec], eri: [mer-caption+], erg: [avamerg]}"
]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("groups")
    cfg = load_config(preset="tiny", overrides=PHASE3)
    for dataset, count in (("meld", 24), ("mintrec", 16), ("mer-caption+", 16), ("avamerg", 16)):
        write_feature_shards(root, dataset, "train", cfg, count, shard_size=8)
    return cfg, phase_sources(root, cfg, "3"), make_model(cfg)


def grouped(setup, window: int, batch: int = 4, seed: int = 0) -> LengthGroupedBatches:
    _, sources, model = setup
    mixer = TaskMixer(sources, seed=seed, buffer=4)
    return LengthGroupedBatches(mixer, batch, window, lambda ex: training_examples(model, ex), seed)


def real_share(model, batches) -> float:
    masks = [collate_training(b, model.tokenizer.pad_token_id).text.attention_mask for b in batches]
    return sum(int(m.sum()) for m in masks) / sum(m.numel() for m in masks)


def test_lengths_are_the_training_batch_row_lengths(setup):
    _, sources, model = setup
    examples = list(islice(iter(TaskMixer(sources, seed=1, buffer=4)), 6))
    lengths = [len(e) for e in training_examples(model, examples)]
    assert lengths == training_batch(model, examples).text.attention_mask.sum(1).tolist()


def test_groups_serve_exactly_the_mixers_examples_with_less_padding(setup):
    _, sources, model = setup
    window, batch = 8, 4
    plain = list(islice(iter(TaskMixer(sources, seed=0, buffer=4)), 3 * window * batch))
    batches = list(islice(grouped(setup, window, batch), 3 * window))
    served = [(e.task, e.sample.key) for b in batches for e in b]
    assert Counter(served) == Counter((task, s.key) for task, s in plain)  # same examples, so the same task ratios
    for w in range(3):  # each window serves its own draw: the ratios hold window by window
        drawn = plain[w * window * batch : (w + 1) * window * batch]
        assert Counter(served[w * window * batch : (w + 1) * window * batch]) == Counter((t, s.key) for t, s in drawn)
    lengths = [[len(e) for e in b] for b in batches]
    assert any(a != b for a, b in zip(lengths, sorted(lengths), strict=True))  # batches come shuffled
    plain_batches = [training_examples(model, plain[i : i + batch]) for i in range(0, len(plain), batch)]
    assert real_share(model, batches) > real_share(model, plain_batches) + 0.1


class CountingTokenizer:
    """The real tokenizer, recording every text it is asked to tokenize."""

    def __init__(self, tokenizer):
        self.tokenizer, self.texts = tokenizer, []

    def __call__(self, text, **kwargs):
        self.texts.append(text)
        return self.tokenizer(text, **kwargs)

    def __getattr__(self, name):
        return getattr(self.tokenizer, name)


def test_each_example_is_tokenized_once_and_its_ids_are_what_a_fresh_batch_gets(setup, monkeypatch):
    _, _, model = setup
    window, batch = 4, 4
    counting = CountingTokenizer(model.tokenizer)
    monkeypatch.setattr(model, "tokenizer", counting)
    groups = grouped(setup, window, batch)
    served = [next(groups) for _ in range(window)]  # the whole first window
    collated = [collate_training(b, counting.pad_token_id) for b in served]
    assert len(counting.texts) == 2 * window * batch  # one prompt and one answer per drawn example, no more
    for examples, got in zip(served, collated, strict=True):
        fresh = training_batch(model, [(e.task, e.sample) for e in examples])  # tokenized again, from scratch
        assert got.tasks == fresh.tasks
        for name in ("input_ids", "attention_mask", "labels"):
            assert torch.equal(getattr(got.text, name), getattr(fresh.text, name)), name
        for name in ("clip", "hubert", "face", "face_mask", "has_video", "has_audio"):
            assert torch.equal(getattr(got.features, name), getattr(fresh.features, name)), name


def test_position_restores_the_same_batches(setup):
    first = grouped(setup, window=3)
    list(islice(first, 5))  # into the second window
    state = first.state()
    expected = [[e.sample.key for e in b] for b in islice(first, 7)]
    again = grouped(setup, window=3)
    again.restore(state)
    assert [[e.sample.key for e in b] for b in islice(again, 7)] == expected
    plain = TaskMixer(setup[1], seed=0, buffer=4)  # a position saved by the plain mixer starts a window there
    list(islice(iter(plain), 9))
    resumed = grouped(setup, window=3)
    resumed.restore(plain.state())
    assert {e.sample.key for b in islice(resumed, 3) for e in b} == {s.key for _, s in islice(iter(plain), 12)}


def per_sample_losses(model, examples) -> list[float]:
    batch = training_batch(model, examples)
    with torch.no_grad():
        logits = model(batch.text.input_ids, batch.text.attention_mask, batch.features).logits
    labels = batch.text.labels[:, 1:]
    token = F.cross_entropy(logits[:, :-1].transpose(1, 2), labels, ignore_index=IGNORE_INDEX, reduction="none")
    return ((token * (labels != IGNORE_INDEX)).sum(1) / (labels != IGNORE_INDEX).sum(1)).tolist()


def test_each_sample_has_the_same_loss_in_a_grouped_batch(setup):
    _, sources, model = setup
    examples = list(islice(iter(TaskMixer(sources, seed=2, buffer=4)), 8))
    mixed = per_sample_losses(model, examples)
    lengths = [len(e) for e in training_examples(model, examples)]
    assert max(lengths) > min(lengths) + 20  # the mixed batch really pads its short rows
    order = sorted(range(8), key=lengths.__getitem__)
    short, long = [examples[i] for i in order[:4]], [examples[i] for i in order[4:]]
    alone = dict(zip(order, per_sample_losses(model, short) + per_sample_losses(model, long), strict=True))
    assert mixed == pytest.approx([alone[i] for i in range(8)], rel=1e-5, abs=1e-6)
