#!/usr/bin/env bash
# One prepared command for a GPU machine, under 8 minutes: full-size, random-init benchmarks written to
# bench/RESULTS.md under the GPU's name. Needs torch, torchvision, transformers, peft, tokenizers, safetensors,
# pyyaml, psutil and numpy in the machine's python3 (the lent H100/H200 images have them; it imports no
# webdataset, Ray or PyAV). A dry run of the same code on a CPU: bash bench/gpu.sh --device cpu --preset tiny ...
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD:$PWD/bench${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
PYTHON="${PYTHON:-python3}"
if [[ " $* " == *" --device cpu "* ]]; then  # the dry run: no GPU to ask, no GPU time to guard
  exec "$PYTHON" bench/gpu_bench.py "$@"
fi
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
timeout 460 "$PYTHON" bench/gpu_bench.py "$@"
