"""Run integrity: revisions in every answer's key, complete-or-say-so, waits that end, keys per host.

The model under test is the project's own OpenAI-compatible server on 127.0.0.1 (a real HTTP
server in this process), the cache is a real SQLite file, and the interrupted run is a real
pytest process that receives SIGINT.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from release_fixture import write_native

from conftest import load_report
from mlb_pytest.cache import CacheError, ResponseStore, owner_is_dead, process_owner
from mlb_pytest.config import ConfigError, parse_duration
from mlb_pytest.engine import Engine
from mlb_pytest.models import Generation, GenerationRequest, ModelError, parse_spec
from mlb_pytest.models.credentials import CredentialError, check_transport, judge_key, redact
from mlb_pytest.models.revision import openai_revision
from mlb_pytest.schema import Item
from mlb_pytest.testing import FakeOpenAIServer, ServerConfig


def _answer(letter: str) -> Any:
    return lambda messages: letter


def _run(pytester: pytest.Pytester, url: str, *args: str) -> pytest.RunResult:
    return pytester.runpytest(
        "s",
        f"--mlb-model=openai:served@{url}",
        "--mlb-report=r.json",
        "--mlb-retries=0",
        "-p",
        "no:cacheprovider",
        *args,
    )


# --- 1. stale answers across a redeploy ------------------------------------------------------------


def test_a_new_revision_asks_every_item_again_and_scores_the_new_model(pytester: pytest.Pytester) -> None:
    write_native(pytester.path / "s" / "demo.jsonl", 12)  # every key is A
    with FakeOpenAIServer(ServerConfig(responder=_answer("A"))) as server:
        first = _run(pytester, server.base_url, "--mlb-model-revision=v1")
        assert first.ret == 0 and server.stats()["ok"] == 12
        report = load_report(pytester.path / "r.json")
        assert report["run"]["revision"]["model"] == {"revision": "v1", "source": "option"}
        assert report["datasets"]["DemoExam"]["score"] == 1.0

        server.config = ServerConfig(responder=_answer("B"))  # v2 served under the same name
        server.reset_stats()
        second = _run(pytester, server.base_url, "--mlb-model-revision=v2")
        assert server.stats()["ok"] == 12  # every request sent again
        report = load_report(pytester.path / "r.json")
        assert report["datasets"]["DemoExam"]["score"] == 0.0  # v2's answers, not v1's
        assert report["run"]["generation"]["cached"] == 0
        second.stdout.fnmatch_lines(["*model revision: v2 (stated)*"])

        server.reset_stats()  # the same revision again: everything comes from the cache
        _run(pytester, server.base_url, "--mlb-model-revision=v2")
        assert server.stats()["requests"] == 0


def test_without_a_revision_the_summary_says_answers_came_from_the_cache(pytester: pytest.Pytester) -> None:
    write_native(pytester.path / "s" / "demo.jsonl", 6)
    with FakeOpenAIServer(ServerConfig(responder=_answer("A"))) as server:
        assert _run(pytester, server.base_url).ret == 0
        server.config = ServerConfig(responder=_answer("B"))  # redeployed, and the server cannot tell
        server.reset_stats()
        again = _run(pytester, server.base_url)
        assert server.stats()["requests"] == 0
        again.stdout.fnmatch_lines(
            [
                "*cache: 6 answers came from the cache (stored *UTC*); the model's revision "
                "is unknown*--mlb-model-revision*"
            ]
        )
        report = load_report(pytester.path / "r.json")
        assert report["run"]["generation"]["cached"] == 6 and report["run"]["revision"]["model"]["revision"] is None

        server.reset_stats()  # --mlb-cache-max-age bounds how old a reused answer may be
        time.sleep(1.1)
        _run(pytester, server.base_url, "--mlb-cache-max-age=1s")
        assert server.stats()["ok"] == 6
        assert load_report(pytester.path / "r.json")["datasets"]["DemoExam"]["score"] == 0.0


def test_the_server_s_model_entry_is_the_revision_when_none_is_stated(pytester: pytest.Pytester) -> None:
    write_native(pytester.path / "s" / "demo.jsonl", 5)
    with FakeOpenAIServer(ServerConfig(responder=_answer("A"), revision="ckpt-100", model="served")) as server:
        _run(pytester, server.base_url)
        rev = load_report(pytester.path / "r.json")["run"]["revision"]["model"]
        assert rev["source"] == "adapter" and rev["revision"].startswith("models:")
        assert rev["system_fingerprints"] == ["fp_ckpt-100"]
        server.config = ServerConfig(
            responder=_answer("B"), revision="ckpt-200", model="served"
        )  # a new checkpoint, same name
        server.reset_stats()
        _run(pytester, server.base_url)
        assert server.stats()["ok"] == 5
        assert load_report(pytester.path / "r.json")["datasets"]["DemoExam"]["score"] == 0.0


def test_openai_revision_ignores_volatile_fields() -> None:
    body = {"data": [{"id": "m", "created": 1, "root": "/ckpt/1"}, {"id": "other", "root": "/x"}]}
    same = {"data": [{"id": "m", "created": 999, "root": "/ckpt/1"}]}
    moved = {"data": [{"id": "m", "created": 1, "root": "/ckpt/2"}]}
    assert openai_revision(body, "m") == openai_revision(same, "m") != openai_revision(moved, "m")
    assert openai_revision(body, "absent") is None and openai_revision("garbage", "m") is None


def test_python_model_revision_follows_its_source(pytester: pytest.Pytester) -> None:
    write_native(pytester.path / "s" / "demo.jsonl", 3)
    pytester.makepyfile(simmodel="def answer(messages, **params):\n    return 'A'\n")
    args = ["s", "--mlb-model=python:simmodel:answer", "--mlb-report=r.json", "-p", "no:cacheprovider"]
    pytester.runpytest_subprocess(*args)
    before = load_report(pytester.path / "r.json")["run"]["revision"]["model"]["revision"]
    pytester.makepyfile(simmodel="def answer(messages, **params):\n    return 'B'\n")
    pytester.runpytest_subprocess(*args)
    report = load_report(pytester.path / "r.json")
    assert report["run"]["revision"]["model"]["revision"] != before and before.startswith("source:")
    assert report["run"]["generation"]["cached"] == 0 and report["datasets"]["DemoExam"]["score"] == 0.0


# --- 2. half runs ---------------------------------------------------------------------------------


def test_a_narrowed_run_says_so_and_its_baseline_records_the_selection(pytester: pytest.Pytester) -> None:
    write_native(pytester.path / "s" / "demo.jsonl", 40)
    with FakeOpenAIServer(ServerConfig(responder=_answer("A"))) as server:
        r = _run(pytester, server.base_url, "--mlb-limit=10", "--mlb-update-baseline")
        assert r.ret == 0
        report = load_report(pytester.path / "r.json")
        assert report["run"]["complete"] is False and report["verdict"] == "pass"
        assert "selection: --mlb-limit=10" in report["run"]["incomplete_reason"]
        r.stdout.fnmatch_lines(
            [
                "run: narrowed (10 of 10 collected items scored; selection: --mlb-limit=10)",
                "*baseline written to*selection recorded*",
            ]
        )
        base = json.loads((pytester.path / "baselines" / "served.json").read_text(encoding="utf-8"))
        assert base["selection"] == {"limit": 10} and len(base["items"]) == 10

        full = _run(pytester, server.base_url)
        full.stdout.fnmatch_lines(
            ["run: complete", "*the baseline covers a selection (--mlb-limit=10): compared on the shared items*"]
        )


def test_x_stops_early_and_the_verdict_is_never_pass(pytester: pytest.Pytester) -> None:
    write_native(pytester.path / "s" / "demo.jsonl", 20)
    with FakeOpenAIServer(ServerConfig(responder=_answer("B"))) as server:
        r = _run(pytester, server.base_url, "--mlb-strict", "-x", "--mlb-update-baseline")
    report = load_report(pytester.path / "r.json")
    assert report["run"]["complete"] is False and report["verdict"] != "pass"
    assert "stopped early" in report["run"]["incomplete_reason"] and "1 of 20" in report["run"]["incomplete_reason"]
    assert not (pytester.path / "baselines" / "served.json").exists()
    r.stdout.fnmatch_lines(["*baseline NOT written*incomplete*"])


def _pending_claims(db: Path) -> int:
    con = sqlite3.connect(db)
    try:
        return int(con.execute("SELECT COUNT(*) FROM claims WHERE state='pending'").fetchone()[0])
    finally:
        con.close()


def test_ctrl_c_leaves_an_incomplete_report_no_baseline_and_no_stall(pytester: pytest.Pytester) -> None:
    write_native(pytester.path / "s" / "demo.jsonl", 40)
    cache = pytester.path / "cache.sqlite"
    with FakeOpenAIServer(ServerConfig(responder=_answer("A"), latency_s=0.4)) as server:
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "s",
            f"--mlb-model=openai:served@{server.base_url}",
            f"--mlb-cache={cache}",
            "--mlb-report=r.json",
            "--mlb-concurrency=2",
            "--mlb-update-baseline",
            "-p",
            "no:cacheprovider",
            "-q",
        ]
        proc = subprocess.Popen(
            cmd, cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while server.stats()["ok"] < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        text = out.decode("utf-8", "replace")
        assert proc.returncode == pytest.ExitCode.INTERRUPTED, text
        report = load_report(pytester.path / "r.json")
        assert report["run"]["complete"] is False and report["run"]["interrupted"] is True
        assert report["verdict"] == "error" and "interrupted" in report["verdict_reason"]
        assert not (pytester.path / "baselines" / "served.json").exists()
        assert "run: INCOMPLETE" in text and "baseline NOT written" in text
        assert _pending_claims(cache) == 0  # this run's claims were released on the way out

        server.config = ServerConfig(responder=_answer("A"))
        started = time.monotonic()
        again = subprocess.run(cmd, cwd=pytester.path, capture_output=True, stdin=subprocess.DEVNULL, timeout=120)
        took = time.monotonic() - started
    assert again.returncode == 0, again.stdout.decode()
    assert took < 30, f"the next run stalled for {took:.0f} s"
    assert load_report(pytester.path / "r.json")["run"]["complete"] is True


def test_claims_of_a_dead_process_are_taken_over_at_once(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    db = tmp_path / "c.sqlite"
    ghost = ResponseStore(db, "old", process_owner("old").rsplit(":", 1)[0] + f":{dead.pid}")
    assert owner_is_dead(ghost.owner) and not owner_is_dead(process_owner("now"))
    assert not owner_is_dead("someone-else:otherhost:1") and not owner_is_dead("legacy:123")
    assert ghost.claim("k", lease_s=3600) == "mine"
    live = ResponseStore(db, "new", process_owner("new"))
    assert live.claim("k", lease_s=60) == "mine"  # no 3600 s wait for a process that is gone
    assert live.release() == 1 and live.claims(["k"]) == {}


# --- 3. every wait ends --------------------------------------------------------------------------------


class _FailingStore(ResponseStore):
    """A real SQLite store that raises at one chosen step (a test double of a broken disk or lock)."""

    def __init__(self, path: Path, step: str, **kw: Any) -> None:
        super().__init__(path, "run", process_owner("run"))
        self.step = step

    def _maybe(self, step: str) -> None:
        if step == self.step:
            raise CacheError(f"response cache {self.path}: {step} failed: database or disk is full")

    def get_many(self, keys: Any, max_age_s: float | None = None) -> Any:
        self._maybe("get_many")
        return super().get_many(keys, max_age_s)

    def claim(self, key: str, lease_s: float, max_age_s: float | None = None) -> str:
        self._maybe("claim")
        return super().claim(key, lease_s, max_age_s)

    def put(self, *a: Any, **k: Any) -> None:
        self._maybe("put")
        super().put(*a, **k)

    def fail(self, *a: Any, **k: Any) -> None:
        self._maybe("fail")
        super().fail(*a, **k)

    def claims(self, keys: Any) -> Any:
        self._maybe("claims")
        return super().claims(keys)

    def release(self) -> int:
        self._maybe("release")
        return super().release()


class _Model:
    """A cacheable adapter that answers (or fails) after a short delay."""

    cacheable = True
    identity = "test:model"

    def __init__(self, fail: bool) -> None:
        self.fail = fail

    async def generate(self, request: GenerationRequest) -> Generation:
        import asyncio

        await asyncio.sleep(0.01)
        if self.fail:
            raise ModelError("http", "HTTP 500")
        return Generation("A", "A")

    async def aclose(self) -> None:
        return None


def _items(n: int) -> list[Item]:
    return [
        Item(
            id=f"q{i}",
            dataset="D",
            dimension="MedKQA",
            task="choice",
            metric="accuracy",
            messages=({"role": "user", "content": f"question {i}"},),
            expected=["A"],
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("step", ["get_many", "claim", "put", "fail", "claims", "release"])
def test_a_store_that_raises_at_any_step_gives_errors_not_a_hang(tmp_path: Path, step: str) -> None:
    db = tmp_path / "c.sqlite"
    if step == "claims":  # someone else (alive: this process) holds the claims, so we must watch them
        other = ResponseStore(db, "other-run", f"other-run:elsewhere:{os.getpid()}")
        for it in _items(4):
            other.claim(f"unused-{it.id}", lease_s=60)
    engine = Engine(
        _Model(fail=step == "fail"),
        concurrency=2,
        store_factory=lambda: _FailingStore(db, step),
        stall_s=5.0,
        poll_s=0.01,
    )
    items = _items(4)
    if step == "claims":
        # claims held by a live peer of another run: keys computed the engine's way
        from mlb_pytest.cache import request_key

        for it in items:
            other.claim(request_key("test:model", list(it.messages), {}, 0), lease_s=60)
    engine.start([GenerationRequest(it, {}) for it in items])
    started = time.monotonic()
    outcomes = []
    for it in items:
        try:
            outcomes.append(engine.result(it.key, 0, tick_s=0.05).text)
        except ModelError as err:
            outcomes.append(str(err))
    engine.close()
    assert time.monotonic() - started < 30
    if step == "release":  # only the way out fails: the answers were fine
        assert outcomes == ["A"] * 4
    elif step == "fail":  # the model's own error wins; the store's failure to record it changes nothing
        assert all("HTTP 500" in o for o in outcomes)
    else:
        assert all(o.startswith("cache:") and "disk is full" in o and step in o for o in outcomes), outcomes


def test_a_wait_ends_when_the_engine_makes_no_progress(tmp_path: Path) -> None:
    class Stuck(_Model):
        async def generate(self, request: GenerationRequest) -> Generation:
            import asyncio

            await asyncio.sleep(3600)
            raise AssertionError

    engine = Engine(Stuck(fail=False), concurrency=1, stall_s=0.5)
    engine.start([GenerationRequest(it, {}) for it in _items(1)])
    started = time.monotonic()
    with pytest.raises(ModelError, match="no progress"):
        engine.result("D/q0", 0, tick_s=0.05)
    assert time.monotonic() - started < 10
    engine.close()


# --- 4. keys per host, userinfo redacted -------------------------------------------------------------


def test_keys_go_only_to_their_own_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLB_API_KEY", "model-key")
    monkeypatch.delenv("MLB_JUDGE_API_KEY", raising=False)
    assert judge_key("http://127.0.0.1:8001/v1", "http://127.0.0.1:8000/v1") is None  # another service
    assert judge_key("https://api.example.com/v1", "https://api.example.com:443/v2") == "model-key"  # same host
    monkeypatch.setenv("MLB_JUDGE_API_KEY", "judge-key")
    assert judge_key("http://127.0.0.1:8001/v1", "http://127.0.0.1:8000/v1") == "judge-key"
    with pytest.raises(CredentialError, match="plain http.*gpu-box.*--mlb-allow-insecure-key"):
        check_transport("http://gpu-box:8000/v1", "k", False, "model")
    check_transport("http://gpu-box:8000/v1", "k", True, "model")
    check_transport("http://127.0.0.1:8000/v1", "k", False, "model")
    check_transport("http://localhost:8000/v1", "k", False, "model")
    check_transport("http://gpu-box:8000/v1", None, False, "model")  # no key, nothing to leak


def test_the_model_key_never_reaches_a_judge_on_another_host(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlb_pytest.config import Settings
    from mlb_pytest.session import MLBSession

    monkeypatch.setenv("MLB_API_KEY", "model-key")
    monkeypatch.delenv("MLB_JUDGE_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with (
        FakeOpenAIServer(ServerConfig(require_api_key="model-key")) as model_srv,
        FakeOpenAIServer(ServerConfig(require_api_key="model-key")) as judge_srv,
    ):
        s = MLBSession(
            Settings(model=f"openai:m@{model_srv.base_url}", judge=f"openai:j@{judge_srv.base_url}", retries=0),
            pytester.path,
            is_worker=False,
        )
        assert s.setup.judge_spec is not None and s.setup.spec is not None
        model, judge = s.setup.build(s.setup.spec), s.setup.build(s.setup.judge_spec)
        import asyncio

        req = GenerationRequest(_items(1)[0], {})
        assert asyncio.run(model.generate(req)).text == "A"
        with pytest.raises(ModelError, match="401"):
            asyncio.run(judge.generate(req))  # no key was sent to the judge's host
        assert judge_srv.stats()["rejected"] == {"401": 1}


def test_a_key_over_plain_http_to_another_host_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_native(pytester.path / "s" / "demo.jsonl", 2)
    monkeypatch.setenv("MLB_API_KEY", "secret-key")
    r = pytester.runpytest("s", "--mlb-model=openai:m@http://gpu-box.invalid:8000/v1", "--collect-only")
    assert r.ret == pytest.ExitCode.USAGE_ERROR
    r.stderr.fnmatch_lines(["*refusing to send the model API key over plain http*--mlb-allow-insecure-key*"])
    assert "secret-key" not in r.stdout.str() + r.stderr.str()
    ok = pytester.runpytest(
        "s", "--mlb-model=openai:m@http://gpu-box.invalid:8000/v1", "--collect-only", "--mlb-allow-insecure-key"
    )
    assert ok.ret == 0


def test_userinfo_is_redacted_in_reports_junit_markdown_and_errors(pytester: pytest.Pytester) -> None:
    write_native(pytester.path / "s" / "demo.jsonl", 3)
    with FakeOpenAIServer(ServerConfig()) as server:
        url = server.base_url.replace("http://", "http://alice:s3cret@")
        ok = _run(pytester, url, "--junitxml=j.xml", "--mlb-markdown=m.md")
        assert ok.ret == 0
        assert load_report(pytester.path / "r.json")["run"]["model"].startswith("openai:served@http://***@127.0.0.1")
    down = "http://alice:s3cret@127.0.0.1:9/v1"  # nothing listens: every item errors, naming the host
    bad = _run(pytester, down, "--junitxml=j2.xml", "--mlb-markdown=m2.md", "--mlb-timeout=2")
    shown = bad.stdout.str() + bad.stderr.str()
    assert "cannot connect to http://***@127.0.0.1:9/v1" in shown or "127.0.0.1:9" in shown
    for name in ("r.json", "j.xml", "m.md", "j2.xml", "m2.md"):
        assert "s3cret" not in (pytester.path / name).read_text(encoding="utf-8"), name
    assert "s3cret" not in shown
    assert redact("see http://u:p@h:1/v1 and https://x@y/") == "see http://***@h:1/v1 and https://***@y/"
    spec = parse_spec("openai:org/m@v2@http://u:p@h:1/v1")
    assert spec.target == "org/m@v2" and str(spec) == "openai:org/m@v2@http://***@h:1/v1"


def test_durations() -> None:
    assert parse_duration("90") == 90 and parse_duration("30m") == 1800 and parse_duration("7d") == 7 * 86400
    with pytest.raises(ConfigError, match="not a duration"):
        parse_duration("soon")


# --- the extractor model (issue 12): asked only about replies the rules cannot read -----------------


def test_an_extractor_model_reads_only_the_replies_the_rules_cannot(pytester: pytest.Pytester) -> None:
    write_native(pytester.path / "s" / "demo.jsonl", 3)  # keys: A
    pytester.makepyfile(
        sim="def answer(messages, **params):\n    return 'A' if '第0题' in messages[0]['content'] else '🤔'\n"
    )
    seen: list[str] = []

    def extractor(messages: list[dict[str, Any]]) -> str:
        seen.append(messages[-1]["content"])
        return '{"answer": ["A"]}' if "第1题" in messages[-1]["content"] else '{"answer": []}'

    with FakeOpenAIServer(ServerConfig(responder=extractor)) as server:
        args = [
            "s",
            "--mlb-model=python:sim:answer",
            f"--mlb-extractor=openai:reader@{server.base_url}",
            "--mlb-report=r.json",
            "-p",
            "no:cacheprovider",
        ]
        r = pytester.runpytest(*args)
        assert len(seen) == 2 and all("🤔" in s for s in seen)  # q000's "A" never went to the extractor
        items = {i["id"]: i for i in load_report(pytester.path / "r.json")["items"]}
        assert items["q000"]["details"]["method"] != f"model:openai:reader@{server.base_url}"
        assert items["q001"]["score"] == 1.0 and items["q001"]["details"]["method"].startswith("model:openai:reader")
        assert items["q002"]["score"] == 0.0 and items["q002"]["details"].get("unparseable") == 1
        r.stdout.fnmatch_lines(["extraction: 2 choice replies the rules could not read were read by the extractor*"])
        pytester.runpytest(*args)
        assert len(seen) == 2  # the extractor's readings are cached like every answer


def test_a_runaway_reply_is_scored_on_its_first_64k_characters_and_says_so(pytester: pytest.Pytester) -> None:
    write_native(pytester.path / "s" / "demo.jsonl", 1)  # key: A
    pytester.makepyfile(sim="def answer(messages, **params):\n    return '答案：A。' + '嗯' * 70000 + '答案：B'\n")
    pytester.runpytest("s", "--mlb-model=python:sim:answer", "--mlb-report=r.json", "-p", "no:cacheprovider")
    item = load_report(pytester.path / "r.json")["items"][0]
    assert item["details"]["response_cut_chars"] == 70009 - 64000
    assert item["score"] == 1.0 and "response cut at 64,000 characters" in item["explanation"]  # the tail's B unread
