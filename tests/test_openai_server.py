"""The fake OpenAI server (mlb_pytest.testing) over real HTTP on 127.0.0.1, with httpx as the client."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import itertools
import json
import logging
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mlb_pytest.testing import FakeOpenAIServer, ServerConfig, prompt_hash

MESSAGES = [{"role": "system", "content": "只输出字母。"}, {"role": "user", "content": "第1题：哪项正确？"}]


def body(messages: list[dict[str, Any]] = MESSAGES, **extra: Any) -> dict[str, Any]:
    return {"model": "any-model", "messages": messages, **extra}


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(ServerConfig()) as s:
        yield s


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as c:
        yield c


def chat(client: httpx.Client, server: FakeOpenAIServer, payload: Any = None, **kw: Any) -> httpx.Response:
    return client.post(server.base_url + "/chat/completions", json=body() if payload is None else payload, **kw)


def test_a_completion_has_the_openai_shape_and_the_responders_answer(
    server: FakeOpenAIServer, client: httpx.Client
) -> None:
    assert server.base_url.startswith("http://127.0.0.1:") and server.base_url.endswith("/v1")
    assert chat(client, server).json()["choices"][0]["message"]["content"] == "A"  # the default answer
    seen: list[list[dict[str, Any]]] = []
    server.config.responder = lambda messages: seen.append(messages) or "答案：" + messages[-1]["content"][:2]
    r = chat(client, server)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    data = r.json()
    assert data["object"] == "chat.completion" and data["id"].startswith("chatcmpl-")
    assert data["model"] == "fake-model" and isinstance(data["created"], int)
    (choice,) = data["choices"]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop"
    assert choice["message"] == {"role": "assistant", "content": "答案：第1"}
    usage = data["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert seen == [MESSAGES]
    models = client.get(server.base_url + "/models").json()
    assert models["object"] == "list" and [m["id"] for m in models["data"]] == ["fake-model"]
    stats = server.stats()
    assert (stats["requests"], stats["ok"], stats["failed"]) == (2, 2, {})


def test_latency_is_honoured_and_requests_overlap(server: FakeOpenAIServer) -> None:
    server.config.latency_s = 0.3

    async def go() -> tuple[float, float]:
        async with httpx.AsyncClient(timeout=5) as c:
            started = time.perf_counter()
            assert (await c.post(server.base_url + "/chat/completions", json=body())).status_code == 200
            one = time.perf_counter() - started
            started = time.perf_counter()
            rs = await asyncio.gather(*(c.post(server.base_url + "/chat/completions", json=body()) for _ in range(8)))
            assert all(r.status_code == 200 for r in rs)
            return one, time.perf_counter() - started

    one, eight = asyncio.run(go())
    assert 0.3 <= one < 1.0
    assert 0.3 <= eight < 1.0  # slept side by side, not one after another
    assert server.stats()["max_in_flight"] == 8


def test_per_prompt_counts_and_reset(server: FakeOpenAIServer, client: httpx.Client) -> None:
    other = [{"role": "user", "content": "第2题"}]
    for messages in (MESSAGES, other, MESSAGES, [{"content": "第2题", "role": "user"}]):  # key order is canonical
        assert chat(client, server, body(messages)).status_code == 200
    canonical = json.dumps(MESSAGES, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert prompt_hash(MESSAGES) == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    expected = {prompt_hash(MESSAGES): 2, prompt_hash(other): 2}
    assert server.stats()["per_prompt"] == expected
    over_http = client.get(server.root_url + "/stats").json()
    assert over_http["per_prompt"] == expected and over_http["requests"] == 4 and over_http["ok"] == 4
    assert client.post(server.root_url + "/stats/reset").status_code == 200
    stats = server.stats()
    assert (stats["requests"], stats["ok"], stats["per_prompt"], stats["max_in_flight"]) == (0, 0, {}, 0)


def test_injected_500(server: FakeOpenAIServer, client: httpx.Client) -> None:
    server.config.fail_rate, server.config.fail_kinds = 1.0, ("500",)
    r = chat(client, server)
    assert r.status_code == 500 and "injected" in r.json()["error"]["message"]
    assert server.stats()["failed"] == {"500": 1} and server.stats()["ok"] == 0


@pytest.mark.parametrize("retry_after_s,header", [(2, "2"), (2.0, "2"), (0.5, "0.5")])
def test_injected_429_sends_retry_after(
    server: FakeOpenAIServer, client: httpx.Client, retry_after_s: float, header: str
) -> None:
    server.config.fail_rate, server.config.fail_kinds, server.config.retry_after_s = 1.0, ("429",), retry_after_s
    r = chat(client, server)
    assert r.status_code == 429 and r.headers["retry-after"] == header
    assert r.json()["error"]["code"] == "rate_limit_exceeded"


def test_injected_html_is_a_200_page(server: FakeOpenAIServer, client: httpx.Client) -> None:
    server.config.fail_rate, server.config.fail_kinds = 1.0, ("html",)
    r = chat(client, server)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.text.startswith("<!DOCTYPE html>")
    with pytest.raises(json.JSONDecodeError):
        r.json()


def test_injected_drop_is_a_transport_error_and_logs_nothing(
    server: FakeOpenAIServer, client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    assert chat(client, server).status_code == 200  # a kept-alive connection, then a fresh one
    server.config.fail_rate, server.config.fail_kinds = 1.0, ("drop",)
    for _ in range(2):
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            chat(client, server)
    server.config.fail_rate = 0.0
    assert chat(client, server).status_code == 200  # the same client recovers
    assert server.stats()["failed"] == {"drop": 2}
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_injected_timeout_hangs_until_the_client_gives_up(client: httpx.Client) -> None:
    server = FakeOpenAIServer(ServerConfig(fail_rate=1.0, fail_kinds=("timeout",))).start()
    try:
        started = time.perf_counter()
        with pytest.raises(httpx.ReadTimeout):
            chat(client, server, timeout=httpx.Timeout(5, read=0.2))
        assert time.perf_counter() - started < 2
        server.config.fail_rate = 0.0
        assert chat(client, server).status_code == 200
    finally:
        started = time.perf_counter()
        server.stop()
        assert time.perf_counter() - started < 2


def test_aiohttp_transport_reports_drop_as_connect_timeout_and_timeout_as_read_timeout(
    server: FakeOpenAIServer,
) -> None:
    """Pinned because it surprises: httpx_aiohttp maps aiohttp's ServerDisconnectedError to ConnectTimeout."""
    httpx_aiohttp = pytest.importorskip("httpx_aiohttp")
    aiohttp = pytest.importorskip("aiohttp")

    async def go() -> tuple[BaseException, BaseException]:
        async with httpx.AsyncClient(
            transport=httpx_aiohttp.AiohttpTransport(), timeout=httpx.Timeout(5, read=0.2)
        ) as c:
            caught = []
            for kind in ("drop", "timeout"):
                server.config.fail_kinds = (kind,)
                with pytest.raises(httpx.TransportError) as exc:
                    await c.post(server.base_url + "/chat/completions", json=body())
                caught.append(exc.value)
            return caught[0], caught[1]

    server.config.fail_rate = 1.0
    drop, timeout = asyncio.run(go())
    assert type(drop) is httpx.ConnectTimeout and isinstance(drop.__cause__, aiohttp.ServerDisconnectedError)
    assert type(timeout) is httpx.ReadTimeout and isinstance(timeout.__cause__, aiohttp.SocketTimeoutError)


def test_failures_are_random_seeded_and_a_retry_may_succeed(server: FakeOpenAIServer, client: httpx.Client) -> None:
    server.config.fail_rate, server.config.fail_kinds, server.config.seed = 0.5, ("500",), 7

    def statuses() -> list[int]:
        return [chat(client, server).status_code for _ in range(40)]

    first = statuses()
    assert set(first) == {200, 500}
    assert any(a == 500 and b == 200 for a, b in itertools.pairwise(first))  # the same prompt, retried, succeeds
    server.reset_stats()  # restarts the sequence from the seed
    assert statuses() == first
    stats = server.stats()
    assert stats["requests"] == 40 and stats["ok"] + stats["failed"]["500"] == 40
    server.reset_stats()
    server.config.seed = 8
    assert statuses() != first


def test_fail_first_fails_each_prompt_n_times_with_the_kinds_in_turn(
    server: FakeOpenAIServer, client: httpx.Client
) -> None:
    server.config.fail_first, server.config.fail_kinds = 2, ("500", "429")
    other = body([{"role": "user", "content": "另一题"}])
    assert [chat(client, server).status_code for _ in range(3)] == [500, 429, 200]
    assert [chat(client, server, other).status_code for _ in range(3)] == [500, 429, 200]


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe",
        b"[1, 2]",
        json.dumps({"messages": MESSAGES}).encode(),
        json.dumps({"model": "m", "messages": "hi"}).encode(),
        json.dumps({"model": "m", "messages": []}).encode(),
        json.dumps({"model": "m", "messages": [{"role": "user"}]}).encode(),
        json.dumps({"model": "m", "messages": [{"content": "hi"}]}).encode(),
        json.dumps({"model": "m", "messages": [{"role": "user", "content": 3}]}).encode(),
    ],
)
def test_malformed_requests_get_400(server: FakeOpenAIServer, client: httpx.Client, content: bytes) -> None:
    server.config.fail_rate = 1.0  # validation comes before any injected failure
    r = client.post(
        server.base_url + "/chat/completions", content=content, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    stats = server.stats()
    assert (stats["requests"], stats["rejected"], stats["failed"], stats["per_prompt"]) == (1, {"400": 1}, {}, {})


def test_content_parts_are_accepted(server: FakeOpenAIServer, client: httpx.Client) -> None:
    server.config.responder = lambda messages: messages[-1]["content"][0]["text"]
    r = chat(client, server, body([{"role": "user", "content": [{"type": "text", "text": "B"}]}]))
    assert r.json()["choices"][0]["message"]["content"] == "B"


def test_api_key_is_enforced(server: FakeOpenAIServer, client: httpx.Client) -> None:
    server.config.require_api_key = "sk-right"
    for headers in ({}, {"Authorization": "Bearer sk-wrong"}, {"Authorization": "sk-right"}):
        r = chat(client, server, headers=headers)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    assert client.get(server.base_url + "/models").status_code == 401
    good = {"Authorization": "Bearer sk-right"}
    assert chat(client, server, headers=good).status_code == 200
    assert client.get(server.base_url + "/models", headers=good).status_code == 200
    stats = server.stats()
    assert (stats["requests"], stats["ok"], stats["rejected"]) == (4, 1, {"401": 4})


def test_a_failing_responder_is_a_500_that_says_so(server: FakeOpenAIServer, client: httpx.Client) -> None:
    server.config.responder = lambda messages: 1 / 0
    r = chat(client, server)
    assert r.status_code == 500 and "ZeroDivisionError" in r.json()["error"]["message"]


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="fail_kinds"):
        ServerConfig(fail_kinds=("503",))
    with pytest.raises(ValueError, match="fail_rate"):
        ServerConfig(fail_rate=1.5)


def test_start_and_stop_leave_no_thread_socket_or_warning(client: httpx.Client) -> None:
    before = set(threading.enumerate())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        server = FakeOpenAIServer()
        with server:
            assert chat(client, server).status_code == 200
            port = server.port
        server.stop()  # idempotent
        gc.collect()
    assert set(threading.enumerate()) == before
    assert not [w for w in caught if issubclass(w.category, ResourceWarning) or "Unclosed" in str(w.message)]
    with pytest.raises(httpx.ConnectError):
        client.post(f"http://127.0.0.1:{port}/v1/chat/completions", json=body())
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.base_url


def test_the_command_line_prints_ready_and_serves(tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"心": "B", "肺": "C"}, ensure_ascii=False), encoding="utf-8")
    cmd = [
        sys.executable,
        "-m",
        "mlb_pytest.testing.openai_server",
        "--port",
        "0",
        "--latency",
        "0",
        "--fail-rate",
        "0",
        "--responder-json",
        str(answers),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
    watchdog = threading.Timer(20, proc.kill)
    watchdog.start()
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("READY http://127.0.0.1:") and line.endswith("/v1\n"), line
        base_url = line.split()[1]

        def ask(messages: list[dict[str, str]]) -> str:
            r = httpx.post(base_url + "/chat/completions", json=body(messages), timeout=5)
            return r.json()["choices"][0]["message"]["content"]

        assert ask([{"role": "user", "content": "心内科的问题"}]) == "B"
        assert ask([{"role": "user", "content": "肺和心"}]) == "B"  # the first key in the file wins
        assert ask([{"role": "user", "content": "肺"}]) == "C"
        assert ask([{"role": "system", "content": "心"}, {"role": "user", "content": "骨科"}]) == "A"
        stats = httpx.get(base_url.removesuffix("/v1") + "/stats", timeout=5).json()
        assert stats["requests"] == 4 and len(stats["per_prompt"]) == 4
        proc.terminate()
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert out == ""  # READY was the only line
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
