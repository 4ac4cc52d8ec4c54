"""Settings precedence, model specs, reasoning stripping, Retry-After parsing."""

from __future__ import annotations

import email.utils

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlb_pytest.config import ConfigError, resolve
from mlb_pytest.models import parse_spec, strip_reasoning
from mlb_pytest.models.openai import RetryPolicy, parse_retry_after
from mlb_pytest.models.spec import SpecError


def test_cli_over_pyproject_over_defaults() -> None:
    s = resolve({"concurrency": None, "limit": 5}, {"concurrency": 8, "limit": 2, "gates": {"MedSE": ">=0.9"}})
    assert (s.concurrency, s.limit, s.samples) == (8, 5, 1)
    assert s.extra["gates"] == {"MedSE": ">=0.9"}


@pytest.mark.parametrize(
    "table,message",
    [
        ({"concurrency": "many"}, "concurrency must be an integer"),
        ({"colour": 1}, "unknown key 'colour'"),
        ({"samples": 0}, "--mlb-samples must be at least 1"),
    ],
)
def test_bad_settings_are_named(table: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve({}, table)


def test_model_specs() -> None:
    s = parse_spec("openai:qwen2.5-72b@http://gpu-box:8000/v1")
    assert (s.kind, s.target, s.base_url, s.slug) == ("openai", "qwen2.5-72b", "http://gpu-box:8000/v1", "qwen2.5-72b")
    assert parse_spec("openai:org/model@v2@https://h/v1").target == "org/model@v2"
    assert parse_spec("python:pkg.mod:fn").target == "pkg.mod:fn"
    for bad in ("gpt-4", "openai:m", "openai:m@ftp://x", "nope:x", "mock:"):
        with pytest.raises(SpecError):
            parse_spec(bad)


@pytest.mark.parametrize(
    "raw,text",
    [
        ("<think>A or B? B.</think>\n答案：C", "答案：C"),
        ("先想想</think>C", "C"),
        ("<think>unfinished thoughts", ""),
        ("plain answer", "plain answer"),
        ("<think>x</think>A<think>y</think>", "A"),
    ],
)
def test_reasoning_is_stripped(raw: str, text: str) -> None:
    assert strip_reasoning(raw) == text


@given(st.text())
def test_strip_reasoning_never_keeps_a_think_block(raw: str) -> None:
    out = strip_reasoning(f"<think>{raw.replace('<', '')}</think>X")
    assert out == "X"


def test_retry_after_seconds_and_dates() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    date = email.utils.formatdate(1_000_030, usegmt=True)
    assert parse_retry_after(date, now=1_000_000) == pytest.approx(30.0)


@given(attempt=st.integers(1, 20), seed=st.integers(0, 10**6))
def test_backoff_is_jittered_and_capped(attempt: int, seed: int) -> None:
    import random

    p = RetryPolicy(backoff_base_s=0.5, backoff_max_s=20.0)
    wait = p.backoff(attempt, random.Random(seed))
    assert 0.0 <= wait <= min(20.0, 0.5 * 2**attempt)
