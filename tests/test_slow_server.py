"""Slow servers (issue 17): streamed answers timed in phases, 503 as an overload, a fixed limit, the summary.

Everything runs over real HTTP against the fake server (``mlb_pytest.testing``) on 127.0.0.1. The
timeouts are ``openai.Timeouts``: with ``--mlb-timeout=T`` a streamed attempt may wait ``max(T, 60 s)``
for its first event (the server's queue), ``min(T, 30 s)`` between events, and ``max(T, 0.25 s per
max token)`` from the first event to the last; a plain (not streamed) attempt gets ``T`` for all of it.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from release_fixture import write_native

from conftest import load_report
from mlb_pytest import plugin
from mlb_pytest.models import Generation, GenerationRequest, ModelError
from mlb_pytest.models.openai import OpenAIChatModel, RetryPolicy, Timeouts
from mlb_pytest.models.spec import build_model
from mlb_pytest.suites import load_suite_file
from mlb_pytest.testing import FakeOpenAIServer, ServerConfig


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(ServerConfig()) as s:
        yield s


@pytest.fixture
def reqs(tmp_path: Path) -> list[GenerationRequest]:
    items = load_suite_file(write_native(tmp_path / "d.jsonl", 8)).items
    return [GenerationRequest(item, {"temperature": 0.0, "max_tokens": 16}) for item in items]


def _model(server: FakeOpenAIServer, **kw: Any) -> OpenAIChatModel:
    retry = RetryPolicy(max_retries=kw.pop("retries", 3), backoff_base_s=0.01, backoff_max_s=0.05)
    return OpenAIChatModel("fake", server.base_url, retry=retry, **kw)


def _all(model: OpenAIChatModel, reqs: list[GenerationRequest]) -> list[Generation | BaseException]:
    """Every request at once (the limiter decides how many go out); answers or errors, in order."""

    async def go() -> list[Generation | BaseException]:
        try:
            return await asyncio.gather(*(model.generate(r) for r in reqs), return_exceptions=True)
        finally:
            await model.aclose()

    return asyncio.run(go())


def _one(model: OpenAIChatModel, req: GenerationRequest) -> Generation:
    out = _all(model, [req])[0]
    if isinstance(out, BaseException):
        raise out
    return out


# --- the stream itself ----------------------------------------------------------------------------


def test_the_server_streams_sse_with_usage_last_and_done(server: FakeOpenAIServer) -> None:
    server.config.responder = lambda messages: "<think>B?</think>答案：A"
    body = {"model": "m", "messages": [{"role": "user", "content": "q"}], "stream": True}
    with httpx.Client(timeout=5) as client:
        plain = client.post(server.base_url + "/chat/completions", json={**body, "stream": False}).json()
        with_usage = client.post(
            server.base_url + "/chat/completions", json={**body, "stream_options": {"include_usage": True}}
        )
        without = client.post(server.base_url + "/chat/completions", json=body)
    assert with_usage.headers["content-type"].startswith("text/event-stream")
    events = [line[6:] for line in with_usage.text.split("\n\n") if line]
    assert events[-1] == "[DONE]" and '"role":"assistant"' in events[0]
    assert '"finish_reason":"stop"' in events[-3] and '"choices":[]' in events[-2] and '"usage"' in events[-2]
    assert "usage" not in without.text and without.text.endswith("data: [DONE]\n\n")
    assert server.stats()["streamed"] == 2 and plain["usage"]["completion_tokens_details"]["reasoning_tokens"] > 0


def test_a_streamed_answer_is_the_plain_answer(server: FakeOpenAIServer, reqs: list[GenerationRequest]) -> None:
    server.config.responder = lambda messages: "<think>maybe B</think>答案：A, because of 4 long reasons"
    server.config.revision = "abc"
    streamed, plain = _one(_model(server), reqs[0]), _one(_model(server, stream=False), reqs[0])
    assert (streamed.text, streamed.raw, streamed.usage) == (plain.text, plain.raw, plain.usage)
    assert streamed.usage and streamed.usage["system_fingerprint"] == "fp_abc" and streamed.usage["total_tokens"] > 0
    assert server.stats()["streamed"] == 1
    server.config.stream_usage = False  # a server that never sends usage in a stream: the answer still counts
    server.config.revision = None
    bare = _one(_model(server), reqs[0])
    assert bare.text == streamed.text and bare.usage is None


@pytest.mark.parametrize("mode", ["reject", "ignore"])
def test_a_server_that_does_not_stream_is_asked_plainly(
    server: FakeOpenAIServer, reqs: list[GenerationRequest], mode: str
) -> None:
    """ "reject": 400 to stream, the same request without it works; "ignore": plain JSON to a stream request."""
    server.config.streaming = mode
    model = _model(server, max_connections=1)
    out = _all(model, reqs[:3])
    assert all(isinstance(g, Generation) and g.text == "A" and g.attempts == 1 for g in out)
    assert model.streaming is False
    stats = server.stats()
    assert stats["streamed"] == 0 and stats["requests"] == 3 + (mode == "reject")  # one refusal, then plain


def test_a_request_refused_with_and_without_stream_says_why(
    server: FakeOpenAIServer, reqs: list[GenerationRequest]
) -> None:
    server.config.require_api_key = "k"  # 401 either way: not a streaming problem, not retried
    with pytest.raises(ModelError, match="HTTP 401"):
        _one(_model(server), reqs[0])
    with pytest.raises(ModelError, match="HTTP 400"):  # a 400 both ways is the request's fault: kept streaming
        server.config.require_api_key = None
        model = _model(server)
        _one(model, GenerationRequest(reqs[0].item, {"messages": "not a list"}))
    assert model.streaming is True


# --- the timeouts -----------------------------------------------------------------------------------


def test_the_budgets_follow_the_timeout() -> None:
    t = Timeouts.from_timeout(120.0)
    assert (t.queue_s, t.idle_s, t.cap_s(512), t.cap_s(2048), t.cap_s(8), t.cap_s(None)) == (
        120,
        30,
        128,
        512,
        120,
        1024,
    )
    short = Timeouts.from_timeout(1.0)
    assert (short.queue_s, short.idle_s, short.cap_s(16)) == (60, 1, 4)


def test_a_queue_longer_than_the_timeout_is_not_a_timeout_when_streamed(
    server: FakeOpenAIServer, reqs: list[GenerationRequest]
) -> None:
    """Nothing for 1.5 s, then a quick stream; timeout 1 s. Plain: the 1 s runs out in the queue, every
    attempt. Streamed: the queue has its own budget (60 s here) and the 1 s applies between events."""
    server.config.latency_s = 1.5
    started = time.perf_counter()
    plain = _all(_model(server, timeout_s=1.0, stream=False, retries=0), reqs[:4])
    assert all(isinstance(e, ModelError) and e.kind == "timeout" for e in plain)
    streamed_model = _model(server, timeout_s=1.0, retries=0)
    streamed = _all(streamed_model, reqs[:4])
    assert all(isinstance(g, Generation) and g.text == "A" and g.attempts == 1 for g in streamed)
    assert streamed_model.limiter.timeouts == 0 and time.perf_counter() - started < 5


def test_headers_at_once_and_the_first_event_late_is_still_the_queue(
    server: FakeOpenAIServer, reqs: list[GenerationRequest]
) -> None:
    """vLLM sends the headers before the request gets the GPU: the idle budget starts at the first event."""
    server.config.queue_s = 0.8
    server.config.responder = lambda messages: "A" * 40  # ten chunks
    server.config.chunk_delay_s = 0.05
    gen = _one(_model(server, timeout_s=0.3, retries=0), reqs[0])
    assert gen.text == "A" * 40 and gen.attempts == 1 and gen.latency_s >= 0.8


def test_a_stall_mid_stream_times_out_and_is_retried(server: FakeOpenAIServer, reqs: list[GenerationRequest]) -> None:
    server.config.responder = lambda messages: "A" * 40
    server.config.fail_first, server.config.fail_kinds = 1, ("stall",)
    model = _model(server, timeout_s=0.4)  # idle budget 0.4 s
    started = time.perf_counter()
    gen = _one(model, reqs[0])
    assert gen.text == "A" * 40 and gen.attempts == 2 and time.perf_counter() - started < 2
    assert model.limiter.timeouts == 1 and server.stats()["streamed"] == 2
    server.config.fail_first = 100
    with pytest.raises(ModelError, match="stalled: no event for 0.4 s") as exc:
        _one(_model(server, timeout_s=0.4, retries=1), reqs[1])
    assert exc.value.kind == "timeout" and exc.value.attempts == 2


def test_a_cut_stream_is_retried_and_never_scored(server: FakeOpenAIServer, reqs: list[GenerationRequest]) -> None:
    server.config.responder = lambda messages: "A" * 40
    server.config.fail_first, server.config.fail_kinds = 1, ("cut",)
    assert _one(_model(server), reqs[0]).attempts == 2
    server.config.fail_first = 100
    with pytest.raises(ModelError) as exc:
        _one(_model(server, retries=0), reqs[1])
    assert exc.value.kind == "transport"


def test_an_answer_past_its_cap_times_out(server: FakeOpenAIServer, reqs: list[GenerationRequest]) -> None:
    """Events keep coming (no stall), but max_tokens=1 at 0.25 s a token caps the answer near 0.25 s."""
    server.config.responder = lambda messages: "A" * 80
    server.config.chunk_delay_s = 0.03
    req = GenerationRequest(reqs[0].item, {"max_tokens": 1})
    with pytest.raises(ModelError, match="did not finish within its cap"):
        _one(_model(server, timeout_s=0.2, retries=0), req)


# --- 503 and the limiter ------------------------------------------------------------------------------


@pytest.mark.parametrize("adaptive", [True, False])
def test_503_backs_off_and_waits_for_retry_after(
    server: FakeOpenAIServer, reqs: list[GenerationRequest], adaptive: bool
) -> None:
    server.config.fail_first, server.config.fail_kinds, server.config.retry_after_s = 1, ("overload",), 0.3
    model = _model(server, max_connections=8, adaptive=adaptive)
    started = time.perf_counter()
    out = _all(model, reqs)
    assert all(isinstance(g, Generation) and g.attempts == 2 for g in out)
    assert time.perf_counter() - started >= 0.29  # Retry-After: 0.3 waited for
    snap = model.limiter.snapshot()
    assert snap["rate_limits"] == 8 and snap["timeouts"] == 0
    if adaptive:
        assert snap["backoffs"] == 1 and snap["lowest"] == 4  # one window: halved once
    else:
        assert snap["backoffs"] == 0 and snap["lowest"] == snap["final"] == 8  # held fixed


def test_500_is_a_plain_retry(server: FakeOpenAIServer, reqs: list[GenerationRequest]) -> None:
    server.config.fail_first, server.config.fail_kinds = 1, ("500",)
    model = _model(server, max_connections=8)
    assert all(isinstance(g, Generation) and g.attempts == 2 for g in _all(model, reqs))
    snap = model.limiter.snapshot()
    assert (snap["backoffs"], snap["overloads"], snap["final"]) == (0, 0, 8)


@pytest.mark.parametrize("status,backoffs", [(500, 0), (502, 0), (504, 0), (503, 1), (429, 1)])
def test_which_statuses_are_overloads(reqs: list[GenerationRequest], status: int, backoffs: int) -> None:
    """Each prompt fails once with ``status`` (in-memory transport: the fake server has no 502 or 504)."""
    seen: set[str] = set()

    def answer(request: httpx.Request) -> httpx.Response:
        prompt = json.dumps(json.loads(request.content)["messages"])
        if prompt not in seen:
            seen.add(prompt)
            return httpx.Response(status, json={"error": {"message": "x"}}, headers={"Retry-After": "0"})
        body = {"choices": [{"index": 0, "message": {"content": "A"}, "finish_reason": "stop"}]}
        return httpx.Response(200, json=body)

    model = OpenAIChatModel("m", "http://127.0.0.1:9/v1", max_connections=8)
    model._client = httpx.AsyncClient(base_url="http://127.0.0.1:9/v1/", transport=httpx.MockTransport(answer))
    assert all(isinstance(g, Generation) and g.attempts == 2 for g in _all(model, reqs))
    # one attempt at a time here (the in-memory transport never waits), so each overload is its own window
    assert min(model.limiter.backoffs, 1) == backoffs and model.limiter.rate_limits == 8 * backoffs


# --- a run: the summary and the switch ------------------------------------------------------------------


def test_a_run_behind_a_queue_answers_everything_and_says_where_it_settled(pytester: pytest.Pytester) -> None:
    """--mlb-timeout=1 and a server that takes 1.5 s to start every answer: streamed, nothing times out."""
    write_native(pytester.path / "s" / "a.jsonl", 4)
    with FakeOpenAIServer(ServerConfig(latency_s=1.5)) as srv:
        r = pytester.runpytest(
            "s",
            f"--mlb-model=openai:fake@{srv.base_url}",
            "--mlb-report=r.json",
            "--mlb-timeout=1",
            "--mlb-retries=0",
            "--mlb-concurrency=4",
            "--mlb-no-cache",
        )
        assert srv.stats()["streamed"] == 4
    report = load_report(pytester.path / "r.json")
    assert [i["outcome"] for i in report["items"]] == ["pass"] * 4
    assert report["run"]["generation"]["sent"] == 4 and report["run"]["concurrency"]["backoffs"] == 0
    r.stdout.fnmatch_lines(["concurrency: settled at 4 (started 4, lowest 4; 0 back-offs on 0 timeouts*)"])


@pytest.mark.skipif(
    "adaptive" not in inspect.signature(build_model).parameters or "fixed_concurrency" not in plugin._CLI_NAMES,
    reason="--mlb-fixed-concurrency is not passed on yet (plugin._CLI_NAMES, run/setup.py, models/spec.build_model)",
)
def test_fixed_concurrency_holds_the_limit(pytester: pytest.Pytester) -> None:
    write_native(pytester.path / "s" / "a.jsonl", 8)
    cfg = ServerConfig(fail_first=1, fail_kinds=("overload",), retry_after_s=0)
    with FakeOpenAIServer(cfg) as srv:
        r = pytester.runpytest(
            "s",
            f"--mlb-model=openai:fake@{srv.base_url}",
            "--mlb-report=r.json",
            "--mlb-concurrency=8",
            "--mlb-fixed-concurrency",
            "--mlb-no-cache",
        )
    report = load_report(pytester.path / "r.json")
    conc = report["run"]["concurrency"]
    assert report["run"]["options"]["fixed_concurrency"] is True
    assert conc["adaptive"] is False and conc["final"] == conc["lowest"] == 8 and conc["backoffs"] == 0
    r.stdout.fnmatch_lines(["concurrency: fixed at 8 (--mlb-fixed-concurrency; *)"])


def test_the_switch_is_a_setting_recorded_in_the_report(pytester: pytest.Pytester) -> None:
    write_native(pytester.path / "s" / "a.jsonl", 2)
    pytester.runpytest("s", "--mlb-model=mock:oracle", "--mlb-report=r.json")
    assert load_report(pytester.path / "r.json")["run"]["options"]["fixed_concurrency"] is False
    (pytester.path / "pyproject.toml").write_text("[tool.mlb]\nfixed_concurrency = true\n", encoding="utf-8")
    r = pytester.runpytest("s", "--mlb-model=mock:oracle", "--mlb-report=r.json", "--help")
    r.stdout.fnmatch_lines(["*--mlb-fixed-concurrency*"])
    pytester.runpytest("s", "--mlb-model=mock:oracle", "--mlb-report=r.json")
    assert load_report(pytester.path / "r.json")["run"]["options"]["fixed_concurrency"] is True
