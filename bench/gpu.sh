#!/usr/bin/env bash
# One prepared command for a GPU machine (ends well under 8 minutes): full-size, random-init benchmarks,
# appended to bench/RESULTS.md with the GPU's name. Needs torch, transformers, torchvision, peft, pyyaml
# and psutil in the machine's python3 (the lent machines have them).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD:$PWD/bench${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
timeout 420 python3 bench/gpu_bench.py "$@"
