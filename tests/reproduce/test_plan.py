"""The plan of an experiment: its steps and sizes from the datasets on disk, blocked steps, and fingerprints that
make a config change stale exactly the steps that read the changed key."""

import pytest

from nanoemox.config import load_config
from nanoemox.datasets import open_dataset
from nanoemox.reproduce.plan import Experiment, build_plan, clip_bytes, open_experiment
from nanoemox.reproduce.recipe import RecipeError, load_recipe

from conftest import link_files


@pytest.fixture
def roots(reference, tmp_path):
    meld = {f"{s}_sent_emo.csv": reference / "meld" / f"meld_{s}_sent_emo.csv" for s in ("train", "dev", "test")}
    mintrec = {f"{s}.tsv": reference / "mintrec" / f"mintrec_{s}.tsv" for s in ("train", "dev", "test")}
    return {
        "meld": link_files(tmp_path / "meld", meld),
        "mintrec": link_files(tmp_path / "mintrec", mintrec),
        "emer": link_files(tmp_path / "emer", {"gt-eng.csv": reference / "emer" / "gt-eng.csv"}),
    }


def paper_plan(tmp_path, roots, *overrides):
    sets = [f"datasets.{name}={root}" for name, root in roots.items()] + list(overrides)
    return build_plan(open_experiment(tmp_path / "exp", "paper", overrides=sets))


def test_the_paper_recipe_plans_every_step_with_sizes_from_disk(roots, tmp_path):
    steps = {step.id: step for step in paper_plan(tmp_path, roots)}
    kinds = [step.split("/")[0] for step in steps]
    assert kinds.count("train") == 4 and kinds.count("score") == 13 and kinds.count("eval") == 13
    assert [s for s in steps if s.startswith("train/")] == [
        "train/phase1-speech",
        "train/phase1-visual",
        "train/phase2",
        "train/phase3",
    ]
    # 9 training datasets (phase mixes) + 13 benchmarks, MELD and MIntRec in both: 19 dataset checks
    assert kinds.count("check") == 19 and kinds[-1] == "report"
    meld_test = sum(1 for _ in open_dataset("meld", roots["meld"]).read("test"))
    cfg = load_config()
    assert steps["extract/meld/test"].size == f"{meld_test:,} clips, {meld_test * clip_bytes(cfg) / 1e6:,.0f} MB"
    assert 150_000 < clip_bytes(cfg) < 200_000  # about 170 KB a clip in float16 (the shard contract)
    assert "extract/mintrec/dev" in steps and steps["extract/mintrec/train"].blocked is None
    assert steps["extract/mintrec/train"].command.startswith(
        f"nanoemox-extract --dataset mintrec --split train --root {roots['mintrec']} --out"
    )
    # a dataset not provided blocks its own steps and every step that needs them, naming the key to set
    assert steps["check/caer"].blocked == "dataset not provided: set datasets.caer in the config"
    assert "datasets.caer" in steps["train/phase1-visual"].blocked
    assert steps["score/meld/test"].blocked == (
        "needs extract/caer/train (dataset not provided: set datasets.caer in the config)"
    )
    # MER-UniBench and ERI evaluations name the missing wheels or judge
    assert "eval.wheel_dir" in steps["eval/meld/test"].blocked or "needs" in steps["eval/meld/test"].blocked
    assert steps["check/emer"].blocked is None


def changed(before, after):
    old = {step.id: step.fingerprint for step in before}
    return {step.id for step in after if old[step.id] != step.fingerprint}


def test_a_config_change_makes_stale_exactly_the_steps_that_read_it(roots, tmp_path):
    base = paper_plan(tmp_path, roots)
    ids = [step.id for step in base]
    after_phase3 = {i for i in ids if i.split("/")[0] in ("score", "eval", "report")} | {"train/phase3"}
    assert changed(base, paper_plan(tmp_path, roots, "train.phases.3.steps=1000")) == after_phase3
    evaluations = {i for i in ids if i.startswith("eval/")} | {"report"}
    assert changed(base, paper_plan(tmp_path, roots, "eval.judge_url=http://judge:8000/v1")) == evaluations
    # where extraction runs, how often training logs and saves: nothing to redo
    assert changed(base, paper_plan(tmp_path, roots, "extract.num_gpus=8", "train.save_every=50")) == set()
    # what the frozen encoders store: everything from extraction on, never the dataset checks
    sampling = changed(base, paper_plan(tmp_path, roots, "extract.frame_sampling=floor"))
    assert sampling == {i for i in ids if not i.startswith("check/")}
    # a dataset root: its own steps and what follows them
    moved = changed(base, paper_plan(tmp_path, roots, f"datasets.emer={roots['emer']}/."))
    assert moved == {"check/emer", "extract/emer/test", "score/emer/test", "eval/emer/test", "report"}


def test_recipes_are_checked_with_the_file_and_key_named(tmp_path):
    bad = tmp_path / "mine.yaml"
    bad.write_text("name: mine\nbenchmarks: [{dataset: meld, tasks: [mer]}]\nstrateg: p2e\n")
    with pytest.raises(RecipeError, match=r"mine.yaml: unknown key\(s\) strateg"):
        load_recipe(str(bad))
    bad.write_text("benchmarks: [{dataset: emer, tasks: [mir]}]\n")
    with pytest.raises(RecipeError, match="emer has no mir labels"):
        load_recipe(str(bad))
    bad.write_text("benchmarks: [{dataset: meld, split: test9, tasks: [mer]}]\n")
    with pytest.raises(RecipeError, match="meld has no split 'test9'"):
        load_recipe(str(bad))
    with pytest.raises(RecipeError, match="not a bundled recipe"):
        load_recipe("nosuch")
    assert load_recipe("paper").benchmarks[0].dataset == "mer2023"


def test_the_experiment_keeps_its_recipe(tmp_path):
    """A folder run with a recipe is planned with that recipe when --recipe is not given again."""
    import yaml

    x = open_experiment(tmp_path, "demo")
    x.state_dir.mkdir(parents=True)
    x.recipe_file.write_text(yaml.safe_dump(x.recipe.to_dict()))
    again = open_experiment(tmp_path)
    assert again.recipe.benchmarks == x.recipe.benchmarks and again.cfg.preset == "tiny"
    assert isinstance(again, Experiment) and again.recipe.name == "demo"
