"""``openai:MODEL@BASE_URL``: any OpenAI-compatible chat endpoint (vLLM, SGLang, TGI, llama.cpp, APIs).

Items go to ``/v1/chat/completions`` (prompt style chat or auto); with ``--mlb-prompt-style=completion``
they go to ``/v1/completions`` as a one-shot plain-text prompt with stop strings (``prompting.py``),
for base models served without a chat template. Judge questions always go as chat.

httpx's interface on the aiohttp transport: httpx's own pool costs several ms of CPU per request
at high concurrency (encode/httpx#3215), the aiohttp transport about 1 ms, which keeps the
client off the critical path. Retries are bounded, back off with full jitter and honour
``Retry-After``; 4xx other than 408/429 are not retried and say what to fix. Each attempt first
waits for a slot of the adaptive limiter (``concurrency.py``): timeouts and HTTP 429 or 503 (the
server says it is overloaded) lower the number of attempts in flight, successes raise it again, and
the wait for a slot is no part of the timeout. 500, 502 and 504 are plain retries.

Streaming, and why (issue 17): a server with few slots queues requests, and a timeout on the whole
request counts that queue, so queued requests time out and are sent again while the server still
works on them. Requests therefore go with ``"stream": true``, and the timeout is split where the
stream shows it (:class:`Timeouts`): a *queue* budget until the first streamed event (the server
started answering), then an *idle* budget between events and a *cap* on the whole answer that grows
with ``max_tokens``. A server that refuses ``stream`` (HTTP 400/422 where the same request without it
succeeds) or answers it with a plain JSON body is then asked without streaming for the rest of the
run, under the old single timeout.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import json
import random
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from .base import Generation, GenerationRequest, ModelError
from .concurrency import AdaptiveLimiter, Outcome
from .credentials import redact, redact_url, strip_userinfo
from .prompting import check_style, completion_prompt, completion_stops
from .reasoning import strip_reasoning
from .revision import openai_revision

_JSON = {"Content-Type": "application/json"}

_HINTS = {
    400: "the endpoint rejected the request (check the model name and sampling parameters)",
    401: "authentication failed: set OPENAI_API_KEY or MLB_API_KEY",
    403: "access denied for this key or model",
    404: "not found: check that BASE_URL ends with /v1 and that the model name is served there",
    413: "request too large for the endpoint",
    422: "the endpoint could not process the request (unsupported parameter?)",
}


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 4
    backoff_base_s: float = 0.5
    backoff_max_s: float = 20.0
    retry_after_cap_s: float = 120.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(max, base * 2**attempt)], so retries do not stampede."""
        return rng.uniform(0, min(self.backoff_max_s, self.backoff_base_s * 2**attempt))


@dataclass(frozen=True)
class Timeouts:
    """Where a streamed attempt may wait, and how long: derived from ``--mlb-timeout`` (``answer_s``).

    * ``queue_s``, until the first streamed event: the server's queue and the prompt's prefill. It is
      ``--mlb-timeout`` but never under a minute: a short ``--mlb-timeout`` is meant for slow answers,
      and a wait in a busy server's queue is not the model being slow; giving up there only sends the
      request to the back of the same queue again.
    * ``idle_s``, between events once it streams: ``--mlb-timeout`` but at most 30 s (a stalled stream).
    * the cap on the answer, from the first event to the last: ``--mlb-timeout``, or ``max_tokens`` at
      ``token_s`` (4 tokens/s, the slowest decoding waited for) when that is longer.

    Without streaming one request cannot tell the queue from the answer: ``answer_s`` bounds it all.
    """

    answer_s: float = 120.0
    queue_s: float = 120.0
    idle_s: float = 30.0
    token_s: float = 0.25

    @classmethod
    def from_timeout(cls, timeout_s: float, queue_s: float | None = None, idle_s: float | None = None) -> Timeouts:
        return cls(
            answer_s=timeout_s,
            queue_s=queue_s if queue_s is not None else max(timeout_s, QUEUE_MIN_S),
            idle_s=idle_s if idle_s is not None else min(timeout_s, IDLE_MAX_S),
        )

    def cap_s(self, max_tokens: int | None) -> float:
        """The longest a streamed answer may take after its first event."""
        return max(self.answer_s, (max_tokens or CAP_TOKENS) * self.token_s)


QUEUE_MIN_S = 60.0
IDLE_MAX_S = 30.0
CAP_TOKENS = 4096  # the cap's token count when the request sets no max_tokens


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def _excerpt(text: str, n: int = 160) -> str:
    text = redact(" ".join(text.split()))
    return text if len(text) <= n else text[:n] + "…"


def _transport_error(exc: httpx.TransportError, base_url: str, timeout_s: float) -> ModelError:
    """Name the real cause: the aiohttp transport reports a dropped connection as ConnectTimeout."""
    cause = exc.__cause__
    cause_name = type(cause).__name__ if cause is not None else ""
    if cause_name == "ServerDisconnectedError":
        return ModelError("transport", f"{base_url} closed the connection without a response", retryable=True)
    if cause_name in ("ClientConnectorError", "ClientOSError") or isinstance(exc, httpx.ConnectError):
        return ModelError("transport", f"cannot connect to {base_url}: {_excerpt(str(cause or exc))}", retryable=True)
    if isinstance(exc, httpx.TimeoutException) and (cause is None or "Timeout" in cause_name):
        return ModelError("timeout", f"no answer within {timeout_s:.0f} s from {base_url}", retryable=True)
    detail = _excerpt(str(cause or exc)) or "connection dropped"
    return ModelError(
        "transport", f"connection to {base_url} failed: {cause_name or type(exc).__name__}: {detail}", retryable=True
    )


class _StreamCollector:
    """The events of one streamed answer, joined into what a plain answer carries (text, usage, fingerprint).

    Only ``data:`` lines are events; comments (``: ping``, sent by some gateways while a request waits)
    and blank lines are not progress. Each event is one JSON chunk, as every OpenAI-compatible server
    sends them: ``choices[0].delta.content`` (chat) or ``choices[0].text`` (completions); the usage
    comes in the last chunk when ``stream_options.include_usage`` was honoured (else it stays None).
    """

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.usage: dict[str, Any] | None = None
        self.fingerprint: str | None = None
        self.finish: str | None = None
        self.done = False  # data: [DONE] came

    def feed(self, line: str) -> bool:
        """One line of the stream; True when it was an event (the server is answering)."""
        if not line.startswith("data:"):
            return False
        data = line[5:].strip()
        if data == "[DONE]":
            self.done = True
            return True
        try:
            chunk = json.loads(data)
        except ValueError:
            raise ModelError(
                "protocol", f"a streamed event is not JSON: {_excerpt(data, 80)}", retryable=True
            ) from None
        if not isinstance(chunk, dict):
            raise ModelError("protocol", f"a streamed event is not an object: {_excerpt(data, 80)}", retryable=True)
        if chunk.get("error") is not None:  # vLLM and OpenAI end a failed stream with an error event
            raise ModelError("http", f"the stream ended with an error: {_excerpt(data)}", retryable=True)
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        if isinstance(chunk.get("system_fingerprint"), str) and chunk["system_fingerprint"]:
            self.fingerprint = chunk["system_fingerprint"]
        choices = chunk.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            choice = choices[0]
            delta = choice.get("delta")
            content = delta.get("content") if isinstance(delta, dict) else choice.get("text")
            if content is not None and not isinstance(content, str):
                raise ModelError("protocol", f"a streamed delta.content is {type(content).__name__}, not text")
            if content:
                self.parts.append(content)
            if isinstance(choice.get("finish_reason"), str):
                self.finish = choice["finish_reason"]
        return True

    def result(self, base_url: str) -> tuple[str, dict[str, Any] | None, str | None]:
        """(text, usage, fingerprint); a stream cut before its end is a retryable transport error."""
        if not self.done and self.finish is None:
            raise ModelError("transport", f"{base_url} ended the stream before the answer was complete", retryable=True)
        return "".join(self.parts), self.usage, self.fingerprint


def _make_transport(limit: int) -> httpx.AsyncBaseTransport:
    try:
        from httpx_aiohttp import AiohttpTransport
    except ImportError:  # the plain httpx pool still works, only slower at high concurrency
        return httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=limit))
    return AiohttpTransport(limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit))


class OpenAIChatModel:
    """Chat completions over HTTP with pooled connections, timeouts and bounded retries.

    ``stream`` (default on) asks for SSE and times the attempt in phases (:class:`Timeouts`);
    ``queue_timeout_s`` and ``idle_timeout_s`` override the budgets derived from ``timeout_s``.
    ``adaptive=False`` holds the limit of attempts in flight at ``max_connections``.
    """

    cacheable = True

    def __init__(
        self,
        model: str,
        base_url: str,
        api_key: str | None = None,
        timeout_s: float = 120.0,
        retry: RetryPolicy | None = None,
        max_connections: int = 64,
        seed: int = 0,
        prompt_style: str = "chat",
        adaptive: bool = True,
        stream: bool = True,
        queue_timeout_s: float | None = None,
        idle_timeout_s: float | None = None,
    ) -> None:
        self.model = model
        self.requested_prompt_style = check_style(prompt_style)
        self.prompt_style = "completion" if prompt_style == "completion" else "chat"  # auto: the chat endpoint
        self._url = base_url.rstrip("/")  # may hold user:password@ (httpx sends it as basic auth)
        self.base_url = redact_url(self._url)  # what messages show
        self.identity = f"openai:{model}@{strip_userinfo(self._url)}"
        self.timeout_s = timeout_s
        self.timeouts = Timeouts.from_timeout(timeout_s, queue_timeout_s, idle_timeout_s)
        self.streaming = stream  # turned off for the rest of the run when the server does not stream
        self.retry = retry or RetryPolicy()
        self._rng = random.Random(seed)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        parts = urlsplit(self._url)
        if not api_key and (parts.username or parts.password):  # a gateway's basic auth, given in the URL
            pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        self.fingerprints: set[str] = set()  # system_fingerprint values the server sent this run
        # attempts in flight: max_connections at most, fewer while the server times out or answers 429
        self.limiter = AdaptiveLimiter(max_connections, adaptive=adaptive)
        self._client = httpx.AsyncClient(
            base_url=strip_userinfo(self._url) + "/",
            headers=headers,
            # every phase is timed with asyncio.timeout below; httpx only bounds the connect
            timeout=httpx.Timeout(None, connect=min(timeout_s, 15.0)),
            transport=_make_transport(max_connections),
        )

    async def revision(self) -> str | None:
        """The server's ``/v1/models`` entry for this model (None when it does not list it).

        A server that cannot be reached here is not an error yet: the requests will say why.
        """
        try:
            async with asyncio.timeout(min(self.timeout_s, 15.0)):
                resp = await self._client.get("models")
            if resp.status_code != 200:
                return None
            return openai_revision(resp.json(), self.model)
        except (TimeoutError, httpx.HTTPError, ValueError):
            return None

    async def generate(self, request: GenerationRequest) -> Generation:
        completion = self.prompt_style == "completion" and request.prompt is None
        stops = completion_stops(request.item) if completion else []
        if completion:
            body: dict[str, Any] = {
                "model": self.model,
                "prompt": completion_prompt(request.item, request.messages),
                "stop": stops,
                **request.params,
            }
        else:
            body = {"model": self.model, "messages": request.messages, **request.params}
        route = "completions" if completion else "chat/completions"
        started = time.perf_counter()
        attempt = 0
        while True:
            attempt += 1
            try:
                text, usage = await self._limited(body, route)
            except ModelError as err:
                err.attempts = attempt
                if not err.retryable or attempt > self.retry.max_retries:
                    raise
                wait = err.extra.get("retry_after")
                if wait is None:
                    wait = self.retry.backoff(attempt, self._rng)
                elif wait > self.retry.retry_after_cap_s:
                    err.message += (
                        f"; server asks to wait {wait:.0f} s, more than the {self.retry.retry_after_cap_s:.0f} s cap"
                    )
                    raise
                await asyncio.sleep(wait)
                continue
            for stop in stops:  # servers that ignore "stop" still get their answer cut
                if stop in text:
                    text = text[: text.index(stop)]
            return Generation(
                text=strip_reasoning(text),
                raw=text,
                latency_s=time.perf_counter() - started,
                attempts=attempt,
                usage=usage,
            )

    async def _limited(self, body: dict[str, Any], route: str) -> tuple[str, dict[str, Any] | None]:
        """One attempt inside the limiter; a timeout, 429 or 503 tells it the server is overloaded."""
        token = await self.limiter.acquire()  # queued here, not at the server: no timeout runs yet
        outcome: Outcome = "neutral"
        try:
            result = await self._attempt(body, route)
            outcome = "success"
            return result
        except ModelError as err:
            if err.kind == "timeout":
                outcome = "timeout"
            elif err.status in (429, 503):
                outcome = "rate_limit"
            raise
        finally:
            self.limiter.release(token, outcome)

    async def _attempt(self, body: dict[str, Any], route: str) -> tuple[str, dict[str, Any] | None]:
        """Streamed while the server streams; a server that refuses ``stream`` is asked once more without it."""
        if not self.streaming:
            return await self._once(self._payload(body, stream=False), route)
        try:
            return await self._streamed(body, route)
        except ModelError as err:
            if err.status not in (400, 422):
                raise
            refused = err
        try:
            result = await self._once(self._payload(body, stream=False), route)
        except ModelError as err:
            if err.status in (400, 422):  # refused without streaming too: the request itself is at fault
                raise refused from None
            raise
        self.streaming = False  # the same request without stream worked: the server cannot stream
        return result

    @staticmethod
    def _payload(body: dict[str, Any], stream: bool) -> bytes:
        if stream:
            body = {**body, "stream": True, "stream_options": {"include_usage": True}}
        return json.dumps(body, ensure_ascii=False).encode("utf-8")

    async def _streamed(self, body: dict[str, Any], route: str) -> tuple[str, dict[str, Any] | None]:
        """One streamed attempt under one deadline that moves: queue, then idle between events, within the cap."""
        t = self.timeouts
        loop = asyncio.get_running_loop()
        collector = _StreamCollector()
        cap_at: float | None = None  # set by the first event
        max_tokens = body.get("max_tokens", body.get("max_completion_tokens"))
        try:
            async with asyncio.timeout(t.queue_s) as deadline:
                async with self._client.stream("POST", route, content=self._payload(body, True), headers=_JSON) as resp:
                    if resp.status_code >= 400:
                        await resp.aread()
                        self._raise_for_status(resp)
                    if "event-stream" not in resp.headers.get("content-type", ""):
                        await resp.aread()  # a server that ignores stream: the whole answer, still in the queue budget
                        return self._parse_any(resp)
                    async for line in resp.aiter_lines():
                        if not collector.feed(line):
                            continue
                        now = loop.time()
                        if cap_at is None:
                            cap_at = now + t.cap_s(max_tokens if isinstance(max_tokens, int) else None)
                        deadline.reschedule(min(now + t.idle_s, cap_at))
                        if collector.done:
                            break
        except TimeoutError:
            raise ModelError("timeout", self._timeout_message(cap_at, loop.time()), retryable=True) from None
        except httpx.TransportError as exc:
            raise _transport_error(exc, self.base_url, min(self.timeout_s, 15.0)) from None
        text, usage, fingerprint = collector.result(self.base_url)
        return text, self._with_fingerprint(usage, fingerprint)

    def _timeout_message(self, cap_at: float | None, now: float) -> str:
        t = self.timeouts
        if cap_at is None:
            return f"no answer within {t.queue_s:.0f} s from {self.base_url} (nothing streamed: queued or stuck)"
        if now >= cap_at - 0.01:
            return f"the streamed answer from {self.base_url} did not finish within its cap"
        return f"the stream from {self.base_url} stalled: no event for {t.idle_s:g} s"

    async def _once(self, payload: bytes, route: str = "chat/completions") -> tuple[str, dict[str, Any] | None]:
        """One plain (not streamed) attempt: ``--mlb-timeout`` bounds all of it, queue included."""
        try:
            async with asyncio.timeout(self.timeout_s):
                resp = await self._client.post(route, content=payload, headers=_JSON)
        except TimeoutError:
            raise ModelError(
                "timeout", f"no answer within {self.timeout_s:.0f} s from {self.base_url}", retryable=True
            ) from None
        except httpx.TransportError as exc:
            raise _transport_error(exc, self.base_url, self.timeout_s) from None
        self._raise_for_status(resp)
        return self._parse(resp)

    def _raise_for_status(self, resp: httpx.Response) -> None:
        """HTTP errors as ModelError: 429 and 503 are overloads (with Retry-After), other 5xx and 408 retried."""
        status = resp.status_code
        retry_after = {"retry_after": parse_retry_after(resp.headers.get("retry-after"))}
        if status == 429:
            raise ModelError(
                "rate_limit", "HTTP 429 Too Many Requests", retryable=True, status=status, extra=retry_after
            )
        if status >= 500 or status == 408:
            raise ModelError(
                "http", f"HTTP {status}: {_excerpt(resp.text)}", retryable=True, status=status, extra=retry_after
            )
        if status >= 400:
            hint = _HINTS.get(status, "client error")
            raise ModelError("http", f"HTTP {status}, {hint}: {_excerpt(resp.text)}", status=status)

    def _parse_any(self, resp: httpx.Response) -> tuple[str, dict[str, Any] | None]:
        """The body of a stream request that came whole: SSE under another content type, or plain JSON."""
        if resp.text.lstrip().startswith("data:"):
            collector = _StreamCollector()
            for line in resp.text.splitlines():
                collector.feed(line)
            text, usage, fingerprint = collector.result(self.base_url)
            return text, self._with_fingerprint(usage, fingerprint)
        result = self._parse(resp)
        self.streaming = False  # it answered a stream request with plain JSON: ask it plainly from now on
        return result

    def _with_fingerprint(self, usage: dict[str, Any] | None, fingerprint: str | None) -> dict[str, Any] | None:
        if fingerprint:
            self.fingerprints.add(fingerprint)
            usage = {**(usage or {}), "system_fingerprint": fingerprint}
        return usage

    def _parse(self, resp: httpx.Response) -> tuple[str, dict[str, Any] | None]:
        ctype = resp.headers.get("content-type", "")
        try:
            data = resp.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ModelError(
                "protocol",
                f"HTTP {resp.status_code} with a non-JSON body ({ctype or 'no type'}): {_excerpt(resp.text, 80)}",
                retryable=True,
            ) from None
        try:
            choice = data["choices"][0]
            # /v1/completions answers choices[0].text, /v1/chat/completions choices[0].message.content
            content = (
                choice["text"] if "text" in choice and "message" not in choice else choice["message"].get("content")
            )
        except (KeyError, IndexError, TypeError, AttributeError):
            raise ModelError(
                "protocol", f"response has no choices[0].message: {_excerpt(resp.text, 120)}", retryable=True
            ) from None
        if content is None:
            content = ""
        if not isinstance(content, str):
            raise ModelError("protocol", f"message.content is {type(content).__name__}, not text")
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else None
        fingerprint = data.get("system_fingerprint")
        return content, self._with_fingerprint(usage, fingerprint if isinstance(fingerprint, str) else None)

    async def aclose(self) -> None:
        await self._client.aclose()
