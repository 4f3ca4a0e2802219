from pathlib import Path

import pytest
import yaml

import nanoemox
from nanoemox.cli.common import run
from nanoemox.cli.main import main as cli_main
from nanoemox.config import DEFAULT_CONFIG, ConfigError, diff_configs, load_config, save_config
from nanoemox.errors import NanoEmoXError


def test_full_preset_has_the_papers_sizes():
    cfg = load_config()
    assert cfg.preset == "full"
    assert cfg.model.lm.name_or_path == "Qwen/Qwen2.5-1.5B-Instruct"
    assert (cfg.model.lora.r, cfg.model.lora.alpha, cfg.model.lora.dropout) == (32, 16, 0.05)
    assert cfg.model.heads.qformer.num_queries == 32
    assert cfg.model.encoders.clip.fusion_layers == [12, 16, 22]
    assert cfg.model.encoders.hubert.qformer_layers == [21, 22, 23, 24]
    assert cfg.train.phases["3"].tasks == {"mer": 18, "ov-mer": 28, "mir": 5, "eri": 31, "erg": 18}
    assert cfg.train.phases["1-speech"].lr == pytest.approx(3e-4)


def test_default_config_is_the_repository_file_shipped_in_the_package():
    packaged = Path(nanoemox.__file__).parent / "pipeline.yaml"
    assert packaged.is_symlink() and packaged.resolve() == Path("pipeline.yaml").resolve()
    assert packaged.resolve() == DEFAULT_CONFIG


def test_tiny_preset_overrides_sizes_only():
    cfg = load_config(preset="tiny")
    assert cfg.preset == "tiny"
    assert cfg.model.lm.init == "random" and cfg.model.lm.hidden_size == 64
    assert cfg.model.heads.qformer.num_hidden_layers == 2  # same architecture
    assert cfg.model.lora.target_modules == load_config().model.lora.target_modules


def test_set_overrides_typed_values():
    cfg = load_config(preset="tiny", overrides=["train.batch_size=7", "train.phases.3.lr=3e-4", "score.do_sample=true"])
    assert cfg.train.batch_size == 7
    assert cfg.train.phases["3"].lr == pytest.approx(3e-4)
    assert cfg.score.do_sample is True


@pytest.mark.parametrize(
    "override, message",
    [
        ("model.heads.qformer.num_querys=3", "did you mean 'num_queries'"),
        ("train.batch_size=two", "'train.batch_size' must be int"),
        ("model.heads.fusion.type=gate", "did you mean 'gated'"),
        ("model.heads.modalities=[speech, vision]", "unknown modality 'vision'"),
        ("model.encoders.clip.fusion_layers=[1, 2, 30]", "outside 0..4"),
        ("model.lm.hidden_size=1.5", "must be int"),
        ("trian.batch_size=1", "did you mean 'train'"),
        ("train.batch_size", "expected KEY=VALUE"),
        ("train.batch_size=[1", r"--set train.batch_size: value '\[1' is not valid YAML"),
        ("train.batch_size=0", "'train.batch_size' must be >= 1, got 0"),
        ("train.save_every=0", "'train.save_every' must be >= 1, got 0"),
        ("extract.shard_size=0", "'extract.shard_size' must be >= 1, got 0"),
        ("extract.detect_on=gpu", "'extract.detect_on' must be one of auto, decode, encode"),
        ("train.phases.3.lr=-1", r"'train.phases.3.lr' must be > 0, got -1"),
        ("train.phases.3.steps=0", "'train.phases.3.steps' must be >= 1, got 0"),
        ("train.phases.3.tasks.mer=0", "'train.phases.3.tasks.mer' must be > 0, got 0"),
        ("train.phases.3.datasets.mer=[]", "tasks with no datasets: mer"),
        ("train.phases.3.tasks={dance: 1}", "unknown task 'dance'"),
    ],
)
def test_bad_overrides_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(preset="tiny", overrides=[override])


def test_a_bad_override_or_preset_is_blamed_not_the_file():
    """The user typed the override and the preset; the packaged pipeline.yaml they never touched is fine."""
    with pytest.raises(ConfigError) as err:
        load_config(overrides=["train.log_every=5", "train.batch_size=four"])
    assert str(err.value) == "--set train.batch_size=four: 'train.batch_size' must be int, got 'four'"
    with pytest.raises(ConfigError) as err:
        load_config(preset="tiny", overrides=["model.heads.qformer.hidden_size=65"])
    assert str(err.value).startswith("--set model.heads.qformer.hidden_size=65: 'model.heads.qformer.hidden_size'")
    with pytest.raises(ConfigError) as err:
        load_config(preset="tinyy")
    assert str(err.value).startswith("--preset tinyy: unknown preset 'tinyy' (did you mean 'tiny'?)")


def test_bad_key_in_file_names_file_key_and_suggestion(tmp_path):
    data = yaml.safe_load(Path("pipeline.yaml").read_text())
    data["train"]["grad_acum"] = data["train"].pop("grad_accum")
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value)
    assert "'train.grad_acum'" in str(err.value) and "did you mean 'grad_accum'" in str(err.value)


def test_unknown_preset_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="unknown preset 'tinny'.*'tiny'.*presets: full, tiny"):
        load_config(preset="tinny")
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(NanoEmoXError, match="is a folder; expected a config file"):
        load_config(tmp_path)
    (tmp_path / "bad.yaml").write_text("train: [\n")
    with pytest.raises(NanoEmoXError, match=r"bad.yaml: invalid YAML \(line 2, column 1"):
        load_config(tmp_path / "bad.yaml")


def test_saved_config_round_trips_and_diffs(tmp_path):
    cfg = load_config(preset="tiny")
    path = save_config(cfg, tmp_path)
    again = load_config(path)
    assert again == cfg
    other = load_config(preset="tiny", overrides=["model.lora.r=4"])
    assert diff_configs(cfg.to_dict(), other.to_dict()) == ["model.lora.r: 8 != 4"]
    assert cfg.model_hash() != other.model_hash()


def test_config_show_prints_the_effective_config_which_loads_back(tmp_path, capsys):
    assert cli_main(["config", "show", "--preset", "tiny", "--set", "train.batch_size=3"]) == 0
    shown = tmp_path / "shown.yaml"
    shown.write_text(capsys.readouterr().out)
    assert yaml.safe_load(shown.read_text())["train"]["batch_size"] == 3
    assert load_config(shown) == load_config(preset="tiny", overrides=["train.batch_size=3"])


def test_config_init_writes_an_editable_copy_and_never_overwrites(tmp_path, capsys):
    path = tmp_path / "mine" / "pipeline.yaml"
    assert cli_main(["config", "init", str(path)]) == 0
    assert f"pass --config {path}" in capsys.readouterr().out
    assert path.read_text() == DEFAULT_CONFIG.read_text()  # comments kept
    path.write_text(path.read_text().replace("batch_size: 3\n", "batch_size: 5\n", 1))
    assert run(cli_main, ["config", "init", str(path)]) == 2
    assert f"{path}: already exists; not overwritten" in capsys.readouterr().err
    assert "batch_size: 5\n" in path.read_text()


def test_a_config_saved_by_the_earlier_layout_still_loads(tmp_path):
    """Heads saved before dataset weighting moved into each phase score with their saved config."""
    import yaml

    saved = load_config(preset="tiny").to_dict()
    for phase in saved["train"]["phases"].values():
        for key in ("dataset_weighting", "dataset_weights", "cosine_start"):
            phase.pop(key)
    saved["train"]["dataset_weighting"] = "size"
    del saved["runtime"]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(saved))
    cfg = load_config(tmp_path / "config.yaml")
    assert {p.dataset_weighting for p in cfg.train.phases.values()} == {"size"}
    assert all(p.cosine_start == 0.0 and p.dataset_weights == {} for p in cfg.train.phases.values())
    assert cfg.runtime.threads is None
