"""The package as a user installs it: sdist -> wheel -> a fresh virtualenv, run from a folder outside the checkout."""

import os
import shutil
import site
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import tomllib

from helpers import write_meld_corpus

pytestmark = pytest.mark.install
REPO = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "pipeline.yaml", "FIDELITY.md", "shards", "heads", "nanoemox")


def sh(*args, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(map(str, args))} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """The wheel built from an sdist of the sources, installed in a fresh virtualenv that reuses this interpreter's
    packages (torch & co.) through a .pth file instead of installing them again."""
    work = tmp_path_factory.mktemp("install")
    source = work / "source"
    source.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, source / name)
    build_sdist = "from setuptools import build_meta; print(build_meta.build_sdist('../dist'))"
    sdist = work / "dist" / sh(sys.executable, "-c", build_sdist, cwd=source).stdout.split()[-1]
    with tarfile.open(sdist) as tar:
        tar.extractall(work / "sdist", filter="data")
    unpacked = next((work / "sdist").iterdir())
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    sh(*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", work / "dist", unpacked, cwd=work)
    wheel = next((work / "dist").glob("*.whl"))
    env_dir = work / "venv"
    sh(sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", env_dir, cwd=work)
    python = env_dir / "bin" / "python"
    purelib = sh(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=work).stdout.strip()
    Path(purelib, "reuse-test-interpreter.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    sh(*pip, "--python", python, "install", "--no-index", "--no-deps", "--force-reinstall", wheel, cwd=work)
    return env_dir


def user_env(env_dir: Path) -> dict[str, str]:
    """A user's shell: the virtualenv's bin first, no PYTHONPATH pointing at a checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return env | {"PATH": f"{env_dir / 'bin'}{os.pathsep}{env['PATH']}"}


def test_wheel_installs_and_runs_outside_the_checkout(venv, tmp_path):
    env, bin_dir = user_env(venv), venv / "bin"
    code = "import nanoemox, importlib.metadata as m; print(nanoemox.__file__); print(m.version('nanoemox'))"
    where, version = sh(bin_dir / "python", "-c", code, cwd=tmp_path, env=env).stdout.split()
    assert (
        Path(where).is_relative_to(venv)
        and version == tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    )
    pip_check = [bin_dir / "python", "-m", "pip", "check"]  # exit 1 for other packages' conflicts is not ours
    check = subprocess.run(pip_check, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600).stdout
    assert "facenet-pytorch" in check  # pip check sees the whole environment ...
    assert not [line for line in check.splitlines() if line.startswith("nanoemox ")]  # ... and all our pins hold

    docs = Path(where).parent / "docs"  # what the --help texts point to, as plain files
    for name, source in (
        ("FIDELITY.md", "FIDELITY.md"),
        ("shards.md", "shards/README.md"),
        ("heads.md", "heads/README.md"),
    ):
        assert not (docs / name).is_symlink() and (docs / name).read_text() == (REPO / source).read_text()
    recipes = Path(where).parent / "reproduce" / "recipes"  # `nanoemox demo run` reads demo.yaml
    assert {p.name for p in recipes.glob("*.yaml")} == {"demo.yaml", "paper.yaml"}
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    for name in scripts:
        assert "usage:" in sh(bin_dir / name, "--help", cwd=tmp_path, env=env).stdout
    assert "total" in sh(bin_dir / "nanoemox", "info", cwd=tmp_path, env=env).stdout  # the packaged pipeline.yaml
    assert "preset: full" in sh(bin_dir / "nanoemox", "config", "show", cwd=tmp_path, env=env).stdout
    sh(bin_dir / "nanoemox", "config", "init", "my.yaml", cwd=tmp_path, env=env)
    assert (tmp_path / "my.yaml").read_text() == (REPO / "pipeline.yaml").read_text()
    done = sh(bin_dir / "nanoemox", "setup", "--install", "--config", "my.yaml", cwd=tmp_path, env=env)
    assert "face detector mtcnn: ready" in done.stdout

    write_meld_corpus(tmp_path / "meld", [{"emotion": e, "seconds": 2.0} for e in ("joy", "anger")], split="train")
    write_meld_corpus(tmp_path / "meld", [{"emotion": "joy", "seconds": 2.0}], split="test")
    tiny = ["--config", "my.yaml", "--preset", "tiny"]
    done = sh(
        bin_dir / "nanoemox-extract",
        "--dataset",
        "meld",
        "--root",
        "meld",
        "--num-cpus",
        "2",
        *tiny,
        cwd=tmp_path,
        env=env,
    )
    assert "meld/train: 2 clips written" in done.stdout and (tmp_path / "shards" / "ray.log").is_file()
    sets = ["train.phases.3.tasks={mer: 1}", "train.phases.3.datasets={mer: [meld]}", "train.batch_size=2"]
    sets += [f"train.phases.{p}.steps=1" for p in ("1-speech", "1-visual", "2", "3")]
    done = sh(
        bin_dir / "nanoemox-train",
        "--strategy",
        "joint",
        *tiny,
        *[a for s in sets for a in ("--set", s)],
        cwd=tmp_path,
        env=env,
    )
    assert "joint: 4 steps" in done.stdout
    done = sh(
        bin_dir / "nanoemox-score", "--run", "heads/joint", "--dataset", "meld", "--task", "mer", cwd=tmp_path, env=env
    )
    assert "meld/test: 1 predictions written" in done.stdout
    assert len((tmp_path / "heads" / "joint" / "predictions" / "meld-test.jsonl").read_text().splitlines()) == 1
