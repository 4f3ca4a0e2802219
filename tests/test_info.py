import json

from nanoemox.cli.main import main
from nanoemox.config import load_config
from nanoemox.model.info import parameter_report


def test_full_counts_match_the_published_encoders_and_lm():
    report = parameter_report(load_config())
    modules = {name.split(" ")[0]: entry["params"] for name, entry in report["modules"].items()}
    assert modules["clip_vision"] == 303_179_776
    assert modules["hubert"] == 315_438_720
    assert modules["facexformer"] == 87_495_864
    assert modules["language_model"] == 1_543_714_304
    assert 19_000_000 < modules["visual_qformer"] < 20_500_000
    assert 2.2e9 < report["total"] < 2.4e9
    trainable = report["trainable"]
    assert trainable["1-speech"] == modules["speech_qformer"] + modules["speech_adapter"]
    assert trainable["3"] == trainable["2"] + modules["lora"]
    assert trainable["joint"] == trainable["3"]


def test_info_cli_json(capsys):
    assert main(["info", "--preset", "tiny", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"modules", "total", "trainable"}
    assert report["total"] == sum(m["params"] for m in report["modules"].values())
    assert set(report["trainable"]) == {"1-speech", "1-visual", "2", "3", "joint"}


def test_info_cli_table_and_bad_key(capsys):
    from nanoemox.cli.common import run

    assert main(["info", "--preset", "tiny"]) == 0
    assert "trainable per phase" in capsys.readouterr().out
    assert run(main, ["info", "--set", "model.lora.rr=2"]) == 2
    assert "did you mean 'r'" in capsys.readouterr().err
