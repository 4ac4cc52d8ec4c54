"""Speed of the plugin against a local OpenAI-compatible server, as ratios measured in one run.

    python benchmarks/bench_engine.py            # full sizes (2,000 items at 200 ms, 10,000 mock items)
    python benchmarks/bench_engine.py --quick    # small sizes, for a smoke check

Prints:
1. ratio to the limit = whole-process wall / (items x latency / concurrency), start-up included;
   target <= 1.3 (each test waits only for its own answer; requests overlap). Also the older
   overlap ratio (wall / (limit + wall against an instant server)) and the same run with the
   response cache on (SQLite writes), each with a breakdown of where the wall time went;
2. requests per item under ``-n 2`` (target exactly 1.0 for every prompt);
3. plugin overhead per item: whole ``pytest --mlb-model=mock:oracle`` process over 10,000 items,
   minus bare pytest (``-p no:mlb``) running 10,000 trivial parametrized tests; target <= 1.0 ms;
4. fault tolerance: 30% of requests fail (500, 429 with Retry-After, HTML, dropped connection);
   every item must end scored or as an error with its reason, none scored from a failure.
The server runs in its own process so that its CPU does not count as the client's. Child
processes compile bytecode once into a private folder (``PYTHONPYCACHEPREFIX``), as an installed
package has its ``.pyc`` files: without it every start-up compiles and assertion-rewrites every
plugin module from source (``--cold`` keeps the inherited environment).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HEADER = {
    "mlb_suite": 1,
    "dataset": "BenchExam",
    "mirrors": "CMExam",
    "dimension": "MedKQA",
    "task": "choice",
    "metric": "accuracy",
    "prompt": "选择正确答案，只输出字母。\n${question}\n${options}\n答案：",
    "source": "benchmark",
    "licence": "Apache-2.0",
}

# A pytest plugin the benchmarks load into the measured process (``-p mlb_bench_phases``): when each
# phase ended, the resident memory then, and the CPU each thread used; written as JSON at exit.
PHASES_PLUGIN = r"""
import json, os, resource, threading, time
import pytest

_T: dict = {"t0": float(os.environ.get("MLB_BENCH_T0") or time.time()), "imported": time.time()}


def _rss_mb():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _mark(name):
    _T[name] = time.time()
    _T[name + "_rss_mb"] = round(_rss_mb(), 1)
    _T[name + "_main_cpu_s"] = round(time.thread_time(), 3)


def _thread_cpu(native_id):
    try:
        with open(f"/proc/self/task/{native_id}/stat") as fh:
            parts = fh.read().rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return None


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    _mark("configured")


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    _mark("collected")


def pytest_runtest_logstart(nodeid, location):
    if "first_test" not in _T:
        _mark("first_test")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_sessionfinish(session):
    _mark("tests_done")
    for t in threading.enumerate():
        if t.name.startswith("mlb-engine"):
            _T["engine_cpu_s"] = _thread_cpu(t.native_id)
    try:
        from mlb_pytest.pytest_items import mlb_session

        stats = mlb_session(session.config).generation.engine.stats
        offset = time.time() - time.perf_counter()
        _T["engine_started"] = stats.started + offset
        _T["engine_finished"] = (stats.finished or time.perf_counter()) + offset
    except Exception:
        pass
    yield
    _mark("finished")


def pytest_unconfigure(config):
    _mark("unconfigured")
    _T["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open(os.environ["MLB_BENCH_PHASES"], "w") as fh:
        json.dump(_T, fh)
"""


def write_suite(folder: Path, n: int) -> Path:
    """A native suite of ``n`` choice items, written line by line (100,000 items stay small in memory)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bench.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps(HEADER, ensure_ascii=False) + "\n")
        for i in range(n):
            item = {
                "id": f"b{i:05d}",
                "specialty": "cardiology",
                "question": f"第{i}题：哪项正确？",
                "options": {"A": f"正确{i}", "B": f"错误{i}", "C": f"无关{i}"},
                "answer": "A",
            }
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
    return path


def write_plain(folder: Path, n: int) -> Path:
    """Bare pytest's counterpart: ``n`` trivial parametrized tests."""
    plain = folder / "test_plain.py"
    plain.parent.mkdir(parents=True, exist_ok=True)
    plain.write_text(f"import pytest\n\n@pytest.mark.parametrize('i', range({n}))\ndef test_x(i):\n    assert i >= 0\n")
    return plain


class ChildEnv:
    """The environment of measured pytest processes: the phases plugin, and warm bytecode unless ``cold``."""

    def __init__(self, tmp: Path, cold: bool = False) -> None:
        self.tmp = tmp
        plugin_dir = tmp / "bench_plugin"
        plugin_dir.mkdir(parents=True, exist_ok=True)
        (plugin_dir / "mlb_bench_phases.py").write_text(PHASES_PLUGIN)
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(plugin_dir), env.get("PYTHONPATH")) if p)
        if not cold:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
        self.env = env
        self.cold = cold

    def warm_up(self) -> None:
        """One throwaway start-up, so that every measured process finds the bytecode compiled."""
        if self.cold:
            return
        suite = write_suite(self.tmp / "warm", 3)
        run_pytest(suite, "--mlb-model=mock:oracle", cwd=self.tmp, env=self)
        run_pytest(write_plain(self.tmp / "warm_plain", 3), cwd=self.tmp, env=self, bare=True)


def run_pytest(
    suite: Path, *args: str, cwd: Path, env: ChildEnv | None = None, bare: bool = False, phases: bool = True
) -> tuple[float, subprocess.CompletedProcess[str], dict[str, Any]]:
    """Wall seconds, the process, and its phases (when ``env`` is given and ``phases`` is on)."""
    flags = ["-p", "no:mlb"] if bare else ["--mlb-no-cache"]
    cmd = [sys.executable, "-m", "pytest", str(suite), "-q", "-p", "no:cacheprovider", *flags, *args]
    child_env = dict(env.env) if env else {**os.environ, "PYTHONHASHSEED": "0"}
    phases_file = cwd / f"phases-{time.monotonic_ns()}.json"
    if env is not None and phases:
        cmd[3:3] = ["-p", "mlb_bench_phases"]
        child_env["MLB_BENCH_PHASES"] = str(phases_file)
    started = time.perf_counter()
    child_env["MLB_BENCH_T0"] = repr(time.time())
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=child_env)
    wall = time.perf_counter() - started
    marks: dict[str, Any] = json.loads(phases_file.read_text()) if phases_file.exists() else {}
    if marks:
        marks["wall"] = wall
    return wall, proc, marks


def breakdown(ph: dict[str, Any]) -> str:
    """Where one process's wall time went, from the phases plugin's marks."""
    if not ph:
        return "no phases recorded"

    def span(a: str, b: str) -> str:
        return f"{ph[b] - ph[a]:.2f}" if a in ph and b in ph else "-"

    parts = [
        f"start-up {span('t0', 'configured')} s",
        f"collection {span('configured', 'collected')} s",
        f"tests {span('collected', 'tests_done')} s",
        f"finish (aggregate, report) {span('tests_done', 'finished')} s",
        f"unconfigure {span('finished', 'unconfigured')} s",
    ]
    if "wall" in ph and "unconfigured" in ph:  # the interpreter freeing everything, atexit handlers
        parts.append(f"process exit {ph['wall'] - (ph['unconfigured'] - ph['t0']):.2f} s")
    if "engine_started" in ph:
        parts.append(
            f"engine: last answer {ph['engine_finished'] - ph['collected']:.2f} s after collection, "
            f"tests done {ph['tests_done'] - ph['engine_finished']:.2f} s after it"
        )
    cpu = f"CPU: main thread {ph.get('unconfigured_main_cpu_s', 0):.2f} s"
    if ph.get("engine_cpu_s") is not None:
        cpu += f", engine thread {ph['engine_cpu_s']:.2f} s"
    return "; ".join(parts) + "; " + cpu


class Server:
    """The fake OpenAI server in a child process (mlb_pytest.testing.openai_server)."""

    def __init__(self, latency: float, fail_rate: float = 0.0) -> None:
        cmd = [
            sys.executable,
            "-m",
            "mlb_pytest.testing.openai_server",
            "--port",
            "0",
            "--latency",
            str(latency),
            "--fail-rate",
            str(fail_rate),
            "--answer",
            "A",
        ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("READY "):
            self.proc.kill()
            raise RuntimeError(f"server did not start: {line!r}")
        self.base_url = line.split(" ", 1)[1]

    def stats(self) -> dict[str, Any]:
        root = self.base_url.rsplit("/v1", 1)[0]
        with urllib.request.urlopen(root + "/stats", timeout=10) as resp:
            return json.loads(resp.read())

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def overlap(tmp: Path, env: ChildEnv, items: int, latency: float, concurrency: int) -> dict[str, Any]:
    """The same suite against an instant server and a slow one, without and with the response cache."""
    suite = write_suite(tmp / "overlap", items)
    walls: dict[str, float] = {}
    phases: dict[str, dict[str, Any]] = {}
    for name, lat, cache in (("instant", 0.0, False), ("slow", latency, False), ("slow_cache", latency, True)):
        server = Server(lat)
        try:
            extra = [f"--mlb-cache={tmp / f'cache-{name}.sqlite'}"] if cache else []
            wall, proc, ph = run_pytest(
                suite,
                f"--mlb-model=openai:bench@{server.base_url}",
                f"--mlb-concurrency={concurrency}",
                *extra,
                cwd=tmp,
                env=env,
            )
            if proc.returncode != 0:
                raise RuntimeError(proc.stdout[-2000:])
            walls[name], phases[name] = wall, ph
        finally:
            server.close()
    ideal = items * latency / concurrency
    return {
        "items": items,
        "latency_s": latency,
        "concurrency": concurrency,
        "instant_wall_s": walls["instant"],
        "wall_s": walls["slow"],
        "cache_wall_s": walls["slow_cache"],
        "ideal_s": ideal,
        "ratio_to_limit": walls["slow"] / ideal,
        "cache_ratio_to_limit": walls["slow_cache"] / ideal,
        "overlap_ratio": walls["slow"] / (ideal + walls["instant"]),
        "phases": phases,
    }


def xdist_requests(tmp: Path, env: ChildEnv, items: int) -> dict[str, float]:
    suite = write_suite(tmp / "xdist", items)
    server = Server(0.02)
    try:
        wall, proc, _ = run_pytest(
            suite,
            f"--mlb-model=openai:bench@{server.base_url}",
            "-n",
            "2",
            "--mlb-concurrency=16",
            cwd=tmp,
            env=env,
            phases=False,  # each worker would write the same file
        )
        if proc.returncode != 0:
            raise RuntimeError(proc.stdout[-2000:])
        per_prompt = server.stats()["per_prompt"]
    finally:
        server.close()
    counts = list(per_prompt.values())
    return {
        "items": items,
        "prompts_seen": len(counts),
        "requests": sum(counts),
        "requests_per_item": sum(counts) / items,
        "max_per_prompt": max(counts),
        "wall_s": wall,
    }


def overhead(tmp: Path, env: ChildEnv, items: int) -> dict[str, Any]:
    """The plugin's whole process beside bare pytest (no mlb plugin loaded), run back to back."""
    suite = write_suite(tmp / "overhead", items)
    wall, proc, ph = run_pytest(suite, "--mlb-model=mock:oracle", cwd=tmp, env=env)
    if proc.returncode != 0:
        raise RuntimeError(proc.stdout[-2000:])
    plain = write_plain(tmp / "plain", items)
    plain_wall, plain_proc, plain_ph = run_pytest(plain, cwd=tmp, env=env, bare=True)
    if plain_proc.returncode != 0:
        raise RuntimeError(plain_proc.stdout[-2000:])
    return {
        "items": items,
        "wall_s": wall,
        "ms_per_item": 1000 * wall / items,
        "plain_pytest_wall_s": plain_wall,
        "plain_ms_per_test": 1000 * plain_wall / items,
        "overhead_ms_per_item": 1000 * (wall - plain_wall) / items,
        "ratio_to_plain_pytest": wall / plain_wall,
        "phases": ph,
        "plain_phases": plain_ph,
    }


def faults(tmp: Path, env: ChildEnv, items: int) -> dict[str, Any]:
    suite = write_suite(tmp / "faults", items)
    server = Server(0.01, fail_rate=0.3)
    report = tmp / "faults.json"
    try:
        wall, proc, _ = run_pytest(
            suite,
            f"--mlb-model=openai:bench@{server.base_url}",
            "--mlb-concurrency=32",
            "--mlb-retries=3",
            "--mlb-timeout=10",
            f"--mlb-report={report}",
            cwd=tmp,
            env=env,
        )
        stats = server.stats()
    finally:
        server.close()
    data = json.loads(report.read_text(encoding="utf-8"))
    outcomes: dict[str, int] = {}
    for it in data["items"]:
        outcomes[it["outcome"]] = outcomes.get(it["outcome"], 0) + 1
    scored_from_failure = [
        it["key"] for it in data["items"] if it["outcome"] in ("pass", "wrong") and it["response"] != "A"
    ]
    errors_without_reason = [it["key"] for it in data["items"] if it["outcome"] == "error" and not it["error"]]
    return {
        "items": items,
        "reported": len(data["items"]),
        "outcomes": outcomes,
        "server_failed": stats["failed"],
        "server_requests": stats["requests"],
        "scored_from_failure": len(scored_from_failure),
        "errors_without_reason": len(errors_without_reason),
        "wall_s": wall,
        "error_reasons": sorted({it["error"].split(":")[0] for it in data["items"] if it["error"]}),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke check")
    ap.add_argument("--cold", action="store_true", help="keep the inherited bytecode settings (no warm .pyc)")
    ap.add_argument("--only", choices=("overlap", "xdist", "overhead", "faults"), action="append")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    n_overlap, n_overhead, n_x, n_f = (200, 1000, 100, 100) if args.quick else (2000, 10000, 400, 300)
    only = set(args.only or ("overlap", "xdist", "overhead", "faults"))
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="mlb-bench-") as d:
        tmp = Path(d)
        env = ChildEnv(tmp, cold=args.cold)
        env.warm_up()
        print(f"bytecode: {'as inherited (--cold)' if args.cold else 'compiled once, then cached'}", flush=True)
        if "overlap" in only:
            results["overlap"] = o = overlap(tmp, env, n_overlap, 0.2, 64)
            print(
                f"overlap: {o['items']} items, {o['latency_s'] * 1000:.0f} ms, concurrency {o['concurrency']}: "
                f"wall {o['wall_s']:.2f} s, limit {o['ideal_s']:.2f} s -> ratio to the limit "
                f"{o['ratio_to_limit']:.3f} (target <= 1.3); with the response cache on {o['cache_wall_s']:.2f} s "
                f"-> {o['cache_ratio_to_limit']:.3f}; instant-server wall {o['instant_wall_s']:.2f} s, "
                f"overlap ratio {o['overlap_ratio']:.3f}",
                flush=True,
            )
            for name in ("instant", "slow", "slow_cache"):
                print(f"  breakdown {name}: {breakdown(o['phases'][name])}", flush=True)
        if "xdist" in only:
            results["xdist"] = x = xdist_requests(tmp, env, n_x)
            print(
                f"xdist -n 2: {x['items']} items, {x['requests']} requests, {x['prompts_seen']} distinct prompts, "
                f"requests per item {x['requests_per_item']:.3f}, max per prompt {x['max_per_prompt']} (target 1)",
                flush=True,
            )
        if "overhead" in only:
            results["overhead"] = h = overhead(tmp, env, n_overhead)
            print(
                f"overhead: {h['items']} items with mock:oracle, whole process {h['wall_s']:.2f} s, bare pytest "
                f"{h['plain_pytest_wall_s']:.2f} s -> plugin overhead {h['overhead_ms_per_item']:.2f} ms per item "
                f"(target <= 1.0); {h['ms_per_item']:.2f} ms per item in all, {h['plain_ms_per_test']:.2f} ms per "
                f"trivial test; ratio {h['ratio_to_plain_pytest']:.2f}",
                flush=True,
            )
            print(f"  breakdown mlb: {breakdown(h['phases'])}", flush=True)
            print(f"  breakdown bare: {breakdown(h['plain_phases'])}", flush=True)
        if "faults" in only:
            results["faults"] = f = faults(tmp, env, n_f)
            print(
                f"faults: {f['items']} items, 30% of {f['server_requests']} requests failed {f['server_failed']}: "
                f"outcomes {f['outcomes']}, reported {f['reported']}, scored from a failure "
                f"{f['scored_from_failure']}, errors without reason {f['errors_without_reason']}, "
                f"reasons {f['error_reasons']}",
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
