"""The FIDELITY.md switches do what they claim: the published-code preset, BOS, whole answers, face encoder mode."""

import json
from collections import Counter
from itertools import islice
from pathlib import Path

import numpy as np
import pytest
import torch

from nanoemox.cli.train import main
from nanoemox.config import ConfigError, load_config
from nanoemox.datasets.record import EmpathyChain, Labels, Record, Turn
from nanoemox.encoders.facexformer import build_face_encoder
from nanoemox.errors import NanoEmoXError
from nanoemox.model.batching import collate_training, training_examples
from nanoemox.model.inputs import IGNORE_INDEX, bos_id
from nanoemox.model.nanoemox import token_counts
from nanoemox.model.prompts import ANSWER_END
from nanoemox.tasks import answer_for, prompt_for
from nanoemox.train.data import LengthGroupedBatches, TaskMixer, dataset_shares, phase_sources
from nanoemox.train.optim import lr_factor

from conftest import make_model
from helpers import synthetic_record, training_batch, write_feature_shards

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
    assert (
        published.train.grad_clip == 0
        and published.train.prepend_bos
        and full.train.phases["3"].dataset_weighting == "uniform"
    )
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


def _with_eri_reasons(dataset: str, split: str, index: int, label: int) -> dict:
    """Synthetic records; MERR-Fine's carry the reason text it trains ERI with."""
    record = synthetic_record(dataset, split, index, label)
    if dataset == "merr-fine":
        record["labels"]["reason"] = f"The face looks {record['labels']['emotion']}."
    return record


def test_the_preset_draws_the_published_phase3_mix_per_task_and_dataset(tmp_path):
    """Five loaders drawn uniformly (MultiIterLoader, ratios None); MER-Caption+ answers ERI or OV-MER and AvaMERG
    ERG or MER, half each; MERR-Fine only ERI (label_type description); MIntRec and MIntRec2.0 MIR."""
    cfg = load_config(preset=PUBLISHED)
    sizes = {"mer-caption+": 24, "merr-fine": 6, "mintrec": 9, "mintrec2": 15, "avamerg": 12}  # unequal on purpose
    for dataset, count in sizes.items():
        write_feature_shards(tmp_path, dataset, "train", cfg, count, make_record=_with_eri_reasons)
    draws = 5000
    mixer = TaskMixer(phase_sources(tmp_path, cfg, "3"), seed=0, buffer=4)
    counts = Counter((task, sample.record.dataset) for task, sample in islice(mixer, draws))
    published = {
        ("mer", "avamerg"): 0.1,
        ("ov-mer", "mer-caption+"): 0.1,
        ("mir", "mintrec"): 0.2,
        ("mir", "mintrec2"): 0.2,
        ("eri", "mer-caption+"): 0.1,
        ("eri", "merr-fine"): 0.2,
        ("erg", "avamerg"): 0.1,
    }
    assert set(counts) == set(published)
    for source, share in published.items():
        assert abs(counts[source] / draws - share) < 0.02, (source, counts[source] / draws)
    eri = counts["eri", "merr-fine"] / (counts["eri", "merr-fine"] + counts["eri", "mer-caption+"])
    assert abs(eri - 2 / 3) < 0.03  # MERR-Fine's loader gives only ERI, MER-Caption+'s half ERI


def test_the_preset_draws_caer_and_ferv39k_by_size_as_one_file(tmp_path):
    cfg = load_config(preset=PUBLISHED)
    for dataset, count in (("caer", 30), ("ferv39k", 10)):
        write_feature_shards(tmp_path, dataset, "train", cfg, count)
    weights = {s.dataset: s.weight for s in phase_sources(tmp_path, cfg, "1-visual")}
    assert weights == pytest.approx({"caer": 0.75, "ferv39k": 0.25})
    found = [("caer", (), 30), ("ferv39k", (), 10)]
    assert dataset_shares(load_config(preset="tiny").train.phases["1-visual"], "mer", found) == [0.5, 0.5]


def test_dataset_weights_must_cover_the_task():
    with pytest.raises(ConfigError, match=r"dataset_weights.eri' must give one weight to each dataset"):
        load_config(preset=PUBLISHED, overrides=["train.phases.3.datasets.eri=[mer-caption+]"])


def test_the_published_learning_rate_curve():
    """LinearWarmupCosineLRScheduler (common/optims.py:81-98) stepped as RunnerBase.train does (epochs from 1,
    5000 steps each): lr = min + (init - min) * (1 + cos(pi * (5000 + step) / (max_epoch * 5000))) / 2."""
    cfg = load_config(preset="published-code")
    speech, visual = cfg.train.phases["1-speech"], cfg.train.phases["1-visual"]

    def lr(spec, step):
        return spec.lr * lr_factor(spec, spec.steps, step)

    # 1-speech, max_epoch 3: cos(pi/3) = 0.5 -> 2.5e-4; the cosine's end (1e-4) at 10k steps; cos(4pi/3) -> 1.5e-4
    assert [lr(speech, s) for s in (0, 10000, 15000)] == pytest.approx([2.5e-4, 1.0e-4, 1.5e-4], rel=1e-6)
    assert lr(speech, 14999) > lr(speech, 12000) > lr(speech, 10000)  # it climbs back
    # 1-visual, max_epoch 5: cos(pi/5) = 0.809017 -> 2.809017e-4; at the end cos(6pi/5) -> 1.190983e-4
    assert [lr(visual, s) for s in (0, 25000)] == pytest.approx([2.809017e-4, 1.190983e-4], rel=1e-6)
    assert lr(cfg.train.phases["3"], 123456) == pytest.approx(8e-6)  # init_lr = min_lr: constant
    paper = load_config().train.phases["1-speech"]  # warm-up to 3e-4, then down to 1e-4 at the last step
    assert [lr(paper, s) for s in (0, 500, 1000, 15000)] == pytest.approx([0.0, 1.5e-4, 3e-4, 1e-4], rel=1e-6)


def _prompt_and_answer(cfg, stored: dict, present: list[str]) -> tuple[str, str]:
    """The prompt and answer of a record as a shard stores it (read back as a Record)."""
    counts, record = token_counts(cfg.model), Record.from_dict(stored)
    return prompt_for("mer", record, present, counts), answer_for("mer", record)


def test_m3ed_question_and_answer_are_the_published_ones():
    """base_dataset.py:316-324 (func_get_qa_onehot_wo_candidates), 670-671; configs/phase1_1.yaml: audio_text."""
    cfg = load_config(preset=PUBLISHED)
    record = synthetic_record("m3ed", "train", 0, 0) | {"subtitle": "你好"}
    prompt, answer = _prompt_and_answer(cfg, record, ["speech"])
    audio = "<AudioHere>" * token_counts(cfg.model)["speech"]
    published = (
        f"The audio content is as follows: <Audio>{audio}</Audio>. The subtitle of this video is: "
        "<Subtitle>你好</Subtitle>. Now, please answer my question based on all the provided information. "
        "[Recognition] Please recognize the character's most likely emotional state. ###Assistant: "
    )
    assert prompt == "###Human: " + published  # the published phase-1 audio_text frame has no ###Human: (FIDELITY.md)
    assert answer == f"The character's emotional state is {record['labels']['emotion']}."


def test_avamerg_mer_question_and_answer_are_the_published_ones():
    """avamerg_dataset.py:198-205 (the dialogue frame), base_dataset.py:438-451 (func_get_qa_emotion_recognition)."""
    cfg = load_config(preset=PUBLISHED)
    counts = token_counts(cfg.model)
    chain = EmpathyChain("lost a job", "Sad", "layoffs", "comfort", "I'm so sorry.")
    record = Record(
        id="dia00012utt2_28",
        dataset="avamerg",
        split="train",
        subtitle="Budget cuts.",
        dialogue=[Turn("speaker", "I got laid off."), Turn("listener", "Oh no, what happened?")],
        labels=Labels(emotion="sad", empathy=chain),
    ).to_dict()
    prompt, answer = _prompt_and_answer(cfg, record, ["fusion", "speech", "face", "visual"])
    history = "speaker: I got laid off.\nlistener: Oh no, what happened?"
    published = (
        "###Human: The audio and video merged info is: <Multi>" + "<MultiHere>" * counts["fusion"] + "</Multi>. "
        "The audio content is as follows: <Audio>" + "<AudioHere>" * counts["speech"] + "</Audio>. "
        "Meanwhile, We uniformly extract facial informations from video: <Video>"
        + "<FaceHere>" * counts["face"]
        + "</Video>. Meanwhile, we uniformly sample raw frames from the video: <Video>"
        + "<FrameHere>" * counts["visual"]
        + f"</Video>. The dialogue history is:<Dialogue History>{history}</Dialogue History>. "
        # the published Context: is the turn's `context` field; ours the history (FIDELITY.md)
        f"Now here is the dialogue context:\n. Context: {history}\ncurrent speaker input:Budget cuts.\n"
        "Base on all input information,please analyze User\u2019s emotion mostly like emotions conveyed by the "
        "user(speaker) ###Assistant: "
    )
    assert prompt == published
    assert answer == "The emotion of the speaker is Sad."  # the annotated word, as the chain of empathy says it
