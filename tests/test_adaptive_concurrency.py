"""Adaptive concurrency (issue 17): the AIMD limiter, and the client against a one-slot server on 127.0.0.1.

The server here is llama.cpp with one slot, made small: it serves one request at a time and either
answers 429 (with Retry-After) to a request that arrives while another is served, or queues it
(``slow``) and keeps working on requests whose client has given up.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st
from release_fixture import write_native

from conftest import load_report
from mlb_pytest.engine import Engine
from mlb_pytest.models import GenerationRequest, ModelError
from mlb_pytest.models.concurrency import AdaptiveLimiter
from mlb_pytest.models.openai import OpenAIChatModel, RetryPolicy
from mlb_pytest.suites import load_suite_file

# --- the limiter ----------------------------------------------------------------------------------


def _full_overload(lim: AdaptiveLimiter) -> None:
    """Fill every slot, then one attempt times out and the others end without saying anything."""
    tokens = [lim.try_acquire() for _ in range(lim.limit)]
    assert None not in tokens and lim.try_acquire() is None
    lim.release(tokens[0] or 0, "overload")
    for tok in tokens[1:]:
        lim.release(tok or 0, "neutral")


def test_starts_at_the_maximum_and_a_timeout_halves() -> None:
    lim = AdaptiveLimiter(64)
    assert (lim.limit, lim.lowest, lim.backoffs) == (64, 64, 0)
    _full_overload(lim)
    assert (lim.limit, lim.lowest, lim.backoffs) == (32, 32, 1)
    for expected in (16, 8, 4, 2, 1, 1, 1):  # floor 1
        _full_overload(lim)
        assert lim.limit == expected
    assert lim.lowest == 1 and lim.backoffs == 8 and lim.in_flight == 0


def test_it_halves_what_was_in_flight_when_that_is_below_the_limit() -> None:
    lim = AdaptiveLimiter(32)
    tokens = [lim.try_acquire() or 0 for _ in range(10)]  # 10 requests under a limit of 32
    lim.release(tokens.pop(), "overload")
    assert lim.limit == 5  # not 16, which would let all ten out again


def test_a_burst_from_one_overload_counts_once() -> None:
    lim = AdaptiveLimiter(16)
    tokens = [lim.try_acquire() for _ in range(16)]
    assert None not in tokens and lim.try_acquire() is None  # full
    for tok in tokens:  # all sent before the first decrease: one window
        lim.release(tok or 0, "overload")
    assert (lim.limit, lim.backoffs, lim.overloads) == (8, 1, 16)
    _full_overload(lim)  # sent after the decrease: a new window
    assert (lim.limit, lim.backoffs) == (4, 2)


def test_successes_grow_the_limit_by_one_per_window() -> None:
    lim = AdaptiveLimiter(6)
    lim.release(lim.try_acquire() or 0, "overload")  # one attempt in flight: limit 1
    assert lim.limit == 1
    for limit in (1, 2, 3, 4, 5):
        for i in range(limit):  # `limit` successes of this window, then one more slot
            assert lim.limit == limit, (limit, i)
            lim.release(lim.try_acquire() or 0, "success")
        assert lim.limit == limit + 1
    for _ in range(20):  # never above the maximum
        lim.release(lim.try_acquire() or 0, "success")
    assert lim.limit == 6 and lim.snapshot() == {
        "configured": 6,
        "final": 6,
        "lowest": 1,
        "backoffs": 1,
        "overloads": 1,
        "timeouts": 0,
        "rate_limits": 0,
        "adaptive": True,
    }


def test_successes_of_attempts_sent_before_a_decrease_do_not_count() -> None:
    lim = AdaptiveLimiter(8)
    old = [lim.try_acquire() or 0 for _ in range(8)]
    lim.release(old.pop(), "overload")
    assert lim.limit == 4
    for tok in old:  # the server catching up on the old window says nothing about the new limit
        lim.release(tok, "success")
    assert lim.limit == 4


def test_neutral_outcomes_and_a_fixed_limiter_change_nothing() -> None:
    lim = AdaptiveLimiter(4)
    lim.release(lim.try_acquire() or 0, "neutral")
    assert lim.limit == 4 and lim.in_flight == 0
    fixed = AdaptiveLimiter(4, adaptive=False)
    for _ in range(5):
        fixed.release(fixed.try_acquire() or 0, "overload")
    assert fixed.limit == 4 and fixed.backoffs == 0 and fixed.overloads == 5


_ops = st.lists(
    st.tuples(st.sampled_from(["acquire", "success", "overload", "neutral"]), st.integers(0, 63)), max_size=300
)


@given(st.integers(1, 64), _ops)
def test_the_limit_stays_within_one_and_the_maximum(maximum: int, ops: list[tuple[str, int]]) -> None:
    lim = AdaptiveLimiter(maximum)
    held: list[int] = []
    for op, pick in ops:
        if op == "acquire":
            tok = lim.try_acquire()
            if tok is not None:
                held.append(tok)
        elif held:
            before, flight, fresh = lim.limit, len(held), held[pick % len(held)] == lim._epoch
            lim.release(held.pop(pick % len(held)), op)  # type: ignore[arg-type]
            if op == "overload" and fresh:  # a timeout halves (what was in flight, when fewer)
                assert lim.limit == max(1, min(before, flight) // 2)
            elif op == "overload" or op == "neutral":  # a window already counted, or nothing to say
                assert lim.limit == before
            else:  # successes add at most one at a time
                assert lim.limit in (before, before + 1)
        assert 1 <= lim.lowest <= lim.limit <= maximum
        assert lim.in_flight == len(held) <= maximum
        assert lim.backoffs <= lim.overloads


@given(st.integers(1, 64), st.integers(0, 10))
def test_one_overload_at_full_flight_halves_from_any_limit(maximum: int, decreases: int) -> None:
    lim = AdaptiveLimiter(maximum)
    for _ in range(decreases):
        _full_overload(lim)
    before = lim.limit
    _full_overload(lim)
    assert lim.limit == max(1, before // 2) and lim.lowest == lim.limit


@given(st.integers(1, 16), st.integers(1, 200))
def test_a_run_of_successes_grows_one_per_window(start: int, successes: int) -> None:
    lim = AdaptiveLimiter(64)
    lim.release(lim.try_acquire() or 0, "overload")
    lim.limit = start  # as if it had settled there
    expected, left = start, successes
    while left >= expected and expected < 64:  # each window of `expected` successes adds one
        left -= expected
        expected += 1
    for _ in range(successes):
        lim.release(lim.try_acquire() or 0, "success")
    assert lim.limit == expected


def test_waiters_are_let_in_as_slots_free_and_a_cancelled_one_loses_nothing() -> None:
    async def go() -> None:
        lim = AdaptiveLimiter(2)
        a, b = await lim.acquire(), await lim.acquire()
        third = asyncio.ensure_future(lim.acquire())
        fourth = asyncio.ensure_future(lim.acquire())
        await asyncio.sleep(0.01)
        assert not third.done() and lim.in_flight == 2
        third.cancel()
        lim.release(a, "success")
        assert await asyncio.wait_for(fourth, 1) == 0  # the cancelled waiter was skipped
        lim.release(b, "overload")  # limit 1, one still in flight
        fifth = asyncio.ensure_future(lim.acquire())
        await asyncio.sleep(0.01)
        assert not fifth.done()
        lim.release(0)
        assert await asyncio.wait_for(fifth, 1) == 1 and lim.in_flight == 1

    asyncio.run(go())


# --- a one-slot server ----------------------------------------------------------------------------


class OneSlotServer:
    """An OpenAI-compatible server on 127.0.0.1 that serves one request at a time.

    ``mode="429"``: a request arriving while another is served gets 429 with ``Retry-After``.
    ``mode="slow"``: it waits for the slot, as llama.cpp queues, and is served even when its client
    has given up (the handler is not cancelled on disconnect).
    """

    def __init__(self, mode: str, service_s: float = 0.02, retry_after: str = "0.05") -> None:
        self.mode, self.service_s, self.retry_after = mode, service_s, retry_after
        self.busy = 0
        self.max_busy = 0
        self.requests = 0
        self.rejected = 0
        self.served = 0
        self.gaps: list[float] = []  # seconds from a 429 to the next request for the same prompt
        self._last_429: dict[str, float] = {}
        self._loop = asyncio.new_event_loop()
        self._slot: asyncio.Lock | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def _chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        prompt = json.dumps(body["messages"], sort_keys=True)
        now = time.monotonic()
        self.requests += 1
        if prompt in self._last_429:
            self.gaps.append(now - self._last_429.pop(prompt))
        assert self._slot is not None
        if self.mode == "429" and self._slot.locked():
            self.rejected += 1
            self._last_429[prompt] = now
            return web.json_response(
                {"error": {"message": "busy", "type": "rate_limit"}},
                status=429,
                headers={"Retry-After": self.retry_after},
            )
        async with self._slot:
            self.busy += 1
            self.max_busy = max(self.max_busy, self.busy)
            await asyncio.sleep(self.service_s)
            self.busy -= 1
            self.served += 1
        return web.json_response(
            {
                "id": "x",
                "object": "chat.completion",
                "model": body["model"],
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "A"}, "finish_reason": "stop"}],
            }
        )

    async def _start(self) -> int:
        self._slot = asyncio.Lock()
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=False, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        return int(self._runner.addresses[0][1])

    def __enter__(self) -> OneSlotServer:
        self._thread.start()
        port = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self

    async def _stop(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()
        rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in rest:  # abandoned requests still queued for the slot
            t.cancel()
        await asyncio.gather(*rest, return_exceptions=True)

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


def _requests(tmp_path: Path, n: int) -> list[GenerationRequest]:
    items = load_suite_file(write_native(tmp_path / "d.jsonl", n)).items
    return [GenerationRequest(item, {"temperature": 0.0, "max_tokens": 8}) for item in items]


def _run(model: OpenAIChatModel, reqs: list[GenerationRequest], concurrency: int) -> tuple[int, dict[str, Any]]:
    """All requests through the engine; (errors, run.concurrency)."""
    engine = Engine(model, concurrency=concurrency)
    engine.start(reqs)
    try:
        errors = 0
        for r in reqs:
            try:
                assert engine.result(r.key).text == "A"
            except ModelError:
                errors += 1
        return errors, engine.concurrency_stats()
    finally:
        engine.close()


def _model(
    url: str, adaptive: bool, retries: int = 4, timeout_s: float = 120.0, stream: bool = True
) -> OpenAIChatModel:
    retry = RetryPolicy(max_retries=retries, backoff_base_s=0.01, backoff_max_s=0.05)
    return OpenAIChatModel(
        "one-slot", url, retry=retry, timeout_s=timeout_s, max_connections=32, adaptive=adaptive, stream=stream
    )


def test_429s_from_a_one_slot_server_settle_the_limit_low(tmp_path: Path) -> None:
    """32 configured, one slot, the default 4 retries: without adaptation most requests give up."""
    reqs = _requests(tmp_path, 30)
    with OneSlotServer("429") as fixed_srv:
        fixed_errors, fixed = _run(_model(fixed_srv.base_url, adaptive=False), reqs, 32)
    with OneSlotServer("429") as srv:
        errors, conc = _run(_model(srv.base_url, adaptive=True), reqs, 32)
    assert fixed["final"] == 32 and fixed["backoffs"] == 0 and fixed_errors >= 12
    assert errors <= 2 and srv.served >= 28  # the first rounds of 429s still cost attempts
    assert conc["configured"] == 32 and conc["final"] <= 2 and conc["lowest"] == 1 and conc["backoffs"] >= 4
    assert srv.rejected < fixed_srv.rejected
    assert srv.gaps and min(srv.gaps) >= 0.045  # Retry-After: 0.05 is waited for before the next attempt


def test_timeouts_behind_a_queueing_server_back_off(tmp_path: Path) -> None:
    """llama.cpp with one slot: queued requests time out while the server still serves them.

    Not streamed (this server answers plain JSON), so the timeout bounds the whole request, queue
    included: the case the limiter is for. Streaming servers: ``test_slow_server.py``.
    """
    reqs = _requests(tmp_path, 24)
    with OneSlotServer("slow", service_s=0.03) as fixed_srv:
        plain = _model(fixed_srv.base_url, adaptive=False, retries=3, timeout_s=0.25, stream=False)
        fixed_errors, _ = _run(plain, reqs, 32)
    with OneSlotServer("slow", service_s=0.03) as srv:
        plain = _model(srv.base_url, adaptive=True, retries=3, timeout_s=0.25, stream=False)
        errors, conc = _run(plain, reqs, 32)
    assert fixed_errors >= 8 and errors <= fixed_errors // 4
    # about 0.25 s / 0.03 s = 8 requests fit in the timeout: the limit settles below that, after a trough
    assert conc["lowest"] <= 2 and conc["final"] <= 8 and conc["backoffs"] >= 2
    assert srv.requests < fixed_srv.requests  # fewer abandoned attempts for the server to work through


@pytest.fixture
def one_slot() -> Iterator[OneSlotServer]:
    with OneSlotServer("429", retry_after="0") as srv:
        yield srv


def test_the_report_says_where_concurrency_settled(pytester: pytest.Pytester, one_slot: OneSlotServer) -> None:
    write_native(pytester.path / "s" / "a.jsonl", 20)
    r = pytester.runpytest(
        "s",
        f"--mlb-model=openai:one-slot@{one_slot.base_url}",
        "--mlb-report=r.json",
        "--mlb-concurrency=16",
        "--mlb-no-cache",
        "--mlb-retries=6",
    )
    report = load_report(pytester.path / "r.json")
    conc = report["run"]["concurrency"]
    assert conc["configured"] == 16 and conc["final"] <= 2 and conc["backoffs"] >= 1 and conc["adaptive"] is True
    assert not [i for i in report["items"] if i["outcome"] == "error"]
    assert "generation" in report["run"] and "concurrency" not in report["run"]["generation"]
    r.stdout.fnmatch_lines(["concurrency: settled at ? (started 16, lowest 1; * back-offs on *rate limits*)"])
