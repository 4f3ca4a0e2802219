#!/usr/bin/env bash
# Every CPU benchmark, in one go; each rewrites its own section of bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s .venv/.installed
.venv/bin/python bench/extract_bench.py --clips 100
.venv/bin/python bench/train_bench.py --steps 200
.venv/bin/python bench/score_bench.py --clips 64
.venv/bin/python bench/llm_bench.py --clips 40 --latency 0.25
