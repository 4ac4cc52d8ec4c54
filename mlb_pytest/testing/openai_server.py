"""A small OpenAI-compatible chat server on 127.0.0.1: the model under test in tests and benchmarks.

A test double named as such, but a real HTTP server (aiohttp.web): it adds latency, injects failures
and counts requests per prompt. Run it in-process::

    with FakeOpenAIServer(ServerConfig(latency_s=0.05, fail_rate=0.2)) as server:
        ...  # point a client at server.base_url; server.config can be changed between requests
        server.stats()["per_prompt"]

or as a process (benchmarks), which prints exactly one line on stdout once it accepts connections::

    python -m mlb_pytest.testing.openai_server --port 0 --latency 0.2 --answer A
    READY http://127.0.0.1:PORT/v1

Routes: ``POST /v1/chat/completions``, ``GET /v1/models``, ``GET /stats``, ``POST /stats/reset``.

``"stream": true`` gets Server-Sent Events as vLLM sends them: a first chunk with the role, the answer
in pieces of about four characters (``choices[0].delta.content``), a chunk with ``finish_reason``, the
usage in a last chunk with no choices when ``stream_options.include_usage`` asks for it (and
``stream_usage`` is on), then ``data: [DONE]``. ``streaming="ignore"`` answers plain JSON instead (a
server that ignores the flag), ``"reject"`` answers 400 (one that refuses it). Slow servers:
``latency_s`` sends nothing at all for that long (a server that queues before answering, as
llama.cpp does), ``queue_s`` sends the headers at once and the first chunk after it (as vLLM does
while a request waits for the GPU), ``chunk_delay_s`` paces the chunks that follow.

Every answer carries ``usage`` (about four UTF-8 bytes per token); text inside ``<think>…</think>`` in
an answer is also reported as ``completion_tokens_details.reasoning_tokens``, as reasoning models do.
``stats()["usage"]`` sums what was sent; ``stats()["models"]`` counts ``GET /v1/models``.

Injected failure kinds (``ServerConfig.fail_kinds``):

* ``"500"``: HTTP 500 with an OpenAI-style JSON error body;
* ``"429"``: HTTP 429 with ``Retry-After`` (``retry_after_s``; integer seconds when whole);
* ``"html"``: HTTP 200 with ``Content-Type: text/html`` and an HTML page (a misconfigured proxy);
* ``"drop"``: the request is read, then the connection is closed without any response bytes;
* ``"timeout"`` (opt-in, not in the defaults): no answer for an hour (until the client gives up);
* ``"overload"`` (opt-in): HTTP 503 with ``Retry-After``, a server that says it is overloaded;
* ``"stall"`` (opt-in): a stream stops after its first half, sending nothing more for an hour (a
  plain request hangs, as with ``"timeout"``);
* ``"cut"`` (opt-in): a stream's connection is closed after its first half (a plain request is
  dropped, as with ``"drop"``).

Each valid request fails with probability ``fail_rate`` (kind drawn uniformly from ``fail_kinds``)
from ``random.Random(seed)``, so a retried request may succeed; ``fail_first=N`` instead fails the
first N requests of every prompt, with ``fail_kinds`` in turn (deterministic tests). The server only
ever binds 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import random
import re
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["FAIL_KINDS", "FakeOpenAIServer", "ServerConfig", "main", "prompt_hash"]

HOST = "127.0.0.1"
FAIL_KINDS: tuple[str, ...] = ("500", "429", "html", "drop")
KNOWN_FAIL_KINDS = frozenset(FAIL_KINDS) | {"timeout", "overload", "stall", "cut"}
STREAMING = ("sse", "ignore", "reject")
HANG_S = 3600.0
# how long stop() lets requests still in flight finish before cancelling them
SHUTDOWN_TIMEOUT_S = 0.5
HTML_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
    "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n"
)

Responder = Callable[[list[dict[str, Any]]], str]
log = logging.getLogger(__name__)
_dumps = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


def prompt_hash(messages: list[dict[str, Any]]) -> str:
    """sha256 hex of the canonical JSON of ``messages``: the key of ``stats()["per_prompt"]``."""
    blob = json.dumps(messages, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass
class ServerConfig:
    """Behaviour of the server; read per request, so it may be changed between requests."""

    latency_s: float = 0.0  # asyncio.sleep before answering each valid chat request
    fail_rate: float = 0.0  # probability that a valid chat request fails
    fail_kinds: tuple[str, ...] = FAIL_KINDS  # drawn uniformly; "timeout" is opt-in
    retry_after_s: float = 1  # Retry-After of a 429 or 503
    seed: int = 0  # of the failure draws; changing it (or POST /stats/reset) restarts the sequence
    responder: Responder | None = None  # messages -> assistant text; None answers "A"
    model: str = "fake-model"  # reported in responses and /v1/models (requests may name any model)
    require_api_key: str | None = None  # when set, /v1/* needs "Authorization: Bearer <key>" (else 401)
    fail_first: int = 0  # the first N requests of every prompt fail, with fail_kinds in turn
    # the served checkpoint, as vLLM shows it: /v1/models "root" and each answer's system_fingerprint
    # (None: neither is sent, as with servers that do not say what they serve)
    revision: str | None = None
    streaming: str = "sse"  # how "stream": true is answered: sse | ignore (plain JSON) | reject (HTTP 400)
    stream_usage: bool = True  # send usage in a last chunk when stream_options.include_usage asks for it
    queue_s: float = 0.0  # streams: headers at once, the first chunk after this long (queued for the GPU)
    chunk_delay_s: float = 0.0  # streams: seconds between chunks

    def __post_init__(self) -> None:
        self.fail_kinds = tuple(self.fail_kinds)
        unknown = [k for k in self.fail_kinds if k not in KNOWN_FAIL_KINDS]
        if unknown or not self.fail_kinds:
            raise ValueError(
                f"fail_kinds must be a non-empty subset of {sorted(KNOWN_FAIL_KINDS)}, got {self.fail_kinds!r}"
            )
        if not 0.0 <= self.fail_rate <= 1.0:
            raise ValueError(f"fail_rate must be within [0, 1], got {self.fail_rate!r}")
        if min(self.latency_s, self.retry_after_s, self.fail_first, self.queue_s, self.chunk_delay_s) < 0:
            raise ValueError("latency_s, retry_after_s, fail_first, queue_s and chunk_delay_s must not be negative")
        if self.streaming not in STREAMING:
            raise ValueError(f"streaming must be one of {STREAMING}, got {self.streaming!r}")


def _retry_after(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else repr(float(seconds))


def _text(content: Any) -> str:
    """The text of a message's content: a string, or OpenAI's list of {"type": "text", "text": ...} parts."""
    if isinstance(content, str):
        return content
    return "".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))


_THINK = re.compile(r"<think>(.*?)</think>", re.S)


def _tokens(text: str) -> int:
    """A rough token count: about four UTF-8 bytes per token (one per CJK character is close to three)."""
    return (len(text.encode("utf-8")) + 3) // 4


def _body_problem(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "the request body must be a JSON object"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "'model' must be a non-empty string"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty list of {role, content} objects"
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            return f"messages[{i}] must be an object with a string 'role'"
        content = m.get("content")
        if not isinstance(content, (str, list)) or (
            isinstance(content, list)
            and not all(isinstance(p, dict) and isinstance(p.get("type"), str) for p in content)
        ):
            return f"messages[{i}].content must be a string or a list of content parts"
    if "stream" in body and not isinstance(body["stream"], bool):
        return "'stream' must be true or false"
    return None


def _error(
    status: int, message: str, type_: str, code: str | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return web.json_response(body, status=status, headers=headers, dumps=_dumps)


class _Stats:
    """Counters shared by the server's loop thread and callers of stats(); guarded by the owner's lock."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.clear()

    def clear(self) -> None:
        self.requests = 0
        self.ok = 0
        self.failed: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.per_prompt: Counter[str] = Counter()
        self.max_in_flight = self.in_flight  # requests still in flight keep counting after a reset
        self.models = 0  # GET /v1/models
        self.usage: Counter[str] = Counter()  # the token counts this server sent in its answers' usage
        self.streamed = 0  # answers sent as a stream (counted when the stream starts)

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "ok": self.ok,
            "failed": dict(self.failed),
            "rejected": dict(self.rejected),
            "per_prompt": dict(self.per_prompt),
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "models": self.models,
            "streamed": self.streamed,
            "usage": {k: self.usage[k] for k in ("prompt_tokens", "completion_tokens", "reasoning_tokens")},
        }


class _ChatApp:
    """Request handlers and their state; independent of how the server is run."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.lock = threading.Lock()
        self.stats = _Stats()
        self._seed = config.seed
        self._rng = random.Random(config.seed)
        self._ids = 0

    def build(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_get("/v1/models", self.models)
        app.router.add_get("/stats", self.get_stats)
        app.router.add_post("/stats/reset", self.reset_stats)
        return app

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return self.stats.to_json()

    def reset(self) -> None:
        with self.lock:
            self.stats.clear()
            self._seed = self.config.seed
            self._rng = random.Random(self._seed)

    # -- routes -------------------------------------------------------------------------------------

    async def get_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.snapshot(), dumps=_dumps)

    async def reset_stats(self, request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"ok": True})

    async def models(self, request: web.Request) -> web.Response:
        cfg = self.config
        with self.lock:
            self.stats.models += 1
        if not self._authorized(request, cfg):
            return self._unauthorized()
        entry: dict[str, Any] = {
            "id": cfg.model,
            "object": "model",
            "created": int(time.time()),
            "owned_by": "mlb-pytest",
        }
        if cfg.revision is not None:
            entry["root"] = f"/models/{cfg.model}/{cfg.revision}"
        return web.json_response({"object": "list", "data": [entry]}, dumps=_dumps)

    async def chat(self, request: web.Request) -> web.StreamResponse:
        stats = self.stats
        with self.lock:
            stats.requests += 1
            stats.in_flight += 1
            stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        try:
            return await self._chat(request, self.config)
        finally:
            with self.lock:
                stats.in_flight -= 1

    # -- helpers ------------------------------------------------------------------------------------

    @staticmethod
    def _authorized(request: web.Request, cfg: ServerConfig) -> bool:
        key = cfg.require_api_key
        return key is None or request.headers.get("Authorization") == f"Bearer {key}"

    def _unauthorized(self) -> web.Response:
        with self.lock:
            self.stats.rejected["401"] += 1
        return _error(401, "Incorrect or missing API key (fake server).", "invalid_request_error", "invalid_api_key")

    def _bad_request(self, message: str) -> web.Response:
        with self.lock:
            self.stats.rejected["400"] += 1
        return _error(400, message, "invalid_request_error")

    async def _chat(self, request: web.Request, cfg: ServerConfig) -> web.StreamResponse:
        if not self._authorized(request, cfg):
            return self._unauthorized()
        try:
            body = json.loads(await request.read())
        except ValueError:  # JSONDecodeError and UnicodeDecodeError
            return self._bad_request("the request body is not valid JSON")
        problem = _body_problem(body)
        if problem is None and body.get("stream") is True and cfg.streaming == "reject":
            problem = "stream=true is not supported by this server (streaming='reject')"
        if problem is not None:
            return self._bad_request(problem)
        stream = body.get("stream") is True and cfg.streaming == "sse"
        messages: list[dict[str, Any]] = body["messages"]
        digest = prompt_hash(messages)
        with self.lock:
            self.stats.per_prompt[digest] += 1
            kind = self._draw_failure(cfg, self.stats.per_prompt[digest])
            if kind is not None:
                self.stats.failed[kind] += 1
            self._ids += 1
            n = self._ids
        if cfg.latency_s > 0:
            await asyncio.sleep(cfg.latency_s)
        if kind is not None and not (stream and kind in ("stall", "cut")):
            return await self._fail(request, kind, cfg)
        try:
            text = cfg.responder(messages) if cfg.responder is not None else "A"
            if not isinstance(text, str):
                raise TypeError(f"the responder returned {type(text).__name__}, not str")
        except Exception as exc:  # a bug in a test's responder: answer 500 and say so
            log.exception("fake OpenAI server: the responder failed")
            with self.lock:
                self.stats.rejected["500"] += 1
            return _error(500, f"responder failed: {exc!r}", "server_error")
        prompt_tokens = sum(_tokens(_text(m.get("content"))) + 4 for m in messages)
        completion_tokens = _tokens(text)
        usage: dict[str, Any] = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        reasoning_tokens = sum(_tokens(t) for t in _THINK.findall(text))
        if reasoning_tokens:  # as reasoning models report it: part of completion_tokens, detailed
            usage["completion_tokens_details"] = {"reasoning_tokens": reasoning_tokens}
        fingerprint = {"system_fingerprint": f"fp_{cfg.revision}"} if cfg.revision is not None else {}
        if stream:
            options = body.get("stream_options")
            with_usage = cfg.stream_usage and isinstance(options, dict) and options.get("include_usage") is True
            return await self._stream(request, cfg, n, text, usage if with_usage else None, fingerprint, kind)
        with self.lock:
            self.stats.ok += 1
            self.stats.usage.update(
                prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, reasoning_tokens=reasoning_tokens
            )
        return web.json_response(
            {
                "id": f"chatcmpl-fake{n:010d}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": cfg.model,
                **fingerprint,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": usage,
            },
            dumps=_dumps,
        )

    async def _stream(
        self,
        request: web.Request,
        cfg: ServerConfig,
        n: int,
        text: str,
        usage: dict[str, Any] | None,
        fingerprint: dict[str, str],
        kind: str | None,
    ) -> web.StreamResponse:
        """The answer as SSE chunks; ``kind`` "stall" or "cut" stops it after the first half of the chunks."""
        head = {"id": f"chatcmpl-fake{n:010d}", "object": "chat.completion.chunk", "created": int(time.time())}
        head |= {"model": cfg.model, **fingerprint}

        def event(choices: list[dict[str, Any]], **extra: Any) -> bytes:
            return b"data: " + _dumps({**head, "choices": choices, **extra}).encode("utf-8") + b"\n\n"

        pieces = [text[i : i + 4] for i in range(0, len(text), 4)]
        events = [event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])]
        events += [event([{"index": 0, "delta": {"content": p}, "finish_reason": None}]) for p in pieces]
        events.append(event([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
        if usage is not None:
            events.append(event([], usage=usage))
        events.append(b"data: [DONE]\n\n")
        stop_at = 1 + len(pieces) // 2 if kind in ("stall", "cut") else len(events)
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)
        with self.lock:
            self.stats.streamed += 1
        try:
            if cfg.queue_s > 0:
                await asyncio.sleep(cfg.queue_s)
            for i, data in enumerate(events[:stop_at]):
                if i and cfg.chunk_delay_s > 0:
                    await asyncio.sleep(cfg.chunk_delay_s)
                await resp.write(data)
            if kind == "stall":
                await asyncio.sleep(HANG_S)  # cancelled when the client disconnects (handler_cancellation)
            if kind == "cut":
                if request.transport is not None:
                    request.transport.close()
                return resp
            await resp.write_eof()
        except (ConnectionResetError, ConnectionError):  # the client gave up on the stream
            return resp
        with self.lock:
            self.stats.ok += 1
            if usage is not None:
                self.stats.usage.update(
                    prompt_tokens=usage["prompt_tokens"],
                    completion_tokens=usage["completion_tokens"],
                    reasoning_tokens=usage.get("completion_tokens_details", {}).get("reasoning_tokens", 0),
                )
        return resp

    def _draw_failure(self, cfg: ServerConfig, seen: int) -> str | None:
        """Called under the lock; ``seen`` counts this prompt's requests including this one."""
        kinds = cfg.fail_kinds
        if seen <= cfg.fail_first:
            return kinds[(seen - 1) % len(kinds)]
        if cfg.fail_rate <= 0:
            return None
        if cfg.seed != self._seed:
            self._seed = cfg.seed
            self._rng = random.Random(cfg.seed)
        if self._rng.random() < cfg.fail_rate:
            return kinds[self._rng.randrange(len(kinds))]
        return None

    async def _fail(self, request: web.Request, kind: str, cfg: ServerConfig) -> web.StreamResponse:
        if kind == "500":
            return _error(500, "The server had an error while processing your request (injected).", "server_error")
        if kind == "429":
            return _error(
                429,
                "Rate limit reached (injected).",
                "requests",
                "rate_limit_exceeded",
                headers={"Retry-After": _retry_after(cfg.retry_after_s)},
            )
        if kind == "html":
            return web.Response(text=HTML_PAGE, content_type="text/html", status=200)
        if kind == "overload":
            return _error(
                503,
                "The server is overloaded (injected).",
                "server_error",
                headers={"Retry-After": _retry_after(cfg.retry_after_s)},
            )
        if kind in ("drop", "cut"):
            # The body is read already: close the socket before a single response byte. aiohttp then
            # fails to write the response below, treats it as a client disconnect and logs nothing.
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=204)
        if kind in ("timeout", "stall"):
            await asyncio.sleep(HANG_S)  # cancelled when the client disconnects (handler_cancellation)
            return _error(504, "no answer (injected timeout)", "server_error")
        return _error(500, f"ServerConfig.fail_kinds holds an unknown kind {kind!r}", "server_error")


async def _serve(app: _ChatApp, port: int, on_ready: Callable[[int], None], stop: asyncio.Event) -> None:
    """Serve on 127.0.0.1:port until ``stop`` is set, then close every connection."""
    runner = web.AppRunner(app.build(), access_log=None, handler_cancellation=True, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    try:
        site = web.TCPSite(runner, HOST, port, backlog=1024)
        await site.start()
        on_ready(runner.addresses[0][1])
        await stop.wait()
    finally:
        await runner.cleanup()


class FakeOpenAIServer:
    """The server in a background thread with its own event loop, on 127.0.0.1 and a free port (0)."""

    def __init__(self, config: ServerConfig | None = None, *, port: int = 0) -> None:
        self._app = _ChatApp(config if config is not None else ServerConfig())
        self._requested_port = port
        self.port = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    @property
    def config(self) -> ServerConfig:
        return self._app.config

    @config.setter
    def config(self, value: ServerConfig) -> None:
        self._app.config = value

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT``: where /stats lives."""
        if not self.port:
            raise RuntimeError("the server is not running: call start() or use it as a context manager")
        return f"http://{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``: what an OpenAI client is given."""
        return self.root_url + "/v1"

    def stats(self) -> dict[str, Any]:
        """The same dict as GET /stats, read from memory (thread-safe)."""
        return self._app.snapshot()

    def reset_stats(self) -> None:
        """Like POST /stats/reset: zero the counters and restart the failure sequence from the seed."""
        self._app.reset()

    def start(self) -> Self:
        if self._thread is not None:
            raise RuntimeError("the server is already running")
        ready = threading.Event()
        self._error = None
        self._thread = threading.Thread(target=self._run, args=(ready,), name="FakeOpenAIServer", daemon=True)
        self._thread.start()
        ready.wait()
        if not self.port:
            self._thread.join()
            self._thread = None
            raise RuntimeError(f"the fake OpenAI server did not start: {self._error!r}") from self._error
        return self

    def _run(self, ready: threading.Event) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()

            def on_ready(port: int) -> None:
                self.port = port
                ready.set()

            await _serve(self._app, self._requested_port, on_ready, self._stop)

        try:
            asyncio.run(main())
        except BaseException as exc:  # reported by start(), or logged when it happens on the way down
            self._error = exc
            if ready.is_set():
                log.error("fake OpenAI server stopped with an error", exc_info=exc)
        finally:
            ready.set()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Close the listener and every connection, end the thread. Idempotent."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed already
                loop.call_soon_threadsafe(stop.set)
        thread.join(timeout_s)
        if thread.is_alive():
            raise RuntimeError(f"the fake OpenAI server thread did not stop within {timeout_s} s")
        self._thread = self._loop = self._stop = None
        self.port = 0

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.base_url if self.port else "stopped"
        return f"FakeOpenAIServer({where})"


def _table_responder(table: dict[str, str], default: str) -> Responder:
    """The first key (in file order) found in the last user message's text decides the answer."""
    items = list(table.items())

    def respond(messages: list[dict[str, Any]]) -> str:
        last = next((_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
        return next((answer for key, answer in items if key in last), default)

    return respond


async def _serve_until_signalled(config: ServerConfig, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows: Ctrl-C still ends asyncio.run
            loop.add_signal_handler(sig, stop.set)
    await _serve(_ChatApp(config), port, lambda p: print(f"READY http://{HOST}:{p}/v1", flush=True), stop)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m mlb_pytest.testing.openai_server",
        description="Fake OpenAI-compatible chat server on 127.0.0.1 (a test double). "
        "Prints 'READY <base_url>' on stdout once it accepts connections.",
    )
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    ap.add_argument("--fail-rate", type=float, default=0.0, help="share of requests that fail")
    ap.add_argument(
        "--fail-kinds", default=",".join(FAIL_KINDS), help=f"comma-separated, of {','.join(sorted(KNOWN_FAIL_KINDS))}"
    )
    ap.add_argument("--retry-after", type=float, default=1.0, help="Retry-After seconds of a 429 or 503")
    ap.add_argument("--streaming", default="sse", choices=STREAMING, help="how stream=true is answered")
    ap.add_argument("--queue", type=float, default=0.0, help="streams: seconds from the headers to the first chunk")
    ap.add_argument("--chunk-delay", type=float, default=0.0, help="streams: seconds between chunks")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default="fake-model")
    ap.add_argument("--api-key", default=None, help="require 'Authorization: Bearer KEY'")
    ap.add_argument("--answer", default="A", help="the answer (default A), or the fallback of --responder-json")
    ap.add_argument(
        "--responder-json",
        metavar="FILE",
        default=None,
        help="JSON object {substring: answer}: the first key found in the last user message answers",
    )
    args = ap.parse_args(argv)
    table: dict[str, str] = {}
    if args.responder_json:
        try:
            with open(args.responder_json, encoding="utf-8") as fh:
                table = json.load(fh)
        except (OSError, ValueError) as exc:
            ap.error(f"--responder-json: {exc}")
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
            ap.error("--responder-json must hold a JSON object of strings")
    try:
        config = ServerConfig(
            latency_s=args.latency,
            fail_rate=args.fail_rate,
            fail_kinds=tuple(k.strip() for k in args.fail_kinds.split(",") if k.strip()),
            retry_after_s=args.retry_after,
            streaming=args.streaming,
            queue_s=args.queue,
            chunk_delay_s=args.chunk_delay,
            seed=args.seed,
            model=args.model,
            require_api_key=args.api_key,
            responder=_table_responder(table, args.answer),
        )
    except ValueError as exc:
        ap.error(str(exc))
    try:
        asyncio.run(_serve_until_signalled(config, args.port))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
