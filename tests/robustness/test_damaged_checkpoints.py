"""Damaged heads, LoRA, optimizer and index files: one line naming the file and what is wrong, never a traceback."""

import json
import re
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from nanoemox.cli import train
from nanoemox.cli.common import run
from nanoemox.errors import NanoEmoXError
from nanoemox.model.checkpoint import HEADS_FILE, load_checkpoint, save_checkpoint
from nanoemox.train.loop import autocast_and_scaler, build_optimizer
from nanoemox.train.stages import plan_stages
from nanoemox.train.state import Trainer, TrainerState, load_training, save_training

from conftest import make_model
from helpers import write_feature_shards


def rewrite(path: Path, change) -> None:
    """Damage a safetensors file: `change` edits its tensors in place."""
    tensors = load_file(path)
    change(tensors)
    save_file(tensors, path)


def test_a_heads_file_with_a_wrong_shaped_tensor_is_named(tiny_cfg, tmp_path):
    checkpoint = save_checkpoint(make_model(tiny_cfg), tiny_cfg, tmp_path / "phase3")
    heads = checkpoint / HEADS_FILE
    name = sorted(load_file(heads))[0]
    rewrite(heads, lambda t: t.update({name: torch.zeros(*t[name].shape[:-1], t[name].shape[-1] + 1)}))
    with pytest.raises(
        NanoEmoXError, match=rf"^{re.escape(str(heads))}: does not fit the model: size mismatch for {name}:"
    ) as err:
        load_checkpoint(make_model(tiny_cfg), tiny_cfg, checkpoint)
    assert "\n" not in str(err.value)


def test_a_heads_file_missing_tensors_and_a_wrong_lora_file_are_named(tiny_cfg, tmp_path):
    checkpoint = save_checkpoint(make_model(tiny_cfg), tiny_cfg, tmp_path / "phase3")
    rewrite(checkpoint / HEADS_FILE, lambda t: [t.pop(k) for k in sorted(t)[:2]])
    with pytest.raises(
        NanoEmoXError, match=rf"^{re.escape(str(checkpoint / HEADS_FILE))}: does not fit the model: Missing key"
    ):
        load_checkpoint(make_model(tiny_cfg), tiny_cfg, checkpoint)
    checkpoint = save_checkpoint(make_model(tiny_cfg), tiny_cfg, tmp_path / "other")
    lora = checkpoint / "lora" / "adapter_model.safetensors"
    rewrite(lora, lambda t: t.update({k: torch.zeros(3, 3) for k in sorted(t)[:1]}))
    with pytest.raises(NanoEmoXError, match=rf"^{re.escape(str(lora))}: does not fit the model: size mismatch"):
        load_checkpoint(make_model(tiny_cfg), tiny_cfg, checkpoint)


def training_parts(cfg):
    model = make_model(cfg)
    stage = plan_stages(cfg, "p2e", "1", "speech")[0]
    optimizer, scheduler = build_optimizer(model, cfg, stage)
    _, scaler = autocast_and_scaler("cpu")
    return model, optimizer, scheduler, scaler


@pytest.fixture
def saved_training(tiny_cfg, tmp_path) -> Path:
    """A stage folder after one real AdamW step, as save_training writes it."""
    model, optimizer, scheduler, scaler = training_parts(tiny_cfg)
    for group in optimizer.param_groups:
        for param in group["params"]:
            param.grad = torch.ones_like(param)
    optimizer.step()
    scheduler.step()
    out = tmp_path / "phase1-speech"
    save_training(out, Trainer(model, tiny_cfg, optimizer, scheduler, scaler), TrainerState(step=1))
    return out


def test_an_intact_optimizer_state_resumes(tiny_cfg, saved_training):
    model, optimizer, scheduler, scaler = training_parts(tiny_cfg)
    assert load_training(saved_training, Trainer(model, tiny_cfg, optimizer, scheduler, scaler)).step == 1
    assert set(optimizer.state[optimizer.param_groups[0]["params"][0]]) == {"step", "exp_avg", "exp_avg_sq"}


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda t: t.pop("0.exp_avg_sq"), r"parameter 0 has no 'exp_avg_sq' slot; the optimizer state is damaged"),
        (lambda t: t.update({"1.exp_avg": torch.zeros(2)}), r"'1.exp_avg' has shape \[2\], its parameter \["),
        (lambda t: t.update({"9999.step": torch.zeros(())}), r"'9999.step' is not a slot of one of the \d+ trained"),
    ],
)
def test_a_damaged_optimizer_state_is_named_on_resume(tiny_cfg, saved_training, damage, message):
    path = saved_training / "optimizer.safetensors"
    rewrite(path, damage)
    model, optimizer, scheduler, scaler = training_parts(tiny_cfg)
    with pytest.raises(NanoEmoXError, match=rf"^{re.escape(str(path))}: {message}"):
        load_training(saved_training, Trainer(model, tiny_cfg, optimizer, scheduler, scaler))


@pytest.mark.parametrize(
    "damage, problem",
    [
        (lambda index: index.update(shards="shard-000000.tar"), "'shards' must be list, got str"),
        (lambda index: index.pop("contract_hash"), "no contract_hash"),
        (lambda index: index["shards"][0].pop("ids"), r"shards\[0\] must hold file \(text\), count .* and ids"),
        (lambda index: index.update(total="2"), "'total' must be int, got str"),
    ],
)
def test_a_damaged_index_is_one_line_naming_it(tiny_cfg, tmp_path, capsys, damage, problem):
    split = write_feature_shards(tmp_path / "shards", "meld", "train", tiny_cfg, 2)
    index = json.loads((split / "index.json").read_text())
    damage(index)
    (split / "index.json").write_text(json.dumps(index))
    argv = ["--features", str(tmp_path / "shards"), "--out", str(tmp_path / "heads"), "--preset", "tiny"]
    argv += ["--phase", "1", "--branch", "speech", "--set", "train.phases.1-speech.datasets.mer=[meld]"]
    assert run(train.main, argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {split / 'index.json'}: not an index written by nanoemox-extract (")
    assert len(err.splitlines()) == 1 and re.search(problem, err), err
    assert not list((tmp_path / "heads").rglob("*")), "the run wrote something before its inputs were checked"
