"""Missing pretrained weights stop a job before Ray starts, in one line: the model, where it was looked, the fix."""

import os
import subprocess
import sys

from helpers import write_meld_corpus


def extract(tmp_path, *args: str) -> subprocess.CompletedProcess:
    """nanoemox-extract with the full preset, offline, and a Hugging Face cache that holds nothing."""
    env = os.environ | {"HF_HUB_CACHE": str(tmp_path / "hf-cache"), "HF_HUB_OFFLINE": "0"}
    root = write_meld_corpus(tmp_path / "meld", [{}])
    argv = ["--dataset", "meld", "--root", str(root), "--out", str(tmp_path / "shards"), *args]
    command = [sys.executable, "-m", "nanoemox.cli.extract", *argv]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)


def test_extract_without_weights_fails_in_one_line_before_ray(tmp_path):
    result = extract(tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    [line] = result.stderr.splitlines()
    cache = tmp_path / "hf-cache"
    assert line.startswith("error: pretrained weights not found: model.encoders.clip.name_or_path ")
    assert f"openai/clip-vit-large-patch14 (not a local folder, not in the Hugging Face cache {cache})" in line
    assert "model.encoders.hubert.name_or_path TencentGameMate/chinese-hubert-large" in line
    assert f"model.encoders.face.checkpoint ckpts/model.pt (no such file: {tmp_path / 'ckpts' / 'model.pt'})" in line
    assert "hf download openai/clip-vit-large-patch14" in line and "or use --preset tiny" in line
    assert not (tmp_path / "shards").exists()  # nothing written, no Ray started (its log would be there)


def test_a_local_folder_is_taken_and_a_bad_one_named(tmp_path):
    clip, hubert = tmp_path / "clip", tmp_path / "hubert"
    clip.mkdir()
    (clip / "config.json").write_text("{}")
    hubert.mkdir()
    face = tmp_path / "model.pt"
    face.write_bytes(b"")
    sets = [f"model.encoders.clip.name_or_path={clip}", f"model.encoders.hubert.name_or_path={hubert}"]
    sets.append(f"model.encoders.face.checkpoint={face}")
    result = extract(tmp_path, *(item for s in sets for item in ("--set", s)))
    [line] = result.stderr.splitlines()
    assert result.returncode == 2 and "model.encoders.clip" not in line and "model.encoders.face" not in line
    assert f"model.encoders.hubert.name_or_path {hubert} (the folder {hubert} holds no config.json)" in line
