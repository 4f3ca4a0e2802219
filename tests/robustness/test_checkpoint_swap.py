"""Issue 13 item 3: a kill at any instant of a checkpoint save leaves a complete checkpoint, and --resume says
which one and at which step it continues."""

import contextlib
import json
import logging
import os
import shutil
from pathlib import Path

import pytest

from nanoemox.train import state as state_module

STAGE = "phase1-speech"


class Killed(BaseException):
    """The process died here: nothing after this instant runs."""


def kill_at(monkeypatch, instant: int) -> list[str]:
    """Make the `instant`-th rename or delete of the save raise Killed; returns the operations reached."""
    reached: list[str] = []
    real = {"rename": Path.rename, "replace": os.replace, "rmtree": shutil.rmtree}

    def operation(name):
        def run(*args, **kwargs):
            reached.append(f"{name} {Path(args[0]).name}")
            if len(reached) == instant + 1:
                raise Killed
            return real[name](*args, **kwargs)

        return run

    monkeypatch.setattr(Path, "rename", operation("rename"))
    monkeypatch.setattr(state_module.os, "replace", operation("replace"))
    monkeypatch.setattr(state_module.shutil, "rmtree", operation("rmtree"))
    return reached


def step_of(folder: Path) -> int:
    return json.loads((folder / "trainer_state.json").read_text())["step"]


@pytest.fixture(scope="module")
def saved_at_two(features, tmp_path_factory, train) -> Path:
    """A run whose phase1-speech checkpoint says step 2 of 4 (as a kill right after that save leaves it)."""
    out = tmp_path_factory.mktemp("swap")
    assert train(features, out) == 0
    state = json.loads((out / "p2e" / STAGE / "trainer_state.json").read_text())
    state["step"], state["finished"] = 2, False
    (out / "p2e" / STAGE / "trainer_state.json").write_text(json.dumps(state))
    return out / "p2e"


def save_step_three(run: Path) -> None:
    """save_training of the same model at step 3, through the real function."""
    from nanoemox.config import load_config
    from nanoemox.model import NanoEmoX
    from nanoemox.model.phases import set_trainable
    from nanoemox.train.loop import autocast_and_scaler, build_optimizer
    from nanoemox.train.stages import plan_stages

    cfg = load_config(run / "config.yaml")
    stage = next(s for s in plan_stages(cfg, "p2e", "1", "speech"))
    model = NanoEmoX.from_config(cfg.model)
    set_trainable(model, stage.phase)
    optimizer, scheduler = build_optimizer(model, cfg, stage)
    _, scaler = autocast_and_scaler("cpu")
    state = state_module.load_training(run / STAGE, state_module.Trainer(model, cfg, optimizer, scheduler, scaler))
    state.step = 3
    state_module.save_training(run / STAGE, state_module.Trainer(model, cfg, optimizer, scheduler, scaler), state)


def test_a_kill_at_every_instant_of_the_swap_leaves_a_complete_checkpoint(saved_at_two, tmp_path, monkeypatch):
    instant, outcomes = 0, {}
    while True:
        run = tmp_path / f"kill{instant}"
        shutil.copytree(saved_at_two, run)
        with monkeypatch.context() as patch:
            reached = kill_at(patch, instant)
            with contextlib.suppress(Killed):
                save_step_three(run)
        if len(reached) <= instant:  # the save ran to its end: every instant has been tried
            break
        state_module.recover_run(run)  # what the next job does first, holding the run's lock
        assert sorted(p.name for p in run.iterdir() if p.name.startswith(STAGE)) == [STAGE], reached[-1]
        outcomes[reached[-1]] = step_of(run / STAGE)
        instant += 1
    assert step_of(run / STAGE) == 3
    assert len(outcomes) >= 5, outcomes  # killed while writing, before, between and after the two renames
    assert outcomes["replace trainer_state.json.part"] == 2  # the new checkpoint was not complete yet
    assert set(outcomes.values()) == {2, 3}  # never step 0: some kills keep step 2, later ones give step 3
    assert all(step == 3 for name, step in outcomes.items() if name.startswith(("rename", "rmtree phase1-speech.old")))


def test_resume_after_a_kill_between_the_renames_says_where_it_continues(
    saved_at_two, tmp_path, monkeypatch, train, features, caplog
):
    run = tmp_path / "p2e"
    shutil.copytree(saved_at_two, run)
    with monkeypatch.context() as patch:
        reached = kill_at(patch, 10**6)
        save_step_three(run)  # count the operations, then kill between the two renames
    renames = [i for i, name in enumerate(reached) if name.startswith("rename")]
    shutil.rmtree(run)
    shutil.copytree(saved_at_two, run)
    with monkeypatch.context() as patch:
        kill_at(patch, renames[1])
        with pytest.raises(Killed):
            save_step_three(run)
    assert not (run / STAGE).exists()  # killed after the old checkpoint moved away, before the new one moved in
    with caplog.at_level(logging.INFO):
        assert train(features, tmp_path, "--resume") == 0
    assert f"{STAGE}: resuming from the checkpoint in {run / STAGE} at step 3 of 4" in caplog.text
    assert step_of(run / STAGE) == 4
