import time

import pytest

from nanoemox.eval.errors import EvalError
from nanoemox.eval.judge import judge_eri, parse_score
from nanoemox.eval.llm import ChatClient, LLMError, extract_emotions_llm
from nanoemox.eval.msa import sentiment_llm

from conftest import LLM_KEY as KEY
from conftest import LLM_KEY_ENV as KEY_ENV
from conftest import FakeLLM


def client(fake: FakeLLM, tmp_path, **options) -> ChatClient:
    return ChatClient(fake.url, "judge-model", key_env=KEY_ENV, cache_dir=tmp_path / "cache", backoff_s=0.01, **options)


def all_file_text(root) -> str:
    return "".join(path.read_text(errors="replace") for path in root.rglob("*") if path.is_file())


def test_retries_a_500_then_caches_and_never_writes_the_key(fake_llm, tmp_path):
    fake_llm.script = [(500, 0.0)]
    fake_llm.responder = lambda prompt: f"echo: {prompt}"
    chat = client(fake_llm, tmp_path)
    assert chat.ask("hello") == "echo: hello"
    assert len(fake_llm.requests) == 2  # the 500, then the success
    first = fake_llm.requests[0]
    assert first["path"] == "/v1/chat/completions"
    assert first["auth"] == f"Bearer {KEY}"
    assert first["body"]["model"] == "judge-model" and first["body"]["messages"] == [
        {"role": "user", "content": "hello"}
    ]
    assert chat.ask("hello") == "echo: hello"
    assert len(fake_llm.requests) == 2  # the second call is a cache hit
    assert len(list((tmp_path / "cache").glob("*.json"))) == 1
    assert KEY not in all_file_text(tmp_path) and KEY not in repr(chat)
    # a fresh client with the same cache folder answers without the network
    assert client(fake_llm, tmp_path).ask("hello") == "echo: hello" and len(fake_llm.requests) == 2


def test_retries_timeouts_and_gives_up_with_a_clear_error(fake_llm, tmp_path):
    fake_llm.script = [(200, 1.0)]
    assert client(fake_llm, tmp_path, timeout_s=0.3).ask("slow") == "ok"
    fake_llm.script = [(503, 0.0)] * 3
    with pytest.raises(LLMError, match=r"no answer after 3 attempts \(last: HTTP 503\)"):
        client(fake_llm, tmp_path, max_attempts=3).ask("down")


def test_refused_request_error_hides_the_key(fake_llm, tmp_path):
    fake_llm.script = [(401, 0.0)]
    with pytest.raises(LLMError, match="HTTP 401") as caught:
        client(fake_llm, tmp_path).ask("hi")
    assert KEY not in str(caught.value) and "***" in str(caught.value)
    assert len(fake_llm.requests) == 1  # a 401 is not retried


def test_missing_key_variable_is_named(fake_llm, tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(LLMError, match=f"environment variable {KEY_ENV} is not set"):
        client(fake_llm, tmp_path).ask("hi")
    assert not fake_llm.requests


def test_rate_limit_spaces_network_calls(fake_llm, tmp_path):
    chat = client(fake_llm, tmp_path, min_interval_s=0.3)
    start = time.monotonic()
    chat.ask("one")
    chat.ask("two")
    assert time.monotonic() - start >= 0.3


def test_extract_emotions_llm_reads_the_list(fake_llm, tmp_path):
    fake_llm.responder = lambda prompt: "Output: [Happy, relieved, happy]" if "got the job" in prompt else "[]"
    chat = client(fake_llm, tmp_path)
    texts = ["She smiles: she got the job.", "Nothing to see."]
    assert extract_emotions_llm(chat, texts) == [["happy", "relieved"], []]
    assert sorted("got the job" in r["body"]["messages"][0]["content"] for r in fake_llm.requests) == [False, True]


def test_sentiment_llm_maps_other_replies_to_neutral(fake_llm, tmp_path):
    fake_llm.responder = lambda prompt: "Positive." if "[happy]" in prompt else "mixed feelings"
    chat = client(fake_llm, tmp_path)
    assert sentiment_llm(chat, [["happy"], ["sad", "happy"]]) == [1, 0]


@pytest.mark.parametrize(
    ("reply", "score"),
    [("Score: 7; Reason: close", 7.0), ("'预测分数'：8.5；'原因'：...", 8.5), ("10", 10.0), ("I rate it 3 of 10", 3.0)],
)
def test_parse_score(reply, score):
    assert parse_score(reply) == score


@pytest.mark.parametrize("reply", ["no idea", "Score: 0", "Score: 42", ""])
def test_parse_score_rejects(reply):
    assert parse_score(reply) is None


def judge_responder(prompt: str) -> str:
    if "Reference description:" in prompt:
        return "I cannot judge this." if "GARBLED" in prompt else "Score: 8; Reason: similar clues"
    if "Reference emotions:" in prompt:
        return "Score: 6; Reason: partly" if "nervous" in prompt else "Score: 9; Reason: same"
    return "nervous" if "worried" in prompt else "happy"  # the emotion summaries


def test_judge_eri_scores_and_reports_failures(fake_llm, tmp_path):
    fake_llm.responder = judge_responder
    items = [
        ("s1", "He smiles: happy.", "He grins, happy."),  # clue 8; label happy vs happy: 9
        ("s2", "He smiles: happy.", "He looks worried."),  # clue 8; label happy vs nervous: 6
        ("s3", "He smiles: happy.", "GARBLED"),  # clue unparseable; label 9
    ]
    result = judge_eri(client(fake_llm, tmp_path), items, "english")
    assert result["n"] == 3
    assert result["clue_overlap"] == pytest.approx(8.0) and result["n_clue_overlap"] == 2
    assert result["label_overlap"] == pytest.approx((9 + 6 + 9) / 3) and result["n_label_overlap"] == 3
    assert result["failed"] == [{"id": "s3", "metric": "clue_overlap", "reply": "I cannot judge this."}]
    assert result["items"][1] == {"id": "s2", "clue_overlap": 8.0, "label_overlap": 6.0}
    # the reference's emotion summary is asked once and then served from the cache
    summaries = [r for r in fake_llm.requests if "Description: He smiles" in r["body"]["messages"][0]["content"]]
    assert len(summaries) == 1


def test_judge_eri_input_errors(fake_llm, tmp_path):
    with pytest.raises(EvalError, match="given more than once: a"):
        judge_eri(client(fake_llm, tmp_path), [("a", "x", "y"), ("a", "x", "z")])
    with pytest.raises(EvalError, match="no ERI items"):
        judge_eri(client(fake_llm, tmp_path), [])
    with pytest.raises(EvalError, match="unknown judge prompt set 'french'"):
        judge_eri(client(fake_llm, tmp_path), [("a", "x", "y")], "french")
