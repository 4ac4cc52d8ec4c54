"""``openai:MODEL@BASE_URL``: any OpenAI-compatible chat endpoint (vLLM, SGLang, TGI, llama.cpp, APIs).

Items go to ``/v1/chat/completions`` (prompt style chat or auto); with ``--mlb-prompt-style=completion``
they go to ``/v1/completions`` as a one-shot plain-text prompt with stop strings (``prompting.py``),
for base models served without a chat template. Judge questions always go as chat.

httpx's interface on the aiohttp transport: httpx's own pool costs several ms of CPU per request
at high concurrency (encode/httpx#3215), the aiohttp transport about 1 ms, which keeps the
client off the critical path. Retries are bounded, back off with full jitter and honour
``Retry-After``; 4xx other than 408/429 are not retried and say what to fix. Each attempt first
waits for a slot of the adaptive limiter (``concurrency.py``): timeouts and 429s lower the number of
attempts in flight, successes raise it again, and the wait for a slot is no part of the timeout.
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


def _make_transport(limit: int) -> httpx.AsyncBaseTransport:
    try:
        from httpx_aiohttp import AiohttpTransport
    except ImportError:  # the plain httpx pool still works, only slower at high concurrency
        return httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=limit))
    return AiohttpTransport(limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit))


class OpenAIChatModel:
    """Chat completions over HTTP with pooled connections, timeouts and bounded retries."""

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
    ) -> None:
        self.model = model
        self.requested_prompt_style = check_style(prompt_style)
        self.prompt_style = "completion" if prompt_style == "completion" else "chat"  # auto: the chat endpoint
        self._url = base_url.rstrip("/")  # may hold user:password@ (httpx sends it as basic auth)
        self.base_url = redact_url(self._url)  # what messages show
        self.identity = f"openai:{model}@{strip_userinfo(self._url)}"
        self.timeout_s = timeout_s
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
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 15.0)),
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
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        started = time.perf_counter()
        attempt = 0
        while True:
            attempt += 1
            try:
                text, usage = await self._limited(payload, "completions" if completion else "chat/completions")
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

    async def _limited(self, payload: bytes, route: str) -> tuple[str, dict[str, Any] | None]:
        """One attempt inside the limiter; a timeout or 429 tells it the server is overloaded."""
        token = await self.limiter.acquire()  # queued here, not at the server: no timeout runs yet
        outcome: Outcome = "neutral"
        try:
            result = await self._once(payload, route)
            outcome = "success"
            return result
        except ModelError as err:
            if err.kind == "timeout" or err.status == 429:
                outcome = "overload"
            raise
        finally:
            self.limiter.release(token, outcome)

    async def _once(self, payload: bytes, route: str = "chat/completions") -> tuple[str, dict[str, Any] | None]:
        try:
            async with asyncio.timeout(self.timeout_s):
                resp = await self._client.post(route, content=payload, headers={"Content-Type": "application/json"})
        except TimeoutError:
            raise ModelError(
                "timeout", f"no answer within {self.timeout_s:.0f} s from {self.base_url}", retryable=True
            ) from None
        except httpx.TransportError as exc:
            raise _transport_error(exc, self.base_url, self.timeout_s) from None
        status = resp.status_code
        if status == 429:
            raise ModelError(
                "rate_limit",
                "HTTP 429 Too Many Requests",
                retryable=True,
                status=status,
                extra={"retry_after": parse_retry_after(resp.headers.get("retry-after"))},
            )
        if status >= 500 or status == 408:
            raise ModelError(
                "http",
                f"HTTP {status}: {_excerpt(resp.text)}",
                retryable=True,
                status=status,
                extra={"retry_after": parse_retry_after(resp.headers.get("retry-after"))},
            )
        if status >= 400:
            hint = _HINTS.get(status, "client error")
            raise ModelError("http", f"HTTP {status}, {hint}: {_excerpt(resp.text)}", status=status)
        return self._parse(resp)

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
        if isinstance(fingerprint, str) and fingerprint:
            self.fingerprints.add(fingerprint)
            usage = {**(usage or {}), "system_fingerprint": fingerprint}
        return content, usage

    async def aclose(self) -> None:
        await self._client.aclose()
