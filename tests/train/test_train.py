"""nanoemox-train on synthetic feature shards (tiny preset, CPU)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from nanoemox.cli.train import main
from nanoemox.config import load_config
from nanoemox.errors import NanoEmoXError
from nanoemox.model.phases import PHASE_HEADS, PHASES_WITH_LORA

from conftest import make_model
from helpers import write_feature_shards

MIX = [
    "train.phases.1-speech.datasets.mer=[meld]",
    "train.phases.1-visual.datasets.mer=[meld]",
    "train.phases.2.datasets.mir=[mintrec]",
    "train.phases.3.datasets={mer: [meld, avamerg], ov-mer: [mer-caption+], mir: [mintrec], "
    "eri: [mer-caption+], erg: [avamerg]}",
    "train.batch_size=2",
    "train.log_every=1",
    "train.save_every=2",
    "train.eval_every=2",
    "train.shuffle_buffer=8",
] + [f"train.phases.{p}.steps=3" for p in ("1-speech", "1-visual", "2", "3")]


@pytest.fixture(scope="module")
def features(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("shards")
    cfg = load_config(preset="tiny")
    for dataset, count in (("meld", 48), ("mintrec", 32), ("mer-caption+", 24), ("avamerg", 24)):
        write_feature_shards(root, dataset, "train", cfg, count, seed=1)
    write_feature_shards(root, "meld", "dev", cfg, 8, seed=2)
    return root


def train(features: Path, out: Path, *args: str, overrides: list[str] = MIX) -> int:
    sets = [item for o in overrides for item in ("--set", o)]
    return main(["--features", str(features), "--out", str(out), "--preset", "tiny", *sets, *args])


def metrics(out: Path, run: str, stage: str) -> list[dict]:
    lines = (out / run / "logs" / stage / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def saved_tensors(folder: Path) -> dict[str, torch.Tensor]:
    heads = {f"heads.{k}": v for k, v in load_file(folder / "heads.safetensors").items()}
    return heads | {f"lora.{k}": v for k, v in load_file(folder / "lora" / "adapter_model.safetensors").items()}


def test_each_p2e_stage_changes_exactly_its_trainable_set(features, tmp_path, capsys):
    assert train(features, tmp_path) == 0
    out = capsys.readouterr().out
    assert all(f"{s}: 3 steps" in out for s in ("phase1-speech", "phase1-visual", "phase2", "phase3"))
    cfg = load_config(preset="tiny", overrides=MIX)
    fresh = make_model(cfg, seed=cfg.train.seed)
    initial = {f"heads.{k}": v for k, v in fresh.heads.state_dict().items()}
    initial |= {f"lora.{k}": v for k, v in load_lora(fresh, tmp_path).items()}
    previous = initial
    stages = (("phase1-speech", "1-speech"), ("phase1-visual", "1-visual"), ("phase2", "2"), ("phase3", "3"))
    for stage, phase in stages:
        now = saved_tensors(tmp_path / "p2e" / stage)
        changed = {k for k in now if not torch.equal(now[k], previous[k])}
        expected = {k for k in now if k.startswith("heads.") and k.split(".")[1] in PHASE_HEADS[phase]}
        expected |= {k for k in now if k.startswith("lora.") and phase in PHASES_WITH_LORA and "lora_B" in k}
        assert changed <= {k for k in now if k.split(".")[1] in PHASE_HEADS[phase] or k.startswith("lora.")}, stage
        assert expected <= changed, f"{stage}: {sorted(expected - changed)[:3]} did not train"
        if phase not in PHASES_WITH_LORA:
            assert not any(k.startswith("lora.") for k in changed), stage
        previous = now
    logged = metrics(tmp_path, "p2e", "phase3")
    assert "val_loss" in logged[-1] or "val_loss" in logged[-2]
    assert set(logged[0]["gates"]) <= {"mer", "ov-mer", "mir", "eri", "erg"}


def load_lora(model, tmp_path: Path) -> dict[str, torch.Tensor]:
    model.lm.save_pretrained(tmp_path / "fresh-lora")
    return load_file(tmp_path / "fresh-lora" / "adapter_model.safetensors")


def test_loss_falls_on_a_learnable_task(features, tmp_path):
    learn = ["train.phases.3.tasks={mer: 1}", "train.phases.3.datasets={mer: [meld]}", "train.phases.3.steps=51"]
    overrides = [*MIX, *learn, "train.log_every=5", "train.save_every=60", "train.phases.3.lr=2e-3"]
    assert train(features, tmp_path, "--strategy", "joint", overrides=overrides) == 0
    losses = [m["loss"] for m in metrics(tmp_path, "joint", "joint") if "loss" in m]
    assert len(losses) == 12 and losses[-1] < 0.3 * losses[0]


def test_killed_run_resumes_with_the_same_losses(features, tmp_path):
    overrides = [*MIX, "train.phases.2.steps=8", "train.save_every=2"]
    sets = [item for o in overrides for item in ("--set", o)]
    assert train(features, tmp_path / "a", "--phase", "1", "--branch", "speech", overrides=overrides) == 0
    assert train(features, tmp_path / "a", "--phase", "1", "--branch", "visual", overrides=overrides) == 0
    import shutil

    shutil.copytree(tmp_path / "a", tmp_path / "b")
    assert train(features, tmp_path / "a", "--phase", "2", overrides=overrides) == 0  # never stopped
    command = [
        sys.executable, "-m", "nanoemox.train", "--phase", "2", "--features", str(features),
        "--out", str(tmp_path / "b"), "--preset", "tiny", *sets,
    ]  # fmt: skip
    job = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = tmp_path / "b" / "p2e" / "phase2" / "trainer_state.json"
    deadline = time.time() + 120
    while time.time() < deadline and job.poll() is None:
        if state.is_file() and json.loads(state.read_text())["step"] >= 4:
            break
        time.sleep(0.05)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()
    stopped_at = json.loads(state.read_text())["step"]
    assert 2 <= stopped_at < 8, "the run should have been killed half way"
    assert train(features, tmp_path / "b", "--phase", "2", "--resume", overrides=overrides) == 0
    uninterrupted = [m["loss"] for m in metrics(tmp_path / "a", "p2e", "phase2") if "loss" in m]
    resumed = [m["loss"] for m in metrics(tmp_path / "b", "p2e", "phase2") if "loss" in m]
    # the same data and RNG step for step; float reductions may round differently across processes
    assert len(uninterrupted) == 8 and resumed == pytest.approx(uninterrupted, rel=1e-6)


def test_joint_and_reverse_strategies_run(features, tmp_path, capsys):
    assert train(features, tmp_path, "--strategy", "joint", "--threads", "2") == 0
    out = capsys.readouterr().out
    assert "joint: 12 steps" in out and "on 2 CPU thread(s)" in out  # the whole budget of the four phases
    assert train(features, tmp_path, "--strategy", "reverse") == 0
    order = [line.split(":")[0] for line in capsys.readouterr().out.splitlines() if " steps, loss" in line]
    assert order == ["phase3", "phase2", "phase1-speech", "phase1-visual"]


def test_bad_inputs_fail_before_any_compute(features, tmp_path, capsys):
    with pytest.raises(NanoEmoXError, match="does not exist; run nanoemox-extract"):
        train(tmp_path / "nothing", tmp_path)
    with pytest.raises(NanoEmoXError, match="phase2 starts from the heads of phase1-visual"):
        train(features, tmp_path, "--phase", "2")
    with pytest.raises(NanoEmoXError, match="unknown dataset 'meldd' in train.phases.1-speech.datasets.mer"):
        train(features, tmp_path, "--phase", "1", overrides=[*MIX, "train.phases.1-speech.datasets.mer=[meldd]"])
    default_mix = [o for o in MIX if not o.startswith("train.phases.1-speech.datasets")]  # crema-d, m3ed
    message = (
        r"crema-d/train: no index.json; phase 1-speech's mix trains mer on crema-d, m3ed "
        r"\(train.phases.1-speech.datasets.mer\): extract crema-d first .* or train on the shards there are: "
        r"--set train.phases.1-speech.datasets.mer=\[mer-caption\+, meld, mintrec, avamerg\]"
    )
    with pytest.raises(NanoEmoXError, match=message):
        train(features, tmp_path / "new-heads", "--phase", "1", overrides=default_mix)
    assert not (tmp_path / "new-heads").exists()  # no empty folder left behind
    with pytest.raises(NanoEmoXError, match="shards do not match the model config"):
        train(features, tmp_path, "--phase", "1", overrides=[*MIX, "model.encoders.hubert.qformer_layers=[3]"])
    assert not (tmp_path / "p2e" / "phase1-speech").exists()
    assert train(features, tmp_path, "--phase", "1", "--branch", "speech") == 0
    with pytest.raises(NanoEmoXError, match="exists; pass --resume"):
        train(features, tmp_path, "--phase", "1", "--branch", "speech")
    with pytest.raises(NanoEmoXError, match="--branch only applies to --phase 1"):
        train(features, tmp_path, "--branch", "speech")
    with pytest.raises(NanoEmoXError, match="--device nosuch: not a device name; use cpu, cuda or cuda:N"):
        train(features, tmp_path / "other", "--phase", "1", "--device", "nosuch")
    with pytest.raises(NanoEmoXError, match=r"--resume needs the settings .*\n  train.batch_size: 2 != 3"):
        resume_speech = ("--phase", "1", "--branch", "speech", "--resume")
        train(features, tmp_path, *resume_speech, overrides=[*MIX, "train.batch_size=3"])
    capsys.readouterr()
    assert train(features, tmp_path, "--phase", "1", "--branch", "speech", "--resume") == 0
    assert "phase1-speech: already finished at step" in capsys.readouterr().out


def test_non_finite_losses_are_skipped_then_stop_the_run(tmp_path):
    write_feature_shards(tmp_path / "shards", "meld", "train", load_config(preset="tiny"), 8)
    diverging = ["train.phases.1-speech.lr=1e30", "train.phases.1-speech.warmup_steps=0"]  # weights overflow
    overrides = [*MIX, *diverging, "train.max_bad_steps=3"]
    with pytest.raises(NanoEmoXError, match="3 non-finite losses in a row at step 1"):
        train(tmp_path / "shards", tmp_path / "heads", "--phase", "1", "--branch", "speech", overrides=overrides)
