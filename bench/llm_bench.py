"""LLM-backed evaluation, one request at a time against the default concurrency, in one run: `nanoemox-eval` on
an EMER (ERI) split whose judge is a local OpenAI-compatible endpoint that answers every request after a fixed
latency and serves any number at once (as vLLM or a hosted API does). Both runs must write the same result file.

    .venv/bin/python bench/llm_bench.py --clips 40 --latency 0.25
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from results import update_section

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from nanoemox.cli.eval import main as eval_main
from nanoemox.config import load_config

from conftest import LLM_KEY, LLM_KEY_ENV, FakeLLM, serve_llm  # the tests' local endpoint


def judge_reply(prompt: str) -> str:
    """A reply that depends on the prompt only: a score, or an emotion summary."""
    digest = hashlib.sha256(prompt.encode()).hexdigest()
    if "《真实描述》" in prompt or "《真实情感》" in prompt:
        return f"'预测分数'：{1 + int(digest, 16) % 10}；'原因'：..."
    return f"情感 {digest[:8]}"


def write_emer(root: Path, clips: int) -> Path:
    """An EMER split (gt-eng.csv) and predictions for it, every reason different: 4 judge requests a clip."""
    root.mkdir(parents=True)
    rows = ["names,emotions,subtitles,reasons"]
    rows += [f'sample_{i},happy,Line {i}.,"In clip {i} he smiles widely, so he is happy."' for i in range(clips)]
    (root / "gt-eng.csv").write_text("\n".join(rows) + "\n")
    predictions = root / "eri.jsonl"
    lines = [{"id": f"sample_{i}", "task": "eri", "output": f"In clip {i} he grins."} for i in range(clips)]
    predictions.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return predictions


def timed_eval(argv: list[str], out: Path) -> tuple[float, dict]:
    started = time.perf_counter()
    assert eval_main([*argv, "--out", str(out)]) == 0
    return time.perf_counter() - started, json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clips", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.25, help="seconds the endpoint takes for every request")
    args = parser.parse_args()
    default = load_config().eval.llm_concurrency
    server_state = FakeLLM(responder=judge_reply, latency_s=args.latency)
    server = serve_llm(server_state)
    os.environ[LLM_KEY_ENV] = LLM_KEY  # the test key: the endpoint is local
    with tempfile.TemporaryDirectory() as tmp:
        predictions = write_emer(Path(tmp) / "emer", args.clips)
        argv = ["--predictions", str(predictions), "--dataset", "emer", "--root", str(predictions.parent)]
        argv += ["--judge-url", server_state.url, "--set", f"eval.api_key_env={LLM_KEY_ENV}"]
        runs = {}
        for concurrency in (1, default):
            server_state.peak = 0
            out = Path(tmp) / f"c{concurrency}" / "eri.json"  # its own reply cache, beside it: every request sent
            seconds, result = timed_eval([*argv, "--set", f"eval.llm_concurrency={concurrency}"], out)
            runs[concurrency] = (seconds, result, server_state.peak, out.read_text())
    server.shutdown()
    server.server_close()
    (one, one_result, _, one_file), (many, _, peak, many_file) = runs[1], runs[default]
    assert one_file == many_file, "the result file depends on the concurrency"
    requests = one_result["tasks"]["eri"]["llm"]["calls"]
    body = f"""## LLM-backed evaluation: requests at once

`.venv/bin/python bench/llm_bench.py --clips {args.clips} --latency {args.latency}`: `nanoemox-eval` on a
{args.clips}-clip EMER split (ERI: {requests} judge requests, 4 a clip, none cached) against a local
OpenAI-compatible endpoint that answers every request after {args.latency} s and serves any number at once.

| eval.llm_concurrency | seconds | requests/s | most requests in flight |
|---|---|---|---|
| 1 (one at a time) | {one:.1f} | {requests / one:.1f} | 1 |
| {default} (the default) | {many:.1f} | {requests / many:.1f} | {peak} |

- Speed-up of the default over one at a time: **{one / many:.1f}x** (goal >= 8x). The ERI judge sends its clue
  scores and emotion summaries ({requests * 3 // 4} requests) in one batch and the label scores, which compare
  the summaries, in a second: ceil(n / {default}) waves each.
- Both runs wrote the same result file (scores, per-item order, request counts).
"""
    update_section("llm", body)
    print(body)


if __name__ == "__main__":
    main()
