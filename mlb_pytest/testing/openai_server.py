"""A small OpenAI-compatible chat server on 127.0.0.1: the model under test in tests and benchmarks.

A test double named as such, but a real HTTP server: set latency, inject failures (500, 429 with
Retry-After, an HTML page with status 200, a dropped connection, a hang), count requests per
prompt. Run it in-process (``FakeOpenAIServer``) or as a process::

    python -m mlb_pytest.testing.openai_server --port 0 --latency 0.2 --answer A
    # prints: READY http://127.0.0.1:PORT/v1
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

FAIL_KINDS = ("500", "429", "html", "drop")
# injected connection drops are expected here: do not log them as server errors
logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)


def prompt_hash(messages: list[dict[str, Any]]) -> str:
    blob = json.dumps(messages, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass
class ServerConfig:
    latency_s: float = 0.0
    fail_rate: float = 0.0
    fail_kinds: tuple[str, ...] = FAIL_KINDS
    retry_after_s: float = 1.0
    seed: int = 0
    responder: Callable[[list[dict[str, Any]]], str] | None = None
    model: str = "fake-model"
    require_api_key: str | None = None
    fail_first: int = 0  # the first N requests of every prompt fail (with fail_kinds in turn): deterministic tests


@dataclass
class _Stats:
    requests: int = 0
    ok: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    per_prompt: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0
    max_in_flight: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"requests": self.requests, "ok": self.ok, "failed": dict(self.failed),
                "per_prompt": dict(self.per_prompt), "max_in_flight": self.max_in_flight}


def _error(status: int, message: str, **headers: str) -> web.Response:
    body = {"error": {"message": message, "type": "fake_server_error", "code": status}}
    return web.json_response(body, status=status, headers=headers)


class _App:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.stats = _Stats()
        self._lock = threading.Lock()
        self._rng = random.Random(config.seed)

    def build(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_get("/v1/models", self.models)
        app.router.add_get("/stats", self.get_stats)
        app.router.add_post("/stats/reset", self.reset)
        return app

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": self.config.model, "object": "model"}]})

    async def get_stats(self, request: web.Request) -> web.Response:
        with self._lock:
            return web.json_response(self.stats.to_json())

    async def reset(self, request: web.Request) -> web.Response:
        with self._lock:
            self.stats = _Stats()
        return web.json_response({"ok": True})

    async def chat(self, request: web.Request) -> web.StreamResponse:
        cfg = self.config
        with self._lock:
            self.stats.requests += 1
        if cfg.require_api_key and request.headers.get("Authorization") != f"Bearer {cfg.require_api_key}":
            return _error(401, "invalid or missing API key")
        try:
            body = await request.json()
            messages = body["messages"]
            if not isinstance(body.get("model"), str) or not isinstance(messages, list) or not all(
                    isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages):
                raise ValueError
        except (ValueError, KeyError, TypeError, json.JSONDecodeError):
            return _error(400, "request must be JSON with a model and a list of {role, content} messages")
        with self._lock:
            self.stats.per_prompt[prompt_hash(messages)] += 1
            self.stats.in_flight += 1
            self.stats.max_in_flight = max(self.stats.max_in_flight, self.stats.in_flight)
            seen = self.stats.per_prompt[prompt_hash(messages)]
            if seen <= cfg.fail_first:
                kind: str | None = cfg.fail_kinds[(seen - 1) % len(cfg.fail_kinds)]
            else:
                kind = self._rng.choice(cfg.fail_kinds) if self._rng.random() < cfg.fail_rate else None
        try:
            if cfg.latency_s:
                await asyncio.sleep(cfg.latency_s)
            if kind is not None:
                with self._lock:
                    self.stats.failed[kind] += 1
                return await self._fail(request, kind)
            text = cfg.responder(messages) if cfg.responder else "A"
            with self._lock:
                self.stats.ok += 1
            prompt_tokens = sum(len(m["content"]) for m in messages) // 2
            return web.json_response({
                "id": f"chatcmpl-{self.stats.requests}", "object": "chat.completion", "created": int(time.time()),
                "model": cfg.model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": max(1, len(text) // 2),
                          "total_tokens": prompt_tokens + max(1, len(text) // 2)},
            })
        finally:
            with self._lock:
                self.stats.in_flight -= 1

    async def _fail(self, request: web.Request, kind: str) -> web.StreamResponse:
        if kind == "500":
            return _error(500, "internal server error (injected)")
        if kind == "429":
            ra = self.config.retry_after_s
            return _error(429, "rate limited (injected)", **{"Retry-After": str(int(ra)) if ra == int(ra) else str(ra)})
        if kind == "html":
            return web.Response(text="<html><body><h1>502 Bad Gateway</h1>nginx</body></html>",
                                content_type="text/html", status=200)
        if kind == "timeout":
            await asyncio.sleep(3600)
        # drop: close the socket without an HTTP response
        transport = request.transport
        if transport is not None:
            transport.close()
        raise ConnectionResetError("dropped (injected)")


class FakeOpenAIServer:
    """The server in a background thread with its own event loop, on 127.0.0.1 and a free port."""

    def __init__(self, config: ServerConfig | None = None, port: int = 0) -> None:
        self.config = config or ServerConfig()
        self._app = _App(self.config)
        self._port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stats(self) -> dict[str, Any]:
        with self._app._lock:
            return self._app.stats.to_json()

    def start(self) -> FakeOpenAIServer:
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._serve())
            except BaseException as exc:  # reported to start()
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup() if self._runner else asyncio.sleep(0))
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-openai-server", daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]
        return self

    async def _serve(self) -> None:
        self._runner = web.AppRunner(self._app.build(), access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port, backlog=1024)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _responder_from(path: str | None, answer: str) -> Callable[[list[dict[str, Any]]], str]:
    table: dict[str, str] = {}
    if path:
        with open(path, encoding="utf-8") as fh:
            table = json.load(fh)

    def respond(messages: list[dict[str, Any]]) -> str:
        last = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
        return next((v for k, v in table.items() if k in last), answer)

    return respond


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="fake OpenAI-compatible chat server on 127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--fail-rate", type=float, default=0.0)
    ap.add_argument("--fail-kinds", default=",".join(FAIL_KINDS))
    ap.add_argument("--retry-after", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--answer", default="A")
    ap.add_argument("--responder-json", default=None, help="JSON object: substring of the last user message -> answer")
    args = ap.parse_args(argv)
    cfg = ServerConfig(latency_s=args.latency, fail_rate=args.fail_rate, fail_kinds=tuple(args.fail_kinds.split(",")),
                       retry_after_s=args.retry_after, seed=args.seed,
                       responder=_responder_from(args.responder_json, args.answer))
    server = FakeOpenAIServer(cfg, port=args.port).start()
    print(f"READY {server.base_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
