"""The engine and the SQLite cache: one request per item per run, whatever -n; re-runs send nothing."""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from pathlib import Path

import pytest
from release_fixture import write_native

from conftest import load_report
from mlb_pytest.cache import ResponseStore

COUNTING_MODEL = """
import hashlib, os, time

def answer(messages, **params):
    time.sleep(0.01)
    digest = hashlib.sha256(messages[0]["content"].encode()).hexdigest()
    with open(os.environ["MLB_TEST_CALLS"], "a") as fh:
        fh.write(digest + "\\n")
    return "A"
"""


@pytest.fixture
def counted(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    calls = pytester.path / "calls.txt"
    calls.touch()
    monkeypatch.setenv("MLB_TEST_CALLS", str(calls))
    pytester.makepyfile(counting_model=COUNTING_MODEL)
    write_native(pytester.path / "s" / "a.jsonl", 40)
    write_native(
        pytester.path / "s" / "b.jsonl",
        40,
        header={
            "dataset": "DemoB",
            "dimension": "MedSE",
            "mirrors": "MASafety",
            "prompt": "安全题：${question}\n${options}",
        },
    )
    return calls


def _calls(path: Path) -> Counter[str]:
    return Counter(path.read_text().split())


def test_rerun_sends_nothing_and_scores_the_same(pytester: pytest.Pytester, counted: Path) -> None:
    args = ["s", "--mlb-model=python:counting_model:answer", "-p", "no:cacheprovider"]
    first = pytester.runpytest_subprocess(*args, "--mlb-report=r1.json")
    first.assert_outcomes(passed=80)
    assert sum(_calls(counted).values()) == 80 and max(_calls(counted).values()) == 1
    second = pytester.runpytest_subprocess(*args, "--mlb-report=r2.json")
    second.assert_outcomes(passed=80)
    assert sum(_calls(counted).values()) == 80  # nothing new was sent
    r1, r2 = load_report(pytester.path / "r1.json"), load_report(pytester.path / "r2.json")
    assert r2["run"]["generation"]["cached"] == 80 and r2["run"]["generation"]["requests"] == 0
    assert r1["datasets"] == r2["datasets"] and r1["dimensions"] == r2["dimensions"]
    assert {i["origin"] for i in r2["items"]} == {"cache"}
    third = pytester.runpytest_subprocess(*args, "--mlb-no-cache")
    third.assert_outcomes(passed=80)
    assert sum(_calls(counted).values()) == 160


@pytest.mark.parametrize("cache_flag", [[], ["--mlb-no-cache"]])
def test_xdist_requests_each_item_once(pytester: pytest.Pytester, counted: Path, cache_flag: list[str]) -> None:
    base = ["s", "--mlb-model=python:counting_model:answer", "-p", "no:cacheprovider", "--mlb-no-cache"]
    single = pytester.runpytest_subprocess(*base, "--mlb-report=single.json")
    single.assert_outcomes(passed=80)
    counted.write_text("")
    args = [
        "s",
        "--mlb-model=python:counting_model:answer",
        "-p",
        "no:cacheprovider",
        "-n",
        "2",
        "--mlb-report=xdist.json",
        *cache_flag,
    ]
    result = pytester.runpytest_subprocess(*args)
    result.assert_outcomes(passed=80)
    calls = _calls(counted)
    assert len(calls) == 80 and set(calls.values()) == {1}, calls.most_common(3)
    a, b = load_report(pytester.path / "single.json"), load_report(pytester.path / "xdist.json")
    for part in ("datasets", "dimensions", "overall"):
        assert a[part] == b[part]
    assert a["run"]["suite_fingerprint"] == b["run"]["suite_fingerprint"]
    gen = b["run"]["generation"]
    assert gen["processes"] == 2 and gen["requests"] == 80


def test_corrupt_cache_file_is_named(pytester: pytest.Pytester, counted: Path) -> None:
    bad = pytester.path / "bad.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    r = pytester.runpytest_subprocess("s", "--mlb-model=python:counting_model:answer", f"--mlb-cache={bad}")
    assert r.ret != 0
    r.stdout.fnmatch_lines([f"*response cache {bad}*file is not a database*--mlb-no-cache*"])
    assert bad.read_bytes().startswith(b"this is not a database")  # never overwritten


def test_claims_lease_and_errors(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    a = ResponseStore(db, "run1", "run1:a")
    b = ResponseStore(db, "run1", "run1:b")
    assert a.claim("k", lease_s=60) == "mine" and b.claim("k", lease_s=60) == "taken"
    assert a.claim("k", lease_s=60) == "mine"  # re-claiming one's own key is fine
    a.fail("k", "timeout: no answer", lease_s=60)
    assert b.claims(["k"])["k"].state == "error" and b.claim("k", lease_s=60) == "taken"
    later = ResponseStore(db, "run2", "run2:c")  # a later run retries an errored item
    assert later.claim("k", lease_s=60) == "mine"
    assert b.claim("x", lease_s=-1) == "mine"  # expired at once: a dead owner's claim is taken over
    assert a.claim("x", lease_s=60) == "mine"
    a.put("x", "m", "answer", {"attempts": 1})
    assert b.claim("x", lease_s=60) == "done"  # stored answers are never requested again
    got = b.get_many(["x", "nope"])
    assert list(got) == ["x"] and got["x"][0] == "answer" and got["x"][1]["attempts"] == 1
    assert abs(got["x"][1]["stored_at"] - time.time()) < 60  # when it was stored: the summary names it
    assert b.get_many(["x"], max_age_s=0.0) == {}  # older than the allowed age: asked again
    assert "x" not in b.claims(["x"])
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
