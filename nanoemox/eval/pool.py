"""Many chat requests in flight at once to one endpoint, as vLLM and hosted APIs are meant to be used.

One aiohttp session sends a batch with up to `concurrency` requests at a time. The requests share three things:
the rate limit (`min_interval_s` between any two sends), the back-off (a 429, a 5xx, a timeout or a refused
connection pauses every request, for the server's Retry-After when it gives one) and the count of failures in
a row. A request is tried up to `max_attempts` times; the run stops once `max_attempts + workers - 1` attempts
in a row (workers: the concurrency, fewer for a small batch) have failed with no answer or a 5xx. A whole wave
of requests in flight fails together, so it counts about once: a dead server costs about two timeouts. Each
reply is handed to `on_reply` as it arrives, so what was received before a stop is kept.
"""

import asyncio
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import aiohttp

from nanoemox.eval.errors import EvalError

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_PAUSE_S = 60.0


class LLMError(EvalError):
    """An LLM call that failed for good: no key, a bad URL, a refused request, or no answer after every retry."""


@dataclass
class CallStats:
    """What the requests of a run cost: replies received, replies served from the cache, failed attempts."""

    calls: int = 0
    cached: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"calls": self.calls, "cached": self.cached, "failed": self.failed}


@dataclass
class Pacing:
    """When the next request may go: the rate limit's next slot and the back-off's end (monotonic seconds).
    Kept by the client, so the limits hold across its batches too."""

    next_send: float = 0.0
    paused_until: float = 0.0


@dataclass
class Endpoint:
    """Where requests go and how they are sent; `shown` names it in messages (no credentials), `secret` is
    redacted from every text that leaves the pool."""

    target: str
    shown: str
    headers: dict[str, str]
    secret: str
    concurrency: int
    timeout_s: float
    min_interval_s: float
    max_attempts: int
    backoff_s: float


class RequestPool:
    """Sends a batch of chat-completion bodies under one concurrency limit, rate limit and back-off."""

    def __init__(self, endpoint: Endpoint, stats: CallStats, pacing: Pacing):
        self.endpoint, self.stats, self.pacing = endpoint, stats, pacing
        self.in_a_row = 0  # failed attempts since the last reply (429s not counted: the server answered)
        self.stop_after = 0  # max_attempts + the batch's workers - 1, set when a batch starts
        self.problem = ""

    def run(self, bodies: Sequence[dict], on_reply: Callable[[int, str], None]) -> None:
        """Send every body; `on_reply(index, reply text)` as each answer arrives. Raises LLMError on a stop."""
        if bodies:
            asyncio.run(self._run(bodies, on_reply))

    async def _run(self, bodies: Sequence[dict], on_reply: Callable[[int, str], None]) -> None:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for index in range(len(bodies)):
            queue.put_nowait(index)
        timeout = aiohttp.ClientTimeout(total=self.endpoint.timeout_s)
        connector = aiohttp.TCPConnector(limit=self.endpoint.concurrency)
        count = min(self.endpoint.concurrency, len(bodies))
        self.stop_after = self.endpoint.max_attempts + count - 1
        async with aiohttp.ClientSession(timeout=timeout, connector=connector, trust_env=True) as session:
            workers = [asyncio.create_task(self._worker(session, queue, bodies, on_reply)) for _ in range(count)]
            done, pending = await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            errors = [error for task in done if (error := task.exception()) is not None]  # each one retrieved
            if errors:
                raise errors[0]

    async def _worker(
        self,
        session: aiohttp.ClientSession,
        queue: asyncio.Queue[int],
        bodies: Sequence[dict],
        on_reply: Callable[[int, str], None],
    ) -> None:
        while not queue.empty():
            index = queue.get_nowait()
            on_reply(index, await self._ask(session, bodies[index]))

    async def _ask(self, session: aiohttp.ClientSession, body: dict) -> str:
        """One request's reply, retried; raises LLMError when it is refused or the pool must stop."""
        end = self.endpoint
        for attempt in range(1, end.max_attempts + 1):
            await self._wait_turn()
            status, text, retry_after = await self._send(session, body)
            if status == 200:
                self.in_a_row = 0
                self.stats.calls += 1
                return reply_text(text, end.shown, end.secret)
            if status is not None and status not in RETRY_STATUS:
                raise LLMError(f"{end.shown} refused the request: HTTP {status} {redact(text[:300], end.secret)}")
            self.stats.failed += 1
            self.problem = text if status is None else f"HTTP {status}"
            if status != 429:
                self.in_a_row += 1
            if attempt == end.max_attempts:
                break
            if self.in_a_row >= self.stop_after:
                raise LLMError(f"{end.shown}: {self.stop_after} requests in a row failed (last: {self.problem})")
            delay = min(end.backoff_s * 2 ** (attempt - 1), MAX_PAUSE_S)
            resume = time.monotonic() + max(delay, retry_after)
            self.pacing.paused_until = max(self.pacing.paused_until, resume)
        raise LLMError(f"{end.shown}: no answer after {end.max_attempts} attempts (last: {self.problem})")

    async def _wait_turn(self) -> None:
        """Wait out the pool's back-off, then take the next send slot of the rate limit."""
        while (wait := self.pacing.paused_until - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        now = time.monotonic()
        send_at = max(now, self.pacing.next_send)
        self.pacing.next_send = send_at + self.endpoint.min_interval_s
        if send_at > now:
            await asyncio.sleep(send_at - now)

    async def _send(self, session: aiohttp.ClientSession, body: dict) -> tuple[int | None, str, float]:
        """(HTTP status, body text, Retry-After seconds); status None with what happened when nothing came back."""
        end = self.endpoint
        try:
            async with session.post(end.target, json=body, headers=end.headers) as response:
                return response.status, await response.text(errors="replace"), retry_after_s(response.headers)
        except (TimeoutError, asyncio.TimeoutError):  # the same class from Python 3.11 on
            return None, f"timed out after {end.timeout_s:g} s", 0.0
        except aiohttp.ClientConnectorError as err:
            return None, f"connection failed ({redact(str(err.os_error), end.secret)})", 0.0
        except aiohttp.ClientConnectionError as err:  # closed or reset by the server
            return None, f"{type(err).__name__} ({redact(str(err), end.secret)})", 0.0
        except (aiohttp.ClientError, ValueError) as err:  # a URL or header the HTTP library refuses: not retried
            problem = redact(str(err), end.secret).replace(end.target, end.shown)
            raise LLMError(f"{end.shown}: request not sent ({problem})") from None


def retry_after_s(headers: Mapping[str, str]) -> float:
    """The Retry-After header in seconds (an HTTP date, or none: 0), capped at MAX_PAUSE_S."""
    value = headers.get("Retry-After", "")
    return min(float(value), MAX_PAUSE_S) if value.replace(".", "", 1).isdigit() else 0.0


def redact(text: str, secret: str) -> str:
    """`text` with the secret replaced by ***, in case the server echoes it."""
    return text.replace(secret, "***") if secret else text


def reply_text(text: str, endpoint: str, secret: str) -> str:
    """The message content of an OpenAI chat completion."""
    try:
        content = json.loads(text)["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise LLMError(f"{endpoint}: not an OpenAI chat completion ({redact(text[:300], secret)})") from None
    if not isinstance(content, str):
        raise LLMError(f"{endpoint}: the reply has no text content")
    return content
