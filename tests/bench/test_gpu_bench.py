"""bench/gpu.sh's dry run on a CPU: the first GPU call cannot die of a typo or of a package its image lacks."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ABSENT_ON_GPU_IMAGE = ("webdataset", "ray", "av", "decord", "torchcodec", "facenet_pytorch", "h5py")


def test_gpu_bench_dry_run_on_cpu(tmp_path):
    block = "; ".join(f"sys.modules[{name!r}] = None" for name in ABSENT_ON_GPU_IMAGE)
    python = tmp_path / "python"  # the interpreter gpu.sh calls, with the packages the GPU image lacks blocked
    python.write_text(
        f'#!/bin/sh\nexec {sys.executable} -c "import runpy, sys; {block}; sys.argv = sys.argv[1:]; '
        'runpy.run_path(sys.argv[0], run_name=\\"__main__\\")" "$@"\n'
    )
    python.chmod(0o755)
    args = ["--device", "cpu", "--preset", "tiny", "--steps", "1", "--encoder-batch", "1", "--max-batch", "2"]
    args += ["--score-batch", "2", "--max-new-tokens", "2", "--budget-s", "600"]
    result = subprocess.run(
        ["bash", str(ROOT / "bench" / "gpu.sh"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHON": str(python)},
        timeout=1500,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "## GPU: cpu" in out and "skipped: time budget" not in out
    for row in ("extraction encoders", "the paper's batch", "fills the card", "fused_adamw=false", "eager",
                "gradient_checkpointing=true", "phase 2 |", "erg on avamerg | 2 |"):  # fmt: skip
        assert row in out, row
    assert "train.compile=true | 2 | skipped: not on CPU" in out
