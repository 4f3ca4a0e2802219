"""The thread policy: the CPUs a process may use (affinity, cgroup quota), sized to the model, overridable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nanoemox.config import ConfigError, load_config
from nanoemox.runtime.threads import WIDE, available_cpus, cgroup_cpu_limit, choose_threads, use_threads


def cgroup(root: Path, folder: str, **files: str) -> None:
    (root / folder).mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / folder / name.replace("_", ".", 1)).write_text(text)


def test_a_v2_quota_is_the_smallest_on_the_way_to_the_root(tmp_path):
    root, membership = tmp_path / "cgroup", tmp_path / "membership"
    membership.write_text("0::/slurm/job7/step0\n")
    cgroup(root, "slurm/job7/step0", cpu_max="max 100000\n")
    cgroup(root, "slurm/job7", cpu_max="250000 100000\n")  # the job: 2.5 CPUs
    cgroup(root, "slurm", cpu_max="1600000 100000\n")
    assert cgroup_cpu_limit(root, membership) == 2.5
    cgroup(root, "slurm/job7", cpu_max="max 100000\n")
    assert cgroup_cpu_limit(root, membership) == 16.0


def test_a_v1_cfs_quota_is_read_and_no_quota_is_none(tmp_path):
    root, membership = tmp_path / "cgroup", tmp_path / "membership"
    membership.write_text("4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/\n")
    cgroup(root, "cpu,cpuacct", cpu_cfs_quota_us="150000\n", cpu_cfs_period_us="100000\n")  # the container's
    assert cgroup_cpu_limit(root, membership) == 1.5
    cgroup(root, "cpu,cpuacct", cpu_cfs_quota_us="-1\n", cpu_cfs_period_us="100000\n")
    assert cgroup_cpu_limit(root, membership) is None
    assert cgroup_cpu_limit(root, tmp_path / "no-such-file") is None


def test_threads_follow_the_flag_then_omp_then_the_model_width(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert choose_threads(None, 64) == 1  # the tiny preset: one thread is faster even on an idle machine
    assert choose_threads(None, WIDE) == available_cpus() <= len(os.sched_getaffinity(0))
    assert choose_threads(3, 64) == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert choose_threads(None, 64) == 2 and choose_threads(5, 64) == 5


def test_available_cpus_follow_the_affinity_mask():
    code = "import os; os.sched_setaffinity(0, {0}); import nanoemox.runtime.threads as t; print(t.available_cpus())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "1"


def test_use_threads_sets_torch_and_the_config_key_is_checked(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    try:
        assert use_threads(load_config(preset="tiny", overrides=["runtime.threads=2"])) == 2
        assert torch.get_num_threads() == 2
        assert use_threads(load_config(preset="tiny")) == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ConfigError, match="'runtime.threads' must be >= 1, got 0"):
        load_config(preset="tiny", overrides=["runtime.threads=0"])


@pytest.mark.parametrize("command", [["nanoemox-train"], ["nanoemox-score"], ["nanoemox", "predict", "x.mp4"]])
def test_threads_flag_refuses_zero(command, capsys):
    from nanoemox.cli.main import main as nanoemox_main
    from nanoemox.cli.score import main as score_main
    from nanoemox.cli.train import main as train_main

    main = {"nanoemox-train": train_main, "nanoemox-score": score_main, "nanoemox": nanoemox_main}[command[0]]
    with pytest.raises(SystemExit) as exit_info:
        main([*command[1:], "--threads", "0"])
    assert exit_info.value.code == 2
    assert "argument --threads: '0' is not a whole number of 1 or more" in capsys.readouterr().err
