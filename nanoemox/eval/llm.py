"""An OpenAI-compatible chat client for the LLM-backed metrics: many requests at once, and a disk cache.

The metrics ask in batches (`ask_all`): every prompt of a batch that is not cached goes to the request pool
(`eval/pool.py`: concurrency, rate limit, shared back-off, bounded waits), and the replies come back in the order
of the prompts, so a result does not depend on how many requests were in flight.
The API key is read from the environment variable whose name the caller gives, at request time; it is sent only
in the Authorization header. It is never stored on the client, and it is removed from every reply, error message
and cache entry (a server may echo it), so it cannot reach a log, a traceback, a result or the cache.
Replies are cached as JSON files named by the sha256 of everything that changes the reply (endpoint, model,
sampling settings, the messages and the draw number), each written as it arrives, so a re-run, or a run stopped
half way and started again, asks only what is missing, and another server's answers are never replayed.
"""

import base64
import hashlib
import json
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from nanoemox.config import EvalConfig
from nanoemox.eval.pool import CallStats, Endpoint, LLMError, Pacing, RequestPool, redact
from nanoemox.eval.wheel import split_label_list
from nanoemox.runtime.progress import progress

EXTRACTOR_PROMPT_VERSION = "affectgpt-reason-to-openset-v1"
HOST_NAME = re.compile(r"[\w.\-\[\]:%]+")  # what may stand between // (or @) and the port
log = logging.getLogger(__name__)

__all__ = ["ChatClient", "LLMError", "extract_emotions_llm", "extractor_prompt", "shown_url"]


@dataclass
class ChatClient:
    """POST {url}/chat/completions for batches of prompts; `top_p` and the penalty are sent only if set."""

    url: str
    model: str
    key_env: str | None = "OPENAI_API_KEY"  # the NAME of the variable holding the key; None sends no key
    cache_dir: Path | None = None
    min_interval_s: float = 0.0  # between any two requests, whatever the concurrency
    max_attempts: int = 5
    backoff_s: float = 1.0
    timeout_s: float = 120.0
    concurrency: int = 16
    temperature: float = 0.0
    top_p: float | None = None
    repetition_penalty: float | None = None
    max_tokens: int = 1000
    name: str = "LLM"  # what the progress lines call it: extractor, judge
    stats: CallStats = field(default_factory=CallStats, init=False, repr=False)
    pacing: Pacing = field(default_factory=Pacing, init=False, repr=False)

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
        return self.ask_all([prompt], draw)[0]

    def ask_all(self, prompts: Sequence[str], draw: int = 0) -> list[str]:
        """The replies to many user messages, in their order: cached ones read, the others asked concurrently.

        A prompt given twice is asked once. Raises LLMError when the endpoint refuses a request or stops
        answering; the replies received until then stay in the cache.
        """
        asked = [[{"role": "user", "content": prompt}] for prompt in prompts]
        keys = [self._cache_key(messages, draw) for messages in asked]
        replies: dict[str, str] = {}
        for key in dict.fromkeys(keys):
            cached = self._cached(key)
            if cached is not None:
                replies[key] = cached
        todo = [key for key in dict.fromkeys(keys) if key not in replies]
        self.stats.cached += len(replies)
        log.info(
            f"{self.name} {shown_url(self.url)}: {len(replies) + len(todo)} requests, {len(replies)} cached, "
            f"{len(todo)} to send ({min(self.concurrency, len(todo))} at once)"
        )
        if todo:
            self._send(todo, dict(zip(keys, asked, strict=True)), draw, replies)
        return [replies[key] for key in keys]

    def _send(self, todo: list[str], messages: dict[str, list], draw: int, replies: dict[str, str]) -> None:
        secret = self._key()
        bar = progress(total=len(todo), desc=self.name, unit="req")

        def received(index: int, reply: str) -> None:
            key = todo[index]
            replies[key] = redact(reply, secret)
            self._store(key, messages[key], draw, replies[key], secret)
            bar.update()
            bar.set_postfix_str(f"failed attempts {self.stats.failed}", refresh=False)

        bodies = [self._body(messages[key]) for key in todo]
        try:
            RequestPool(self._endpoint(secret), self.stats, self.pacing).run(bodies, received)
        except LLMError as err:
            kept = sum(key in replies for key in todo)
            if not kept:
                raise
            where = f" and cached in {self.cache_dir}: run the same command again to resume" if self.cache_dir else ""
            raise LLMError(f"{err}; {kept} of {len(todo)} replies received{where}") from None
        finally:
            bar.close()

    def _body(self, messages: list) -> dict:
        body = {"model": self.model, "messages": messages, "temperature": self.temperature}
        body |= {"max_tokens": self.max_tokens}
        optional = {"top_p": self.top_p, "repetition_penalty": self.repetition_penalty}
        return body | {name: value for name, value in optional.items() if value is not None}

    def _endpoint(self, secret: str) -> Endpoint:
        """The request target (user info moved to a Basic header when no key is sent) and the pool's settings."""
        parts = urlsplit(self.url)
        host = parts.netloc.rsplit("@", 1)[-1]
        target = urlunsplit(parts._replace(netloc=host, path=parts.path.rstrip("/") + "/chat/completions"))
        shown = shown_url(target)
        if not HOST_NAME.fullmatch(host) or not _idna_ok(parts.hostname or ""):
            raise LLMError(f"{shown}: request not sent (invalid host name {parts.hostname!r})") from None
        headers = {"Content-Type": "application/json"}
        if secret:
            headers["Authorization"] = f"Bearer {secret}"
        elif parts.username is not None:
            user_info = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(user_info).decode()
        return Endpoint(
            target=target,
            shown=shown,
            headers=headers,
            secret=secret,
            concurrency=self.concurrency,
            timeout_s=self.timeout_s,
            min_interval_s=self.min_interval_s,
            max_attempts=self.max_attempts,
            backoff_s=self.backoff_s,
        )

    def _cache_key(self, messages: list, draw: int) -> str:
        blob = json.dumps({**self.settings(), "url": self.url, "draw": draw, "messages": messages}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def _cached(self, key: str) -> str | None:
        if self.cache_dir is None:
            return None
        path = Path(self.cache_dir) / f"{key}.json"
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))["reply"]
        except (ValueError, KeyError, TypeError):
            path.unlink()  # a damaged cache entry (interrupted write) is asked again
            return None

    def _store(self, key: str, messages: list, draw: int, reply: str, secret: str) -> None:
        if self.cache_dir is None:
            return
        path = Path(self.cache_dir) / f"{key}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {**self.settings(), "draw": draw, "messages": messages, "reply": reply}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(redact(json.dumps(record, ensure_ascii=False, indent=1), secret), encoding="utf-8")
        tmp.replace(path)

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


def _idna_ok(host: str) -> bool:
    """Whether a host name can be sent (every label 1-63 characters once IDNA-encoded); IP literals pass."""
    try:
        host.encode("idna")
    except UnicodeError:
        return False
    return True


def shown_url(url: str) -> str:
    """`url` without user info, query or fragment (they may carry secrets), for messages and results."""
    return re.sub(r"//[^/@]*@", "//", re.split(r"[?#]", url, maxsplit=1)[0])


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


def extract_emotions_llm(client: ChatClient, texts: Sequence[str], draw: int = 0) -> list[list[str]]:
    """The emotion labels an LLM reads from each free text, MER-UniBench's way.

    A reply is a list such as "[happy, relieved]"; its bracketed part is read with AffectGPT's list splitting,
    lower-cased, stripped and deduplicated in order. A reply without brackets is read whole.
    """
    return [_listed_emotions(reply) for reply in client.ask_all([extractor_prompt(text) for text in texts], draw)]


def _listed_emotions(reply: str) -> list[str]:
    reply = reply.strip()
    start, end = reply.find("["), reply.find("]", reply.find("[") + 1)
    listed = reply[start : end + 1] if start != -1 and end != -1 else reply
    return list(dict.fromkeys(word.lower() for word in split_label_list(listed)))


def eval_clients(cfg: EvalConfig, cache_dir: Path | None) -> tuple[ChatClient | None, ChatClient | None]:
    """The configured label extractor and ERI judge (None where no endpoint is set), sharing the concurrency,
    timeout and reply cache of `eval`."""
    common = {"concurrency": cfg.llm_concurrency, "timeout_s": cfg.request_timeout_s, "cache_dir": cache_dir}
    extractor = None
    if cfg.extractor_url:
        extractor = ChatClient(
            cfg.extractor_url,
            cfg.extractor_model,
            cfg.api_key_env,
            temperature=cfg.extractor_temperature,
            top_p=cfg.extractor_top_p,
            repetition_penalty=cfg.extractor_repetition_penalty,
            max_tokens=cfg.extractor_max_tokens,
            name="extractor",
            **common,
        )
    judge = None
    if cfg.judge_url:
        judge = ChatClient(
            cfg.judge_url, cfg.judge_model, cfg.api_key_env, temperature=cfg.judge_temperature, name="judge", **common
        )
    return extractor, judge
