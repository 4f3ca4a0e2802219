"""A small OpenAI-compatible chat client for the LLM-backed metrics: retries, a rate limit and a disk cache.

The API key is read from the environment variable whose name the caller gives, at request time; it is sent only
in the Authorization header. It is never stored on the client, and it is removed from every reply, error message
and cache entry (a server may echo it), so it cannot reach a log, a traceback, a result or the cache.
Replies are cached as JSON files named by the sha256 of everything that changes the reply (endpoint, model,
sampling settings, the messages and the draw number), so a re-run costs nothing and another server's answers are
never replayed.
"""

import hashlib
import json
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

from nanoemox.eval.errors import EvalError
from nanoemox.eval.wheel import split_label_list

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 60.0
EXTRACTOR_PROMPT_VERSION = "affectgpt-reason-to-openset-v1"


class LLMError(EvalError):
    """An LLM call that failed for good: no key, a bad URL, a refused request, or no answer after every retry."""


@dataclass
class ChatClient:
    """POST {url}/chat/completions, retried on 429, 5xx and network errors; `top_p` and the penalty only if set."""

    url: str
    model: str
    key_env: str | None = "OPENAI_API_KEY"  # the NAME of the variable holding the key; None sends no key
    cache_dir: Path | None = None
    min_interval_s: float = 0.0
    max_attempts: int = 5
    backoff_s: float = 1.0
    timeout_s: float = 120.0
    temperature: float = 0.0
    top_p: float | None = None
    repetition_penalty: float | None = None
    max_tokens: int = 1000
    _last_call: float = field(default=float("-inf"), init=False, repr=False)

    def __post_init__(self) -> None:
        try:
            parts = urlsplit(self.url)
            usable = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
        except ValueError:  # a malformed host or port
            usable = False
        if not usable:
            raise LLMError(
                f"LLM endpoint {shown_url(self.url)!r} is not an http(s) URL (for example http://localhost:8000/v1)"
            )

    def settings(self) -> dict:
        """What the reply depends on besides the messages, recorded in results beside the scores."""
        return {
            "url": shown_url(self.url),
            "model": self.model,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "repetition_penalty": self.repetition_penalty,
            "max_tokens": self.max_tokens,
        }

    def ask(self, prompt: str, draw: int = 0) -> str:
        """The reply to one user message; `draw` numbers independent samples of a stochastic model."""
        return self.chat([{"role": "user", "content": prompt}], draw)

    def chat(self, messages: Sequence[dict[str, str]], draw: int = 0) -> str:
        """The reply to `messages`, from the cache when these settings have answered them before."""
        path = self._cache_path(messages, draw)
        if path is not None and path.is_file():
            try:
                return json.loads(path.read_text(encoding="utf-8"))["reply"]
            except (ValueError, KeyError, TypeError):
                path.unlink()  # a damaged cache entry (interrupted write) is asked again
        key = self._key()
        reply = _redact(self._post(messages, key), key)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            record = {**self.settings(), "draw": draw, "messages": list(messages), "reply": reply}
            tmp.write_text(_redact(json.dumps(record, ensure_ascii=False, indent=1), key), encoding="utf-8")
            tmp.replace(path)
        return reply

    def _cache_path(self, messages: Sequence[dict[str, str]], draw: int) -> Path | None:
        if self.cache_dir is None:
            return None
        blob = json.dumps(
            {**self.settings(), "url": self.url, "draw": draw, "messages": list(messages)}, sort_keys=True
        )
        return Path(self.cache_dir) / f"{hashlib.sha256(blob.encode()).hexdigest()}.json"

    def _key(self) -> str:
        """The API key ('' when none is sent), checked so that no HTTP library error can quote it."""
        if self.key_env is None:
            return ""
        key = os.environ.get(self.key_env, "")
        if not key:
            raise LLMError(
                f"environment variable {self.key_env} is not set: it must hold the API key for {shown_url(self.url)}"
            )
        if not key.isascii() or not key.isprintable() or any(c.isspace() for c in key):
            raise LLMError(
                f"environment variable {self.key_env} holds spaces, control or non-ASCII characters: "
                "not a usable API key (its value is not shown)"
            )
        return key

    def _post(self, messages: Sequence[dict[str, str]], key: str) -> str:
        headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {key}"} if key else {})
        body = {"model": self.model, "messages": list(messages), "temperature": self.temperature}
        body |= {"max_tokens": self.max_tokens}
        body |= {name: value for name in ("top_p", "repetition_penalty") if (value := getattr(self, name)) is not None}
        parts = urlsplit(self.url)
        target = urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/chat/completions"))
        endpoint = shown_url(target)  # what messages name
        problem, response = "", None
        for attempt in range(self.max_attempts):
            if attempt:
                time.sleep(self._retry_delay(attempt, response))
            time.sleep(max(0.0, self._last_call + self.min_interval_s - time.monotonic()))
            self._last_call = time.monotonic()
            try:
                response = requests.post(target, headers=headers, json=body, timeout=self.timeout_s)
            except (requests.Timeout, requests.ConnectionError) as err:
                problem, response = type(err).__name__, None
                continue
            except (requests.RequestException, ValueError) as err:  # a bad URL or header: not retried
                problem = _redact(str(err), key).replace(target, endpoint)
                raise LLMError(f"{endpoint}: request not sent ({problem})") from None
            if response.status_code in RETRY_STATUS:
                problem = f"HTTP {response.status_code}"
                continue
            if response.status_code != 200:
                raise LLMError(
                    f"{endpoint} refused the request: HTTP {response.status_code} {_redact(response.text[:300], key)}"
                )
            return _reply_text(response, endpoint, key)
        raise LLMError(f"{endpoint}: no answer after {self.max_attempts} attempts (last: {problem})")

    def _retry_delay(self, attempt: int, response: requests.Response | None) -> float:
        delay = self.backoff_s * 2 ** (attempt - 1)
        retry_after = response.headers.get("Retry-After") if response is not None else None
        if retry_after and retry_after.replace(".", "", 1).isdigit():  # seconds; an HTTP date keeps the backoff
            delay = max(delay, min(float(retry_after), MAX_RETRY_AFTER_S))
        return delay


def shown_url(url: str) -> str:
    """`url` without user info, query or fragment (they may carry secrets), for messages and results."""
    return re.sub(r"//[^/@]*@", "//", re.split(r"[?#]", url, maxsplit=1)[0])


def _redact(text: str, key: str) -> str:
    """`text` with the key replaced by ***, in case the server echoes it."""
    return text.replace(key, "***") if key else text


def _reply_text(response: requests.Response, endpoint: str, key: str) -> str:
    try:
        content = response.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise LLMError(f"{endpoint}: not an OpenAI chat completion ({_redact(response.text[:300], key)})") from None
    if not isinstance(content, str):
        raise LLMError(f"{endpoint}: the reply has no text content")
    return content


def extractor_prompt(text: str) -> str:
    """MER-UniBench's request to list the emotions a free-text answer names (AffectGPT `reason_to_openset_qwen`)."""
    return (
        "Please assume the role of an expert in the field of emotions. We provide clues that may be related to the "
        "emotions of the characters. Based on the provided clues, please identify the emotional states of the main "
        "character. The main character is the one with the most detailed clues. Please separate different "
        "emotional categories with commas and output only the clearly identifiable emotional categories in a list "
        "format. If none are identified, please output an empty list. "
        "Input: We cannot recognize his emotional state; Output: [] "
        "Input: His emotional state is happy, sad, and angry; Output: [happy, sad, angry] "
        f"Input: {text}; Output: "
    )


def extract_emotions_llm(client: ChatClient, text: str, draw: int = 0) -> list[str]:
    """The emotion labels an LLM reads from free text, MER-UniBench's way.

    The reply is a list such as "[happy, relieved]"; its bracketed part is read with AffectGPT's list splitting,
    lower-cased, stripped and deduplicated in order. A reply without brackets is read whole.
    """
    reply = client.ask(extractor_prompt(text), draw).strip()
    start, end = reply.find("["), reply.find("]", reply.find("[") + 1)
    listed = reply[start : end + 1] if start != -1 and end != -1 else reply
    return list(dict.fromkeys(word.lower() for word in split_label_list(listed)))
