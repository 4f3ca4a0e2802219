"""Many LLM requests at once: the same results as one at a time, a shared back-off, bounded waits that keep
what was received."""

import hashlib
import itertools
import json
import time
from pathlib import Path

from nanoemox.cli.common import run
from nanoemox.cli.eval import main as eval_main
from nanoemox.eval.llm import ChatClient

from conftest import LLM_KEY_ENV, FakeLLM

CLIPS = 12


def judge_reply(prompt: str) -> str:
    """A deterministic judge: a score, or an emotion summary, that depends on the prompt only."""
    digest = hashlib.sha256(prompt.encode()).hexdigest()
    if "《真实描述》" in prompt or "《真实情感》" in prompt:
        return f"'预测分数'：{1 + int(digest, 16) % 10}；'原因'：..."
    return f"情感 {digest[:8]}"


def emer(tmp_path: Path, clips: int = CLIPS) -> tuple[Path, Path]:
    """An EMER ground truth (the published gt-eng.csv layout) and our predictions for it."""
    root = tmp_path / "emer"
    root.mkdir()
    rows = ["names,emotions,subtitles,reasons"]
    rows += [f'sample_{i},happy,Line {i}.,"He smiles, clip {i % 4}."' for i in range(clips)]
    (root / "gt-eng.csv").write_text("\n".join(rows) + "\n")
    predictions = tmp_path / "eri.jsonl"
    lines = [{"id": f"sample_{i}", "task": "eri", "output": f"He grins ({i % 5})."} for i in range(clips)]
    predictions.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return root, predictions


def test_concurrency_gives_the_same_result_file_as_one_at_a_time(llm_servers, tmp_path):
    root, predictions = emer(tmp_path)
    server = llm_servers()
    server.responder, server.latency_s = judge_reply, 0.05
    argv = ["--predictions", str(predictions), "--dataset", "emer", "--root", str(root), "--judge-url", server.url]
    argv += ["--set", f"eval.api_key_env={LLM_KEY_ENV}"]
    written = {}
    for concurrency in (1, 8):
        server.peak = 0
        out = tmp_path / f"c{concurrency}" / "eri.json"  # each run its own cache (beside its results)
        assert eval_main([*argv, "--set", f"eval.llm_concurrency={concurrency}", "--out", str(out)]) == 0
        written[concurrency] = out.read_text()
        assert server.peak == concurrency
    assert written[1] == written[8]
    scores = json.loads(written[8])["tasks"]["eri"]
    assert [item["id"] for item in scores["items"]] == [f"sample_{i}" for i in range(CLIPS)]
    # 12 clue scores, 4 distinct reference summaries, 5 distinct predicted ones, then 12 label scores
    assert scores["llm"] == {"calls": 12 + 4 + 5 + 12, "cached": 0, "failed": 0}
    assert len(server.requests) == 2 * 33
    out = tmp_path / "c8" / "eri.json"
    assert eval_main([*argv, "--out", str(out)]) == 0  # the same command again: all from the cache
    assert json.loads(out.read_text())["tasks"]["eri"]["llm"] == {"calls": 0, "cached": 33, "failed": 0}


def test_a_429_storm_pauses_the_whole_pool_and_completes(fake_llm: FakeLLM, tmp_path):
    fake_llm.script = [(429, 0.0)] * 6
    fake_llm.retry_after = "0.3"
    fake_llm.responder = lambda prompt: f"re: {prompt}"
    chat = ChatClient(fake_llm.url, "m", LLM_KEY_ENV, backoff_s=0.01, concurrency=4, name="judge")
    prompts = [f"q{i}" for i in range(8)]
    assert chat.ask_all(prompts) == [f"re: {p}" for p in prompts]
    arrivals = sorted(request["at"] for request in fake_llm.requests)
    # 4 refused at once; nobody asks again before the server's Retry-After has passed, then 2 more are refused
    assert len(arrivals) == 8 + 6 and arrivals[3] - arrivals[0] < 0.2
    assert arrivals[4] - arrivals[3] >= 0.29
    assert chat.stats.as_dict() == {"calls": 8, "cached": 0, "failed": 6}


def test_min_interval_is_one_rate_limit_for_the_whole_pool(fake_llm, tmp_path):
    chat = ChatClient(fake_llm.url, "m", LLM_KEY_ENV, min_interval_s=0.1, concurrency=8)
    chat.ask_all([f"q{i}" for i in range(5)])
    arrivals = sorted(request["at"] for request in fake_llm.requests)
    assert all(later - earlier >= 0.09 for earlier, later in itertools.pairwise(arrivals))


def published_eri_files(tmp_path: Path, clips: int) -> tuple[Path, Path]:
    gt = tmp_path / "gt-eng.csv"
    rows = "".join(f"s{i},happy,Hi.,He smiles {i}.\n" for i in range(clips))
    gt.write_text("names,emotions,subtitles,reasons\n" + rows)
    pred = tmp_path / "system" / "system.csv"
    pred.parent.mkdir()
    pred.write_text("names,pred_label,chi_reasons\n" + "".join(f"s{i},,He grins {i}.\n" for i in range(clips)))
    return gt, pred


def test_a_judge_that_never_answers_stops_in_bounded_time_and_the_same_command_resumes(llm_servers, tmp_path, capsys):
    gt, pred = published_eri_files(tmp_path, 4)
    server = llm_servers()
    server.responder = judge_reply
    server.script = [(200, 0.0)] * 5 + [(200, 60.0)] * 40  # five answers, then requests accepted and never answered
    argv = ["eri", "--gt", str(gt), "--pred", str(pred), "--judge-url", server.url]
    argv += ["--set", f"eval.api_key_env={LLM_KEY_ENV}", "--set", "eval.llm_concurrency=4"]
    started = time.monotonic()
    assert run(eval_main, [*argv, "--set", "eval.request_timeout_s=0.5"]) == 2
    # two waves of 4 requests time out (0.5 s each, 1 s back-off between): 5 + 4 - 1 failures in a row
    assert time.monotonic() - started < 4.0
    error = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert len(error) == 1 and f"{server.url}/chat/completions: 8 requests in a row failed" in error[0]
    assert "(last: timed out after 0.5 s); 5 of 12 replies received and cached in" in error[0]
    assert "run the same command again to resume" in error[0]
    cache = pred.parent / "llm-cache"
    assert len(list(cache.glob("*.json"))) == 5
    with server.lock:
        server.script = []
    assert run(eval_main, [*argv, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["llm"] == {"calls": 7 + 4, "cached": 5, "failed": 0} and result["n"] == 4
