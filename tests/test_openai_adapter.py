"""The openai: adapter against a real local server (127.0.0.1): retries, Retry-After, errors, key."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from release_fixture import write_native

from conftest import load_report
from mlb_pytest.models import GenerationRequest, ModelError
from mlb_pytest.models.openai import OpenAIChatModel, RetryPolicy
from mlb_pytest.suites import load_suite_file
from mlb_pytest.testing import FakeOpenAIServer, ServerConfig


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(ServerConfig()) as s:
        yield s


@pytest.fixture
def request_(tmp_path: Path) -> GenerationRequest:
    item = load_suite_file(write_native(tmp_path / "d.jsonl", 1)).items[0]
    return GenerationRequest(item, {"temperature": 0.0, "max_tokens": 16})


def _call(model: OpenAIChatModel, req: GenerationRequest):
    async def go():
        try:
            return await model.generate(req)
        finally:
            await model.aclose()

    return asyncio.run(go())


def _model(server: FakeOpenAIServer, **kw) -> OpenAIChatModel:
    retry = RetryPolicy(max_retries=kw.pop("retries", 3), backoff_base_s=0.01, backoff_max_s=0.05)
    return OpenAIChatModel("fake", server.base_url, retry=retry, **kw)


def test_answer_reasoning_and_usage(server: FakeOpenAIServer, request_: GenerationRequest) -> None:
    server.config.responder = lambda messages: "<think>maybe B</think>答案：A"
    gen = _call(_model(server), request_)
    assert (gen.text, gen.raw, gen.attempts) == ("答案：A", "<think>maybe B</think>答案：A", 1)
    assert gen.usage and gen.usage["total_tokens"] > 0


def test_429_waits_for_retry_after(server: FakeOpenAIServer, request_: GenerationRequest) -> None:
    server.config.fail_first, server.config.fail_kinds, server.config.retry_after_s = 1, ("429",), 1
    started = time.perf_counter()
    gen = _call(_model(server), request_)
    assert gen.attempts == 2 and time.perf_counter() - started >= 0.95


@pytest.mark.parametrize(
    "kind,message",
    [("500", "HTTP 500"), ("html", r"non-JSON body \(text/html"), ("drop", "closed the connection without a response")],
)
def test_failures_are_retried_then_reported(
    server: FakeOpenAIServer, request_: GenerationRequest, kind: str, message: str
) -> None:
    server.config.fail_first, server.config.fail_kinds = 2, (kind,)
    assert _call(_model(server), request_).attempts == 3
    server.config.fail_first = 100
    with pytest.raises(ModelError, match=message) as exc:
        _call(_model(server, retries=2), request_)
    assert exc.value.attempts == 3 and "after 3 attempts" in str(exc.value)


@pytest.mark.parametrize(
    "kw",
    [{"stream": False, "timeout_s": 0.3}, {"queue_timeout_s": 0.3}],
    ids=["plain: the timeout", "streamed: the queue budget"],
)
def test_timeouts_are_bounded(server: FakeOpenAIServer, request_: GenerationRequest, kw: dict[str, Any]) -> None:
    server.config.fail_first, server.config.fail_kinds = 100, ("timeout",)
    started = time.perf_counter()
    with pytest.raises(ModelError, match="timeout: no answer within 0 s") as exc:
        _call(_model(server, retries=1, **kw), request_)
    assert exc.value.attempts == 2 and time.perf_counter() - started < 3


def test_client_errors_are_not_retried_and_never_show_the_key(
    server: FakeOpenAIServer, request_: GenerationRequest
) -> None:
    server.config.require_api_key = "right-key"
    with pytest.raises(ModelError, match="HTTP 401, authentication failed: set OPENAI_API_KEY or MLB_API_KEY") as exc:
        _call(_model(server, api_key="sk-wrong-secret"), request_)
    assert exc.value.attempts == 1 and "sk-wrong-secret" not in str(exc.value)
    assert server.stats()["requests"] == 1
    assert _call(_model(server, api_key="right-key"), request_).text == "A"


def test_retry_after_above_the_cap_is_an_error(server: FakeOpenAIServer, request_: GenerationRequest) -> None:
    server.config.fail_first, server.config.fail_kinds, server.config.retry_after_s = 1, ("429",), 3600
    with pytest.raises(ModelError, match="asks to wait 3600 s"):
        _call(_model(server), request_)


def test_a_run_with_30_percent_failures_loses_nothing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_native(pytester.path / "s" / "a.jsonl", 150)
    cfg = ServerConfig(fail_rate=0.3, retry_after_s=0, seed=3, responder=lambda m: "A")
    monkeypatch.setenv("MLB_API_KEY", "sk-never-logged")
    with FakeOpenAIServer(cfg) as srv:
        r = pytester.runpytest(
            "s",
            f"--mlb-model=openai:fake@{srv.base_url}",
            "--mlb-report=r.json",
            "--mlb-retries=1",
            "--mlb-concurrency=16",
            "--mlb-no-cache",
        )
        stats = srv.stats()
    report = load_report(pytester.path / "r.json")
    items = report["items"]
    assert len(items) == 150 and sum(stats["failed"].values()) > 30
    errors = [i for i in items if i["outcome"] == "error"]
    scored = [i for i in items if i["outcome"] in ("pass", "wrong")]
    assert len(errors) + len(scored) == 150 and errors  # with one retry some items stay failed
    assert all(i["response"] == "A" and i["score"] == 1.0 for i in scored)  # nothing scored from a failure
    assert all(i["error"] and i["score"] is None for i in errors)
    kinds = {i["error"].split(":")[0] for i in errors}
    assert kinds <= {"http", "rate_limit", "protocol", "transport"}
    assert "sk-never-logged" not in json.dumps(report) and "sk-never-logged" not in r.stdout.str()
    r.assert_outcomes(passed=len(scored), errors=len(errors))


def test_endpoint_down_is_an_infrastructure_error(pytester: pytest.Pytester) -> None:
    write_native(pytester.path / "s" / "a.jsonl", 3)
    r = pytester.runpytest("s", "--mlb-model=openai:fake@http://127.0.0.1:9/v1", "--mlb-retries=0", "--mlb-no-cache")
    r.assert_outcomes(errors=3)
    r.stdout.fnmatch_lines(
        [
            "*transport: cannot connect to http://127.0.0.1:9/v1*",
            "MLB gate: ERROR (*infrastructure failure, not a regression*",
        ]
    )
