"""pipeline.yaml values that would crash a job later are refused when the config loads, naming the key."""

import pytest

from nanoemox.cli import train
from nanoemox.cli.common import run
from nanoemox.config import DEFAULT_CONFIG, ConfigError, load_config


@pytest.mark.parametrize(
    "override, message",
    [
        ("model.heads.modalities=[]", "'model.heads.modalities' must not be empty"),
        ("model.heads.frames=-3", "'model.heads.frames' must be >= 1, got -3"),
        ("model.heads.windows=0", "'model.heads.windows' must be >= 1, got 0"),
        ("train.phases={}", "'train.phases' must not be empty"),
        ("train.phases.3.tasks={}", "'train.phases.3.tasks' must not be empty"),
        ("train.phases.3.lr=.nan", "'train.phases.3.lr' must be a finite number, got nan"),
        ("train.phases.3.lr=.inf", "'train.phases.3.lr' must be a finite number, got inf"),
        ("train.phases.3.min_lr=1.0", r"'train.phases.3.min_lr' \(1.0\) is above its lr"),
        ("train.grad_clip=-.inf", "'train.grad_clip' must be a finite number, got -inf"),
        ("train.seed=-1", "'train.seed' must be >= 0, got -1"),
        ("extract.decode_timeout_s=.nan", "'extract.decode_timeout_s' must be a finite number, got nan"),
        ("score.top_p=5", "'score.top_p' must be <= 1, got 5.0"),
        ("score.temperature=0", "'score.temperature' must be > 0, got 0.0"),
        ("score.max_new_tokens.eri=0", "'score.max_new_tokens.eri' must be >= 1, got 0"),
        ("model.lm.max_length=0", "'model.lm.max_length' must be >= 1, got 0"),
        ("model.lm.max_length=4096", r"'model.lm.max_length' \(4096\) exceeds 'model.lm.max_position_embeddings'"),
        ("model.lm.num_key_value_heads=3", r"'model.lm.num_attention_heads' \(4\) must divide by .*num_key_value"),
        ("model.lm.initializer_range=0", "'model.lm.initializer_range' must be > 0, got 0.0"),
        ("model.lora.r=0", "'model.lora.r' must be >= 1, got 0"),
        ("model.lora.target_modules=[]", "'model.lora.target_modules' must not be empty"),
        ("model.lora.dropout=1", "'model.lora.dropout' must be < 1, got 1.0"),
        ("model.heads.qformer.dropout=-0.1", "'model.heads.qformer.dropout' must be >= 0, got -0.1"),
        ("model.heads.qformer.num_attention_heads=5", r"'model.heads.qformer.hidden_size' \(64\) must divide by"),
        ("model.heads.fusion.num_heads=3", r"'model.heads.fusion.hidden_size' \(32\) must divide by"),
        ("model.heads.face_temporal.num_heads=5", r"'model.encoders.face.out_dim' \(32\) must divide by"),
        ("model.heads.qformer.num_queries=0", "'model.heads.qformer.num_queries' must be >= 1, got 0"),
        ("model.encoders.clip.qformer_layers=[]", "'model.encoders.clip.qformer_layers' must not be empty"),
        ("model.encoders.clip.fusion_layers=[]", "clip and hubert fusion_layers must pair up"),
        ("model.encoders.clip.num_attention_heads=0", "'model.encoders.clip.num_attention_heads' must be >= 1, got 0"),
        ("model.encoders.clip.patch_size=300", r"'model.encoders.clip.patch_size' \(300\) is larger than the image"),
        ("model.encoders.hubert.conv_dim=[32, 32]", "'model.encoders.hubert.conv_dim' needs 7 entries"),
        ("model.encoders.hubert.num_conv_pos_embedding_groups=3", r"hubert.hidden_size' \(32\) must divide by"),
        ("model.encoders.face.num_heads=[1, 1, 2]", "'model.encoders.face.num_heads' needs one entry per stage"),
        ("model.encoders.face.num_heads=[3, 1, 2, 2]", r"'model.encoders.face.num_heads\[0\]' \(3\) must divide"),
        ("model.encoders.face.depths=[1, 0, 1, 1]", r"'model.encoders.face.depths\[1\]' must be >= 1, got 0"),
        ("eval.extractor_top_p=1.5", "'eval.extractor_top_p' must be <= 1, got 1.5"),
        ("model.lm.name_or_path=''", "'model.lm.name_or_path' is empty"),
        ("datasets.meld=' '", "'datasets.meld' is empty"),
        ("model.lora.target_modules=[q_proj, '']", r"'model.lora.target_modules\[1\]' is empty"),
    ],
)
def test_a_value_that_would_crash_later_is_refused_naming_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(preset="tiny", overrides=[override])


def test_a_nan_in_the_yaml_file_is_refused_before_training_starts(tmp_path, capsys):
    text = DEFAULT_CONFIG.read_text()
    config = tmp_path / "pipeline.yaml"
    config.write_text(text.replace("lr: 2.0e-3", "lr: .nan", 1))  # the tiny preset's phase 2
    argv = ["--config", str(config), "--preset", "tiny", "--features", str(tmp_path), "--out", str(tmp_path / "out")]
    assert run(train.main, argv) == 2
    assert capsys.readouterr().err == f"error: {config}: 'train.phases.2.lr' must be a finite number, got nan\n"
    assert not (tmp_path / "out").exists()


def test_both_presets_pass_every_range():
    for preset in ("full", "tiny"):
        assert load_config(preset=preset).preset == preset
