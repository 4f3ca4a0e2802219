"""How many CPU threads torch uses: the CPUs this process may run on, sized to the model (bench/RESULTS.md).

torch starts one intra-op thread per core of the machine. Where the process gets fewer cores (another job on
the machine, a Slurm share of a big node, a container's CPU quota), those threads spin waiting for each other
on cores they do not get: on a shared 2-core machine a tiny-preset training step took 16x longer on two threads
than on one. Narrow models gain nothing from them even alone, so they run on one thread; a full-width step ran
1.4x faster on two threads of an idle machine (bench/threads_bench.py).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from nanoemox.config import PipelineConfig

WIDE = 1024  # LM widths from here on gain from intra-op threads; the tiny preset (64) runs faster on one
CGROUP = Path("/sys/fs/cgroup")


def cgroup_cpu_limit(root: Path = CGROUP, membership: Path = Path("/proc/self/cgroup")) -> float | None:
    """The CPU quota (in CPUs) of this process's cgroup and its parents, v2 `cpu.max` or v1 `cpu.cfs_*`;
    None when there is none or it cannot be read."""
    try:
        lines = membership.read_text().splitlines()
    except OSError:
        return None
    limits = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":  # v2: one unified tree (under unified/ beside v1's trees in hybrid mode)
            folders = [root / path.lstrip("/"), root / "unified" / path.lstrip("/")]
        elif "cpu" in controllers.split(","):  # v1: the cpu controller's tree, mounted as cpu,cpuacct (or cpu)
            folders = [root / name / path.lstrip("/") for name in {controllers, "cpu"}]
        else:
            continue
        for folder in folders:
            limits += [_quota(level) for level in (folder, *folder.parents) if level.is_relative_to(root)]
    limits = [limit for limit in limits if limit is not None]
    return min(limits) if limits else None


def _quota(folder: Path) -> float | None:
    """CPUs allowed by one cgroup folder (`200000 100000` in cpu.max: 2.0), or None."""
    try:
        if (folder / "cpu.max").is_file():
            quota, period = (folder / "cpu.max").read_text().split()[:2]
            return None if quota == "max" else int(quota) / int(period)
        quota = int((folder / "cpu.cfs_quota_us").read_text())
        period = int((folder / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None


def available_cpus() -> int:
    """CPUs this process may use: its affinity mask (taskset, Slurm), capped by its cgroup quota (containers)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    limit = cgroup_cpu_limit()
    return max(1, min(cpus, math.floor(limit))) if limit else cpus


def choose_threads(configured: int | None, lm_width: int) -> int:
    """`runtime.threads` (`--threads`) when set, else OMP_NUM_THREADS when set, else one thread for a narrow
    model and every available CPU for a wide one."""
    if configured is not None:
        return configured
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return available_cpus() if lm_width >= WIDE else 1


def use_threads(cfg: PipelineConfig) -> int:
    """Set torch's intra-op threads for this process by `choose_threads`; returns the number."""
    import torch

    threads = choose_threads(cfg.runtime.threads, cfg.model.lm.hidden_size)
    torch.set_num_threads(threads)
    return threads
