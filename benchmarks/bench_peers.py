"""mlb-pytest beside its peers: the same choice items, the same slow server, one run, one table.

    python benchmarks/bench_peers.py              # 2,000 items at 200 ms a request
    python benchmarks/bench_peers.py --quick      # 200 items, a smoke check
    python benchmarks/bench_peers.py --items 500 --only mlb-pytest --only inspect_ai

What is measured. Each tool answers the same N multiple-choice items (bench_engine's suite: three
options, the right answer always "A") against the project's fake OpenAI server
(``mlb_pytest.testing.openai_server``), started in its own process, fresh for each tool, with 200 ms
of latency per request and the answer "A". For each tool the table shows:

* wall: the whole tool process, from spawn to exit (start-up, collection, reports included);
* CPU: user + system seconds of the tool's processes (``RUSAGE_CHILDREN`` around the run; the server
  is not counted); CPU close to wall x the free cores means the tool, not the server, sets the pace;
* ratio to the limit: wall / (items x latency / 64), the time 64 requests in flight at every moment
  would need (2,000 x 0.2 / 64 = 6.25 s); 1.0 is the floor for a client allowed 64 connections;
* requests: chat requests the server counted (``GET /stats``), and the most it had in flight at once;
* correct: items the tool itself scored as right (every answer is right, so this must equal N).

The tools, each in the way its users run it:

1. mlb-pytest: ``pytest <suite> --mlb-model=openai:bench@URL --mlb-concurrency=64 --mlb-no-cache``,
   from the project's environment, with bytecode compiled once (as in bench_engine.py).
2. inspect_ai: ``python -m inspect_ai eval task.py --model openai-api/local/bench --model-base-url URL
   --max-connections 64`` (``openai-api`` is its provider for OpenAI-compatible servers; its ``openai``
   provider, in 0.3.285, sent this model to ``/v1/responses``, which the test server does not serve),
   with a generated task: one Sample per item (the same prompt text), ``generate()`` and
   ``match(location="exact")``; the JSON log goes to a temporary folder.
3. DeepEval: ``deepeval test run test_peer.py -n 4``, with a generated pytest file: one parametrized
   test per item that asks the server through a ``DeepEvalBaseLLM`` subclass (an ``openai`` client)
   and calls ``assert_test`` with ``ExactMatchMetric`` (no LLM judge). ``-n 4`` (pytest-xdist) is
   DeepEval's own switch for parallel tests; each test waits for its answer, so at most 4 requests
   are in flight and its own floor is items x latency / 4.

Peers live in their own environments, never in the project's: ``MLB_PEER_INSPECT_PYTHON`` and
``MLB_PEER_DEEPEVAL_PYTHON`` name their interpreters, else ``build/peers/inspect/bin/python`` and
``build/peers/deepeval/bin/python``; a missing one is reported with how to install it.

No peer may reach the internet: ``OPENAI_BASE_URL``/``OPENAI_API_KEY`` point at the local server
with a dummy key, every proxy variable points at a closed local port (``NO_PROXY`` spares
127.0.0.1), DeepEval's telemetry is off (``DEEPEVAL_TELEMETRY_OPT_OUT=YES``) and every tool runs
in a temporary folder (inspect's logs and ``XDG_DATA_HOME``, DeepEval's ``.deepeval`` folder).

Each tool first answers 5 items once, unmeasured (a smoke check, and warm disk caches for all).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench_engine import HEADER, ChildEnv, Server, write_suite

from mlb_pytest.suites.render import format_options, render_prompt

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = 64
DEEPEVAL_PROCESSES = 4
WARM_ITEMS = 5
DUMMY_KEY = "sk-local-dummy"
CLOSED_PORT_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens, so any proxied request fails

INSPECT_TASK = '''\
"""A generated inspect_ai task: the benchmark's items, asked as they are, scored by exact match."""

import json
import os

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.scorer import match
from inspect_ai.solver import generate


@task
def mlb_peer_choice() -> Task:
    with open(os.environ["MLB_PEER_ITEMS"], encoding="utf-8") as fh:
        rows = json.load(fh)
    samples = [Sample(id=row["id"], input=row["prompt"], target=row["answer"]) for row in rows]
    return Task(dataset=MemoryDataset(samples), solver=generate(), scorer=match(location="exact"))
'''

DEEPEVAL_TEST = '''\
"""A generated DeepEval test file: one test per item, the model asked inside the test."""

import json
import os

import pytest
from deepeval import assert_test
from deepeval.metrics import ExactMatchMetric
from deepeval.models import DeepEvalBaseLLM
from deepeval.test_case import LLMTestCase
from openai import AsyncOpenAI, OpenAI


class LocalServer(DeepEvalBaseLLM):
    """The model under test: the local OpenAI-compatible server (base URL and key from the environment)."""

    def __init__(self, model: str) -> None:
        self.model_id = model
        super().__init__(model)

    def load_model(self):
        return OpenAI()

    def _ask(self, answer) -> str:
        return answer.choices[0].message.content or ""

    def generate(self, prompt: str) -> str:
        messages = [{"role": "user", "content": prompt}]
        return self._ask(self.model.chat.completions.create(model=self.model_id, messages=messages))

    async def a_generate(self, prompt: str) -> str:
        async with AsyncOpenAI() as client:
            messages = [{"role": "user", "content": prompt}]
            return self._ask(await client.chat.completions.create(model=self.model_id, messages=messages))

    def get_model_name(self) -> str:
        return self.model_id


with open(os.environ["MLB_PEER_ITEMS"], encoding="utf-8") as fh:
    ROWS = json.load(fh)
MODEL = LocalServer("bench")


@pytest.mark.parametrize("row", ROWS, ids=[row["id"] for row in ROWS])
def test_item(row) -> None:
    case = LLMTestCase(input=row["prompt"], actual_output=MODEL.generate(row["prompt"]), expected_output=row["answer"])
    assert_test(case, [ExactMatchMetric(threshold=1.0)])
'''


@dataclass
class Peer:
    """A tool in its own environment: where its interpreter is looked for, and how it is installed."""

    name: str
    env_var: str
    default: Path
    distribution: str  # the PyPI name, for its version
    install: str

    def python(self) -> Path:
        override = os.environ.get(self.env_var)
        return Path(override) if override else self.default


PEERS = {
    "inspect_ai": Peer(
        "inspect_ai",
        "MLB_PEER_INSPECT_PYTHON",
        ROOT / "build/peers/inspect/bin/python",
        "inspect-ai",
        "python3 -m venv build/peers/inspect && build/peers/inspect/bin/pip install inspect-ai openai",
    ),
    "deepeval": Peer(
        "deepeval",
        "MLB_PEER_DEEPEVAL_PYTHON",
        ROOT / "build/peers/deepeval/bin/python",
        "deepeval",
        "python3 -m venv build/peers/deepeval && build/peers/deepeval/bin/pip install deepeval openai",
    ),
}
TOOLS = ("mlb-pytest", "inspect_ai", "deepeval")


@dataclass
class Outcome:
    """One tool's measured run, or why there is none."""

    tool: str
    version: str = ""
    how: str = ""  # the command line, shortened
    wall_s: float | None = None
    cpu_s: float | None = None
    requests: int | None = None
    max_in_flight: int | None = None
    correct: int | None = None
    skipped: str | None = None  # "not installed (...)" and the like
    error: str | None = None
    notes: list[str] = field(default_factory=list)


def write_items(folder: Path, n: int) -> Path:
    """The suite's items as the peers see them: id, the prompt text mlb-pytest sends, and the answer."""
    rows: list[dict[str, str]] = []
    for i in range(n):  # the same fields as bench_engine.write_suite, rendered as the suite renders them
        options = {"A": f"正确{i}", "B": f"错误{i}", "C": f"无关{i}"}
        question = f"第{i}题：哪项正确？"
        prompt = render_prompt(str(HEADER["prompt"]), question, format_options(options, "lines"))
        rows.append({"id": f"b{i:05d}", "prompt": prompt, "answer": "A"})
    path = folder / f"items-{n}.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return path


def peer_env(server: Server, items: Path, tmp: Path) -> dict[str, str]:
    """The environment of a peer process: the local server only, no proxy that works, no telemetry."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CONFIDENT_", "DEEPEVAL_", "INSPECT_"))}
    env.pop("PYTHONPATH", None)  # the project's paths must not leak into a peer's interpreter
    env.update(
        OPENAI_BASE_URL=server.base_url,
        OPENAI_API_KEY=DUMMY_KEY,
        MLB_PEER_ITEMS=str(items),
        DEEPEVAL_TELEMETRY_OPT_OUT="YES",
        INSPECT_LOG_DIR=str(tmp / "inspect-logs"),
        HF_HUB_OFFLINE="1",
        XDG_DATA_HOME=str(tmp / "xdg-data"),  # inspect's traces and sample buffers stay in the temp folder
        XDG_CACHE_HOME=str(tmp / "xdg-cache"),
        PYTHONHASHSEED="0",
    )
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        env[var] = env[var.lower()] = CLOSED_PORT_PROXY
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def peer_version(peer: Peer) -> str | None:
    """The installed version of the peer's distribution, or None when its interpreter cannot import it."""
    python = peer.python()
    if not python.exists():
        return None
    code = f"import importlib.metadata as m, {peer.name}; print(m.version({peer.distribution!r}))"
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=120)
    return proc.stdout.strip() if proc.returncode == 0 else None


def last_count(pattern: str, text: str) -> int | None:
    found = re.findall(pattern, text)
    return int(found[-1]) if found else None


def children_cpu_s() -> float:
    """User + system seconds of every child process waited for so far (and of the children they waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_timed(cmd: list[str], *, outcome: Outcome, cwd: Path, env: dict[str, str], timeout_s: float) -> tuple[int, str]:
    """Run one tool process, put its wall and CPU seconds in ``outcome``; its exit status and output."""
    cpu = children_cpu_s()
    started = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout_s)
        rc, out = proc.returncode, proc.stdout + "\n" + proc.stderr
    except subprocess.TimeoutExpired as exc:
        partial = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout or ""
        rc, out = 124, partial + f"\n(timed out after {timeout_s:.0f} s)"
    outcome.wall_s = time.perf_counter() - started
    outcome.cpu_s = children_cpu_s() - cpu
    return rc, out


class Bench:
    """The shared settings and the temporary folder of one benchmark run."""

    def __init__(self, tmp: Path, latency: float, timeout_s: float) -> None:
        self.tmp = tmp
        self.latency = latency
        self.timeout_s = timeout_s
        self.mlb_env = ChildEnv(tmp)

    def measure(self, tool: str, n: int) -> Outcome:
        """One warm-up of WARM_ITEMS items, then the measured run of ``n`` items, each on a fresh server."""
        runner = {"mlb-pytest": self.run_mlb, "inspect_ai": self.run_inspect, "deepeval": self.run_deepeval}[tool]
        outcome = Outcome(tool)
        if tool in PEERS:
            peer = PEERS[tool]
            version = peer_version(peer)
            if version is None:
                outcome.skipped = f"not installed ({peer.install}; or point {peer.env_var} at a python that has it)"
                return outcome
            outcome.version = version
        else:
            from importlib.metadata import version as dist_version

            outcome.version = dist_version("mlb-pytest")
        warm = Outcome(tool)
        self._on_server(runner, warm, WARM_ITEMS)
        if warm.error is not None:
            outcome.error = f"warm-up failed: {warm.error}"
            return outcome
        self._on_server(runner, outcome, n)
        return outcome

    def _on_server(self, runner: Callable[[Server, Outcome, int], None], outcome: Outcome, n: int) -> None:
        server = Server(self.latency)
        try:
            runner(server, outcome, n)
            stats = server.stats()
            outcome.requests = stats["requests"]
            outcome.max_in_flight = stats["max_in_flight"]
            rejected = {k: v for k, v in stats["rejected"].items() if v}
            if rejected:
                outcome.notes.append(f"server rejected {rejected}")
        finally:
            server.close()
        if outcome.error is None and outcome.correct != n:
            outcome.error = f"{outcome.correct} of {n} items scored correct"

    def folder(self, name: str) -> Path:
        path = self.tmp / f"{name}-{time.monotonic_ns()}"
        path.mkdir(parents=True)
        return path

    def run_mlb(self, server: Server, outcome: Outcome, n: int) -> None:
        work = self.folder("mlb")
        suite = write_suite(work, n)
        self.mlb_env.warm_up()  # compiles bytecode on its first call only
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            str(suite),
            "-q",
            "-p",
            "no:cacheprovider",
            "--mlb-no-cache",
            f"--mlb-model=openai:bench@{server.base_url}",
            f"--mlb-concurrency={CONCURRENCY}",
        ]
        outcome.how = f"pytest bench.jsonl --mlb-model=openai:bench@URL --mlb-concurrency={CONCURRENCY} --mlb-no-cache"
        rc, out = run_timed(cmd, outcome=outcome, cwd=work, env=self.mlb_env.env, timeout_s=self.timeout_s)
        outcome.correct = last_count(r"(\d+) passed", out)
        if rc != 0:
            outcome.error = f"exit {rc}: {out.strip()[-600:]}"

    def run_inspect(self, server: Server, outcome: Outcome, n: int) -> None:
        work = self.folder("inspect")
        items = write_items(work, n)
        (work / "task.py").write_text(INSPECT_TASK, encoding="utf-8")
        logs = work / "logs"
        cmd = [
            str(PEERS["inspect_ai"].python()),
            "-m",
            "inspect_ai",
            "eval",
            "task.py",
            "--model",
            "openai-api/local/bench",
            "--model-base-url",
            server.base_url,
            "--max-connections",
            str(CONCURRENCY),
            "--log-dir",
            str(logs),
            "--log-format",
            "json",
            "--display",
            "none",
        ]
        outcome.how = (
            f"inspect eval task.py --model openai-api/local/bench --model-base-url URL --max-connections {CONCURRENCY}"
        )
        env = peer_env(server, items, work)
        env["INSPECT_LOG_DIR"] = str(logs)
        env["LOCAL_API_KEY"] = DUMMY_KEY  # openai-api/<service>/...: <SERVICE>_API_KEY
        rc, out = run_timed(cmd, outcome=outcome, cwd=work, env=env, timeout_s=self.timeout_s)
        log_files = sorted(logs.glob("*.json"))
        if rc != 0 or not log_files:
            outcome.error = f"exit {rc}, {len(log_files)} log files: {out.strip()[-600:]}"
            return
        log = json.loads(log_files[-1].read_text(encoding="utf-8"))
        if log.get("status") != "success":
            error = log.get("error") or {}
            outcome.error = (
                f"log status {log.get('status')!r}: {error.get('message')}: {error.get('traceback', '')[-400:]}"
            )
        samples = log.get("samples") or []
        outcome.correct = sum(1 for s in samples if (s.get("scores") or {}).get("match", {}).get("value") == "C")

    def run_deepeval(self, server: Server, outcome: Outcome, n: int) -> None:
        work = self.folder("deepeval")
        items = write_items(work, n)
        (work / "test_peer.py").write_text(DEEPEVAL_TEST, encoding="utf-8")
        launcher = "import sys; from deepeval.cli.main import app; sys.argv[0] = 'deepeval'; sys.exit(app())"
        cmd = [
            str(PEERS["deepeval"].python()),
            "-c",
            launcher,
            "test",
            "run",
            "test_peer.py",
            "-n",
            str(DEEPEVAL_PROCESSES),
        ]
        outcome.how = f"deepeval test run test_peer.py -n {DEEPEVAL_PROCESSES}"
        rc, out = run_timed(cmd, outcome=outcome, cwd=work, env=peer_env(server, items, work), timeout_s=self.timeout_s)
        outcome.correct = last_count(r"(\d+) passed", out)
        if rc != 0:
            outcome.error = f"exit {rc}: {out.strip()[-600:]}"


def table(outcomes: list[Outcome], n: int, latency: float, load: float) -> list[str]:
    """The printed lines: one row per measured tool, then the skipped ones and the failures."""
    limit = n * latency / CONCURRENCY
    lines = [
        f"{n} choice items, {latency * 1000:.0f} ms per request, limit = {n} x {latency} s / {CONCURRENCY} "
        f"= {limit:.2f} s; {os.cpu_count()} CPU cores, load average {load:.2f} before the run",
        f"{'tool':<12} {'version':<9} {'wall s':>8} {'x limit':>8} {'CPU s':>7} {'requests':>9} "
        f"{'max in flight':>14} {'correct':>8}  command",
    ]
    for o in outcomes:
        if o.skipped is not None or o.wall_s is None:
            continue
        lines.append(
            f"{o.tool:<12} {o.version:<9} {o.wall_s:>8.2f} {o.wall_s / limit:>8.2f} {o.cpu_s or 0:>7.1f} {o.requests!s:>9} "
            f"{o.max_in_flight!s:>14} {o.correct!s:>8}  {o.how}"
        )
    for o in outcomes:
        if o.tool == "deepeval" and o.wall_s is not None:
            floor = n * latency / DEEPEVAL_PROCESSES
            lines.append(
                f"deepeval: -n {DEEPEVAL_PROCESSES} keeps at most {DEEPEVAL_PROCESSES} requests in flight, so its own "
                f"floor is {floor:.1f} s ({o.wall_s / floor:.2f} x that)"
            )
        if o.skipped is not None:
            lines.append(f"{o.tool}: {o.skipped}")
        if o.error is not None:
            lines.append(f"{o.tool}: FAILED: {o.error}")
        lines.extend(f"{o.tool}: {note}" for note in o.notes)
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--items", type=int, default=2000, help="items per tool (default 2000)")
    ap.add_argument("--quick", action="store_true", help="200 items, a smoke check")
    ap.add_argument("--latency", type=float, default=0.2, help="server seconds per request (default 0.2)")
    ap.add_argument("--only", choices=TOOLS, action="append", help="run only this tool (repeatable)")
    ap.add_argument("--timeout", type=float, default=1200.0, help="seconds allowed to each tool process")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    n = 200 if args.quick else args.items
    if n < 1:
        ap.error("--items must be at least 1")
    outcomes: list[Outcome] = []
    load = os.getloadavg()[0]
    print("$ " + shlex.join(["python", *sys.argv]), flush=True)
    with tempfile.TemporaryDirectory(prefix="mlb-peers-") as d:
        bench = Bench(Path(d), args.latency, args.timeout)
        for tool in args.only or TOOLS:
            print(f"running {tool} ...", flush=True)
            outcomes.append(bench.measure(tool, n))
    print("\n".join(table(outcomes, n, args.latency, load)), flush=True)
    if args.json:
        args.json.write_text(json.dumps([o.__dict__ for o in outcomes], indent=1), encoding="utf-8")
    return 1 if any(o.error for o in outcomes) else 0


if __name__ == "__main__":
    raise SystemExit(main())
