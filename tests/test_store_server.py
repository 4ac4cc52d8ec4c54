"""A run spread over several hosts: the controller serves its response store (``--mlb-store-server``).

Two "hosts" are two xdist worker groups started in their own folders (``--tx 2*popen//chdir=...`` with
the suite copied there by ``--rsyncdir``, as ``--tx ssh=...`` would), each with a relative
``--mlb-cache`` that resolves inside its own folder: without the server each group keeps its own
SQLite file and sends the same request again; with it every worker claims through the controller.
The model is the project's OpenAI-compatible server on 127.0.0.1; the stores are real SQLite files.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from release_fixture import write_native

from conftest import load_report
from mlb_pytest.cache import CacheError, ResponseStore
from mlb_pytest.cache_server import RemoteStore, StoreServer, parse_address
from mlb_pytest.testing import FakeOpenAIServer, ServerConfig

SAME = {"question": "同一题：下列哪项正确？", "options": {"A": "甲", "B": "乙", "C": "丙"}}


@pytest.fixture
def served(tmp_path: Path):  # type: ignore[no-untyped-def]
    server = StoreServer(tmp_path / "c.sqlite")
    yield server
    server.close()


def test_claims_through_the_server_behave_as_on_the_file(served: StoreServer, tmp_path: Path) -> None:
    a = RemoteStore(served.url, served.token, "run1", "run1:hostA:1")
    b = RemoteStore(served.url, served.token, "run1", "run1:hostB:2")
    assert a.claim("k1", 30.0) == "mine"
    assert b.claim("k1", 30.0) == "taken"  # a live claim of another host holds it
    assert a.claim("k1", 30.0) == "mine"
    state = b.claims(["k1", "k2"])
    assert list(state) == ["k1"] and state["k1"].owner == "run1:hostA:1" and state["k1"].state == "pending"
    a.put("k1", "m", "答案A", {"latency_s": 0.5})
    assert b.claim("k1", 30.0) == "done"
    got = b.get_many(["k1", "k2"])
    assert list(got) == ["k1"] and got["k1"][0] == "答案A" and got["k1"][1]["latency_s"] == 0.5
    a.fail("k3", "HTTP 500 after 4 attempts", 30.0) if a.claim("k3", 30.0) == "mine" else None
    assert b.claims(["k3"])["k3"].error == "HTTP 500 after 4 attempts"
    assert b.claim("k4", 0.01) == "mine"
    time.sleep(0.05)
    assert a.claim("k4", 30.0) == "mine"  # an expired lease is taken over
    assert a.release() == 1  # k4 was pending (k3 failed), and only this owner's
    # it is the controller's own file: a local store sees the same rows
    local = ResponseStore(tmp_path / "c.sqlite", "run2", "run2:here:3")
    assert local.get_many(["k1"]) == got
    local.close()
    a.close()
    b.close()


def test_a_wrong_token_or_a_dead_server_is_a_cache_error(served: StoreServer) -> None:
    intruder = RemoteStore(served.url, "not-the-token", "run1", "x:y:1")
    with pytest.raises(CacheError, match="wrong or missing store token"):
        intruder.claim("k", 30.0)
    assert served.requests == 0
    url = served.url
    served.close()
    gone = RemoteStore(url, served.token, "run1", "x:y:1", timeout_s=2.0)
    with pytest.raises(CacheError, match=f"response store server {url}: ConnectError"):
        gone.get_many(["k"])


@pytest.mark.parametrize(
    "text, expected",
    [("127.0.0.1:0", ("127.0.0.1", 0)), (":8765", ("0.0.0.0", 8765)), ("[::1]:9", ("[::1]", 9))],
)
def test_addresses(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["localhost", "host:port", "h:70000"])
def test_bad_addresses_are_refused_with_the_option_named(text: str) -> None:
    with pytest.raises(ValueError, match="--mlb-store-server"):
        parse_address(text)


def _responses(path: Path) -> int:
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT count(*) FROM responses").fetchone()[0])


def _run_two_hosts(pytester: pytest.Pytester, url: str, *extra: str) -> pytest.RunResult:
    for host in ("hostA", "hostB"):
        (pytester.path / host).mkdir(exist_ok=True)
    return pytester.runpytest_subprocess(
        str(pytester.path / "s"),  # absolute: xdist maps it into each host's copy
        f"--mlb-model=openai:served@{url}",
        "--mlb-cache=c.sqlite",
        "--mlb-report=r.json",
        "--mlb-retries=0",
        "-p",
        "no:cacheprovider",
        "--tx",
        f"2*popen//chdir={pytester.path / 'hostA'}",
        "--tx",
        f"2*popen//chdir={pytester.path / 'hostB'}",
        "--rsyncdir",
        str(pytester.path / "s"),
        "--dist",
        "load",
        "-W",
        "ignore::DeprecationWarning",
        *extra,
    )


def test_two_worker_groups_share_one_store_on_the_controller(pytester: pytest.Pytester) -> None:
    write_native(pytester.path / "s" / "demo.jsonl", 16, **SAME)  # 16 items, one request
    with FakeOpenAIServer(ServerConfig(responder=lambda messages: "A")) as server:
        apart = _run_two_hosts(pytester, server.base_url)
        assert apart.ret == 0, apart.stdout.str()
        # each host kept its own file and asked again: the duplicate this option removes
        assert server.stats()["ok"] == 2
        assert _responses(pytester.path / "hostA" / "c.sqlite") == 1 == _responses(pytester.path / "hostB" / "c.sqlite")
        assert _responses(pytester.path / "c.sqlite") == 0

        for host in ("hostA", "hostB"):
            (pytester.path / host / "c.sqlite").unlink()
        server.reset_stats()
        shared = _run_two_hosts(pytester, server.base_url, "--mlb-store-server=127.0.0.1:0")
        assert shared.ret == 0, shared.stdout.str()
        assert server.stats()["ok"] == 1  # one request for the whole run, across both groups
        assert _responses(pytester.path / "c.sqlite") == 1  # and its answer on the controller's disk
        assert not (pytester.path / "hostA" / "c.sqlite").exists()
        report = load_report(pytester.path / "r.json")
        assert len(report["items"]) == 16 and report["run"]["options"]["store_server"] == "127.0.0.1:0"
        assert report["run"]["generation"]["processes"] == 4

        server.reset_stats()
        again = _run_two_hosts(pytester, server.base_url, "--mlb-store-server=127.0.0.1:0")
        assert again.ret == 0 and server.stats()["requests"] == 0  # the next run finds it there
