"""The judge / extractor API key never reaches an error, a result or the cache; the cache never replays the
answers of another endpoint, model or setting; bad URLs and key values are one clear line."""

import json
from pathlib import Path

import pytest

from nanoemox.cli.common import run
from nanoemox.cli.eval import main as eval_main
from nanoemox.eval.judge import judge_eri
from nanoemox.eval.llm import ChatClient, LLMError

from conftest import LLM_KEY, LLM_KEY_ENV
from helpers import write_meld_corpus


def client(url: str, cache: Path | None, **options) -> ChatClient:
    return ChatClient(url, "judge-model", key_env=LLM_KEY_ENV, cache_dir=cache, backoff_s=0.01, **options)


def all_text(root: Path) -> str:
    return "".join(path.read_text(errors="replace") for path in root.rglob("*") if path.is_file())


@pytest.mark.parametrize("key", ["sk-SECRET-1\nX-Evil: 1", "sk-SECRET-1 2", "sk-SECRET-1\u00e9", " sk-SECRET-1"])
def test_a_bad_key_value_is_named_by_its_variable_never_shown(llm_servers, monkeypatch, key):
    server = llm_servers()
    monkeypatch.setenv(LLM_KEY_ENV, key)
    with pytest.raises(LLMError) as caught:
        client(server.url, None).ask("hi")
    assert LLM_KEY_ENV in str(caught.value) and "SECRET" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__context__ is None  # no chained traceback to print
    assert not server.requests


@pytest.mark.parametrize(
    "url", ["localhost:8000/v1", "ftp://host/v1", "http://", "http://[::1", "http://127.0.0.1:99999/v1", "judge"]
)
def test_a_bad_endpoint_url_is_one_clear_error(url):
    with pytest.raises(LLMError, match="is not an http\\(s\\) URL"):
        client(url, None)


@pytest.mark.parametrize("url", ["http://exa mple.com/v1", "http://a..b/v1"])
def test_a_url_the_http_library_refuses_is_one_clear_error_without_the_key(llm_servers, url):
    llm_servers()  # sets the key
    with pytest.raises(LLMError, match="request not sent") as caught:
        client(url, None).ask("hi")
    assert LLM_KEY not in str(caught.value) and caught.value.__cause__ is None and caught.value.__suppress_context__


def test_replies_that_echo_the_key_are_redacted_in_results_and_cache(llm_servers, tmp_path):
    server = llm_servers()
    server.responder = lambda prompt: f"Score: 7; Reason: as asked by {server.requests[-1]['auth']}"
    result = judge_eri(client(server.url, tmp_path / "cache"), [("s1", "He smiles.", "He grins.")])
    assert result["clue_overlap"] == 7.0 and result["label_overlap"] == 7.0 and result["mean"] == 7.0
    written = json.dumps(result) + all_text(tmp_path / "cache")
    assert LLM_KEY not in written and "Bearer ***" in written


def test_the_cli_reports_a_bad_key_in_one_line_without_it(llm_servers, tmp_path, monkeypatch, capsys):
    server = llm_servers()
    monkeypatch.setenv(LLM_KEY_ENV, "sk-SECRET-2\r\nInjected: yes")
    corpus = write_meld_corpus(tmp_path / "meld", [{"emotion": "joy", "file": "missing"}])
    predictions = tmp_path / "p.jsonl"
    row = {"id": "dia0_utt0", "task": "mer", "prompt_id": "ov-mer", "output": "The character's emotional state is joy."}
    predictions.write_text(json.dumps(row) + "\n")
    argv = ["--predictions", str(predictions), "--dataset", "meld", "--root", str(corpus)]
    argv += ["--extractor-url", server.url, "--set", f"eval.api_key_env={LLM_KEY_ENV}"]
    assert run(eval_main, argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and LLM_KEY_ENV in err and "SECRET" not in err


def test_the_cli_reports_a_bad_judge_url_in_one_line(tmp_path, capsys):
    corpus = write_meld_corpus(tmp_path / "meld", [{"emotion": "joy", "file": "missing"}])
    predictions = tmp_path / "p.jsonl"
    predictions.write_text(json.dumps({"id": "dia0_utt0", "task": "mer", "output": "joy"}) + "\n")
    argv = ["--predictions", str(predictions), "--dataset", "meld", "--root", str(corpus)]
    assert run(eval_main, [*argv, "--judge-url", "localhost:8000/v1?key=URLSECRET"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not an http(s) URL" in err and "URLSECRET" not in err


def test_the_cache_is_keyed_by_endpoint_model_and_settings(llm_servers, tmp_path):
    first, second = llm_servers(), llm_servers()
    first.responder, second.responder = (lambda prompt: "from the first"), (lambda prompt: "from the second")
    cache = tmp_path / "cache"
    assert client(first.url, cache).ask("q") == "from the first"
    assert client(second.url, cache).ask("q") == "from the second"  # never the first server's answer
    assert client(first.url, cache).ask("q") == "from the first" and len(first.requests) == 1  # a cache hit
    for options, draw in (({"temperature": 0.7}, 0), ({"top_p": 0.8}, 0), ({"max_tokens": 5}, 0), ({}, 1)):
        client(first.url, cache, **options).ask("q", draw)
    assert len(first.requests) == 5  # each setting and each draw asked once more
    other_model = ChatClient(first.url, "other-model", key_env=LLM_KEY_ENV, cache_dir=cache)
    other_model.ask("q")
    assert len(first.requests) == 6 and first.requests[-1]["body"]["model"] == "other-model"


def test_eval_caches_in_the_eval_folder_and_no_cache_asks_again(llm_servers, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    server = llm_servers()
    server.responder = lambda prompt: "[joy]"
    corpus = write_meld_corpus(tmp_path / "meld", [{"emotion": "joy", "file": "missing"}] * 2)
    run_dir = tmp_path / "heads" / "run"
    predictions = run_dir / "predictions" / "meld-test.jsonl"
    predictions.parent.mkdir(parents=True)
    rows = [{"id": f"dia{i}_utt0", "task": "mer", "prompt_id": "ov-mer", "output": "Glad."} for i in range(2)]
    predictions.write_text("".join(json.dumps(row) + "\n" for row in rows))
    argv = ["--predictions", str(predictions), "--dataset", "meld", "--root", str(corpus)]
    argv += ["--extractor-url", server.url, "--set", f"eval.api_key_env={LLM_KEY_ENV}"]
    assert eval_main(argv) == 0
    cache = run_dir / "eval" / "llm-cache"
    assert len(server.requests) == 1 and len(list(cache.glob("*.json"))) == 1  # the same output is asked once
    assert not (tmp_path / "home").exists()
    assert eval_main(argv) == 0 and len(server.requests) == 1  # all from the cache
    # asked again, once for both rows with the same output (as the cache would), nothing kept
    assert eval_main([*argv, "--no-cache"]) == 0 and len(server.requests) == 2
    assert len(list(cache.glob("*.json"))) == 1
    assert LLM_KEY not in all_text(run_dir)


def test_credentials_in_the_url_stay_out_of_results_errors_and_cache(llm_servers, tmp_path):
    server = llm_servers()
    url = server.url.replace("http://", "http://user:URLSECRET@") + "?token=QUERYSECRET"
    chat = client(url, tmp_path / "cache")
    assert chat.ask("q") == "ok" and chat.settings()["url"] == server.url
    assert server.requests[0]["path"] == "/v1/chat/completions?token=QUERYSECRET"
    server.script = [(401, 0.0)]
    with pytest.raises(LLMError, match="HTTP 401") as caught:
        chat.ask("another")
    written = str(caught.value) + json.dumps(chat.settings()) + all_text(tmp_path / "cache")
    assert "URLSECRET" not in written and "QUERYSECRET" not in written
