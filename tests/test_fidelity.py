"""The FIDELITY.md switches do what they claim: the published-code preset, BOS, whole answers, face encoder mode."""

import json
from itertools import islice
from pathlib import Path

import numpy as np
import pytest
import torch

from nanoemox.batching import collate_training, training_batch, training_examples
from nanoemox.cli.train import main
from nanoemox.config import ConfigError, load_config
from nanoemox.encoders.facexformer import build_face_encoder
from nanoemox.errors import NanoEmoXError
from nanoemox.model.inputs import IGNORE_INDEX, bos_id
from nanoemox.model.prompts import ANSWER_END
from nanoemox.synth import write_feature_shards
from nanoemox.train.data import LengthGroupedBatches, TaskMixer, phase_sources

from conftest import make_model

PUBLISHED = "tiny,published-code"
JOINT = [
    "train.phases.3.datasets={mer: [meld], ov-mer: [mer-caption+], mir: [mintrec], eri: [mer-caption+], "
    "erg: [avamerg]}",
    "train.phases.3.dataset_weights={}",
    "train.batch_size=2",
    "train.log_every=1",
    "train.shuffle_buffer=8",
] + [f"train.phases.{p}.steps=1" for p in ("1-speech", "1-visual", "2", "3")]


def shards_for(root: Path, preset: str) -> Path:
    cfg = load_config(preset=preset)
    for dataset, count in (("meld", 12), ("mintrec", 8), ("mer-caption+", 8), ("avamerg", 8)):
        write_feature_shards(root, dataset, "train", cfg, count, seed=1)
    return root


@pytest.fixture(scope="module")
def published_shards(tmp_path_factory) -> Path:
    return shards_for(tmp_path_factory.mktemp("published"), PUBLISHED)


def test_published_code_preset_stacks_on_tiny():
    full, published = load_config(), load_config(preset="published-code")
    assert (full.train.grad_accum, published.train.grad_accum) == (4, 1)  # the paper's 4, the code's 1
    assert (published.model.lora.r, published.model.lora.alpha) == (16, 32)
    assert (full.model.lora.r, full.model.lora.alpha) == (32, 16)
    assert published.train.grad_clip == 0 and published.train.prepend_bos and full.train.phases["3"].dataset_weighting == "uniform"
    assert published.score.do_sample and set(published.score.max_new_tokens.values()) == {1200}
    assert published.train.phases["3"].datasets["mer"] == ["avamerg"]
    assert all(p.warmup_steps == 0 for p in published.train.phases.values())
    assert published.extract.frame_sampling == "floor" and published.model.encoders.face.train_mode
    stacked = load_config(preset=PUBLISHED)
    assert stacked.preset == PUBLISHED and stacked.model.lm.hidden_size == 64  # tiny sizes kept
    assert stacked.model.lora.r == 16 and stacked.train.grad_accum == 1
    with pytest.raises(ConfigError, match="unknown preset 'published'"):
        load_config(preset="tiny,published")


def test_one_optimizer_step_per_batch_under_the_published_code_preset(published_shards, tmp_path):
    sets = [item for o in JOINT for item in ("--set", o)]
    args = ["--features", str(published_shards), "--strategy", "joint", *sets]
    assert main([*args, "--out", str(tmp_path / "code"), "--preset", PUBLISHED]) == 0
    state = json.loads((tmp_path / "code" / "joint" / "joint" / "trainer_state.json").read_text())
    assert (state["step"], state["samples"]) == (4, 4 * 2)  # 4 steps of one batch of 2
    accum = ["--set", "train.grad_accum=4"]
    assert main([*args, *accum, "--out", str(tmp_path / "paper"), "--preset", PUBLISHED]) == 0
    state = json.loads((tmp_path / "paper" / "joint" / "joint" / "trainer_state.json").read_text())
    assert (state["step"], state["samples"]) == (4, 4 * 2 * 4)  # the paper's: 4 batches per step


def test_over_length_samples_are_skipped_counted_and_named(published_shards, tmp_path, capsys):
    cfg = load_config(preset=PUBLISHED, overrides=JOINT)
    model = make_model(cfg)
    mixer = TaskMixer(phase_sources(published_shards, cfg, "3"), seed=0, buffer=4)
    lengths = [len(e) for e in training_examples(model, list(islice(mixer, 60))) if e is not None]
    limit = sorted(lengths)[len(lengths) // 2]  # about half the examples fit
    short = load_config(preset=PUBLISHED, overrides=[*JOINT, f"model.lm.max_length={limit}"])
    model = make_model(short)
    grouped = LengthGroupedBatches(mixer, 3, 4, lambda examples: training_examples(model, examples))
    eos, end = model.tokenizer.eos_token_id, model.tokenizer(ANSWER_END, add_special_tokens=False).input_ids
    for _ in range(10):
        examples = next(grouped)
        assert len(examples) == 3  # skipped ones are replaced: every batch is full
        for labels in collate_training(examples, model.tokenizer.pad_token_id).text.labels:
            answer = labels[labels != IGNORE_INDEX].tolist()
            assert answer[-1] == eos and answer[-1 - len(end) : -1] == end  # the end marker is never cut
    assert grouped.skipped and all(" " in name and "/" in name for name in grouped.skipped)

    sets = [item for o in [*JOINT, f"model.lm.max_length={limit}"] for item in ("--set", o)]
    args = ["--features", str(published_shards), "--strategy", "joint", "--preset", PUBLISHED, *sets]
    assert main([*args, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr()
    state = json.loads((tmp_path / "joint" / "joint" / "trainer_state.json").read_text())
    logged = [json.loads(line) for line in (tmp_path / "joint" / "logs" / "joint" / "metrics.jsonl").open()]
    named = [name for entry in logged for name in entry.get("skipped_over_length", [])]
    assert state["over_length"] == len(named) == logged[-1]["over_length"] > 0
    assert f"{state['over_length']} over-length samples skipped" in out.out
    assert named[0] in out.out + out.err  # named in the console as well


def test_a_limit_no_sample_fits_stops_with_a_clear_error(published_shards):
    cfg = load_config(preset=PUBLISHED, overrides=[*JOINT, "model.lm.max_length=8"])
    model = make_model(cfg)
    mixer = TaskMixer(phase_sources(published_shards, cfg, "3"), seed=0, buffer=4)
    grouped = LengthGroupedBatches(mixer, 2, 1, lambda examples: [None] * len(examples))  # nothing fits
    with pytest.raises(NanoEmoXError, match=r"1000 samples in a row do not fit model.lm.max_length"):
        next(grouped)
    assert training_examples(model, list(islice(mixer, 3))) == [None] * 3


def test_published_training_puts_im_start_before_each_prompt(published_shards):
    cfg = load_config(preset=PUBLISHED, overrides=JOINT)
    model = make_model(cfg)
    examples = list(islice(TaskMixer(phase_sources(published_shards, cfg, "3"), seed=0, buffer=4), 4))
    start = bos_id(model.tokenizer)
    assert start == model.tokenizer.convert_tokens_to_ids("<|im_start|>")
    with_bos = training_batch(model, examples, bos_id=start).text
    without = training_batch(model, examples).text
    assert (with_bos.input_ids[:, 0] == start).all() and (with_bos.labels[:, 0] == IGNORE_INDEX).all()
    assert not (without.input_ids[:, 0] == start).any()
    assert torch.equal(with_bos.input_ids[:, 1:], without.input_ids)  # the rest is unchanged


def test_face_encoder_mode(tiny_cfg):
    crops = torch.randn(4, 3, 224, 224)
    frozen = build_face_encoder(tiny_cfg.model.encoders.face)
    assert torch.equal(frozen(crops), frozen(crops))  # eval: deterministic
    published = build_face_encoder(load_config(preset=PUBLISHED).model.encoders.face)
    torch.manual_seed(0)
    assert published.training and not torch.allclose(published(crops), published(crops))  # stochastic depth on


def test_old_and_other_contract_shards_are_refused_with_what_differs(tiny_cfg, tmp_path):
    from nanoemox.shards.contract import ShardContractError
    from nanoemox.shards.reader import checked_index

    split = write_feature_shards(tmp_path, "meld", "train", tiny_cfg, 2)
    index_path = split / "index.json"
    index = json.loads(index_path.read_text())
    with pytest.raises(ShardContractError, match=r"contract.frame_sampling: 'centre' != 'floor'"):
        checked_index(split, load_config(preset=PUBLISHED))
    index["contract"]["model"]["schema_version"] = 1
    index_path.write_text(json.dumps(index))
    with pytest.raises(ShardContractError) as err:
        checked_index(split, tiny_cfg)
    message = str(err.value)
    assert "schema version 1, this nanoemox reads version 2" in message
    assert "normalised over each clip's windows together" in message and "--overwrite" in message


def test_floor_frames_match_the_published_formula():
    from nanoemox.extract.sampling import frame_indices, frame_times

    for total in (3, 8, 25, 80, 101, 250):
        published = np.arange(0, total, total / min(8, total)).astype(int).tolist()
        published += [published[-1]] * (8 - len(published))
        assert frame_indices(total, 8, "floor") == published
    assert frame_indices(80, 8, "floor") == [0, 10, 20, 30, 40, 50, 60, 70]
    assert frame_times(0.0, 8.0, 4, "floor") == [0.0, 2.0, 4.0, 6.0]
