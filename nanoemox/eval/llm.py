"""A small OpenAI-compatible chat client for the LLM-judged metrics: retries, a rate limit and a disk cache.

The API key is read from the environment variable whose name the caller gives, at request time; it is sent
only in the Authorization header and is never stored on the client, logged, cached or put in an error message.
Replies are cached as JSON files named by the sha256 of the model and the messages, so a re-run costs nothing.
"""

import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import requests

from nanoemox.eval.errors import EvalError
from nanoemox.eval.wheel import split_label_list

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 60.0


class LLMError(EvalError):
    """An LLM call that failed for good: no key, a refused request, or no answer after every retry."""


@dataclass
class ChatClient:
    """POST {url}/chat/completions with deterministic sampling, retried on 429, 5xx and network errors."""

    url: str
    model: str
    key_env: str | None = "OPENAI_API_KEY"  # the NAME of the variable holding the key; None sends no key
    cache_dir: Path | None = None
    min_interval_s: float = 0.0
    max_attempts: int = 5
    backoff_s: float = 1.0
    timeout_s: float = 120.0
    temperature: float = 0.0
    max_tokens: int = 1000
    _last_call: float = field(default=float("-inf"), init=False, repr=False)

    def ask(self, prompt: str) -> str:
        """The reply to one user message."""
        return self.chat([{"role": "user", "content": prompt}])

    def chat(self, messages: Sequence[dict[str, str]]) -> str:
        """The reply to `messages`, from the cache when this model has answered them before."""
        path = self._cache_path(messages)
        if path is not None and path.is_file():
            try:
                return json.loads(path.read_text(encoding="utf-8"))["reply"]
            except (ValueError, KeyError, TypeError):
                path.unlink()  # a damaged cache entry (interrupted write) is asked again
        reply = self._post(messages)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            record = {"model": self.model, "messages": list(messages), "reply": reply}
            tmp.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
            tmp.replace(path)
        return reply

    def _cache_path(self, messages: Sequence[dict[str, str]]) -> Path | None:
        if self.cache_dir is None:
            return None
        blob = json.dumps({"model": self.model, "messages": list(messages)}, sort_keys=True, ensure_ascii=False)
        return Path(self.cache_dir) / f"{hashlib.sha256(blob.encode()).hexdigest()}.json"

    def _headers(self) -> tuple[dict[str, str], str]:
        headers = {"Content-Type": "application/json"}
        if self.key_env is None:
            return headers, ""
        key = os.environ.get(self.key_env, "")
        if not key:
            raise LLMError(f"environment variable {self.key_env} is not set: it must hold the API key for {self.url}")
        headers["Authorization"] = f"Bearer {key}"
        return headers, key

    def _post(self, messages: Sequence[dict[str, str]]) -> str:
        headers, key = self._headers()
        body = {
            "model": self.model,
            "messages": list(messages),
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        endpoint = self.url.rstrip("/") + "/chat/completions"
        problem, response = "", None
        for attempt in range(self.max_attempts):
            if attempt:
                time.sleep(self._retry_delay(attempt, response))
            time.sleep(max(0.0, self._last_call + self.min_interval_s - time.monotonic()))
            self._last_call = time.monotonic()
            try:
                response = requests.post(endpoint, headers=headers, json=body, timeout=self.timeout_s)
            except (requests.Timeout, requests.ConnectionError) as err:
                problem, response = type(err).__name__, None
                continue
            if response.status_code in RETRY_STATUS:
                problem = f"HTTP {response.status_code}"
                continue
            if response.status_code != 200:
                raise LLMError(f"{endpoint} refused the request: HTTP {response.status_code} {_redact(response, key)}")
            return _reply_text(response, endpoint, key)
        raise LLMError(f"{endpoint}: no answer after {self.max_attempts} attempts (last: {problem})")

    def _retry_delay(self, attempt: int, response: requests.Response | None) -> float:
        delay = self.backoff_s * 2 ** (attempt - 1)
        retry_after = response.headers.get("Retry-After") if response is not None else None
        if retry_after and retry_after.replace(".", "", 1).isdigit():  # seconds; an HTTP date keeps the backoff
            delay = max(delay, min(float(retry_after), MAX_RETRY_AFTER_S))
        return delay


def _redact(response: requests.Response, key: str) -> str:
    """The start of a response body, with the key removed in case the server echoes it."""
    text = response.text[:300]
    return text.replace(key, "***") if key else text


def _reply_text(response: requests.Response, endpoint: str, key: str) -> str:
    try:
        content = response.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as err:
        raise LLMError(f"{endpoint}: not an OpenAI chat completion ({_redact(response, key)})") from err
    if not isinstance(content, str):
        raise LLMError(f"{endpoint}: the reply has no text content")
    return content


def extract_emotions_llm(client: ChatClient, text: str) -> list[str]:
    """The emotion labels an LLM reads from free text, MER-UniBench's way (AffectGPT `reason_to_openset_qwen`).

    The reply is a list such as "[happy, relieved]"; its bracketed part is read with AffectGPT's list splitting,
    lower-cased, stripped and deduplicated in order. A reply without brackets is read whole.
    """
    prompt = (
        "You are an expert in emotion analysis. The text below gives clues about the emotions of the people in "
        "it. Identify the emotional states of the main character, the one the clues describe in most detail. "
        "Output only the emotion categories that are clearly identifiable, as a list with commas between them. "
        "Output an empty list if there are none.\n"
        "Text: The clues do not reveal how he feels. Output: []\n"
        "Text: He feels happy but also a little sad and angry. Output: [happy, sad, angry]\n"
        f"Text: {text} Output: "
    )
    reply = client.ask(prompt).strip()
    start, end = reply.find("["), reply.find("]", reply.find("[") + 1)
    listed = reply[start : end + 1] if start != -1 and end != -1 else reply
    return list(dict.fromkeys(word.lower() for word in split_label_list(listed)))
