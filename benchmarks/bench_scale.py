"""Collection time and peak memory at 100,000 items, as ratios and figures measured in one run.

    python benchmarks/bench_scale.py            # 100,000 items of one choice dataset
    python benchmarks/bench_scale.py --quick    # 10,000 items, for a smoke check

Prints:
1. collection: ``pytest --collect-only -q`` of the suite with the plugin, beside bare pytest
   (``-p no:mlb``) collecting as many trivial parametrized tests; ratio of the whole processes'
   wall times, target <= 1.5;
2. peak memory: ``ru_maxrss`` of an end-to-end run (``--mlb-model=mock:oracle``, JSON report
   written), target <= 1 GB; beside it bare pytest running as many trivial tests, and the resident
   memory at each phase (after collection, after the tests, after the report), so that a growth
   shows where it happens.
Children run with warm bytecode, as in ``bench_engine.py`` (``--cold`` keeps the inherited settings).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_engine import ChildEnv, breakdown, write_plain, write_suite


def run_child(cmd: list[str], env: ChildEnv, cwd: Path, phases: bool = True) -> dict[str, Any]:
    """Wall time, peak RSS (``ru_maxrss`` of the child) and phases of one pytest process."""
    child_env = dict(env.env)
    phases_file = cwd / f"phases-{time.monotonic_ns()}.json"
    if phases:
        cmd = [*cmd[:3], "-p", "mlb_bench_phases", *cmd[3:]]
        child_env["MLB_BENCH_PHASES"] = str(phases_file)
    child_env["MLB_BENCH_T0"] = repr(time.time())
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=child_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)  # reaped here, so that its rusage is this child's alone
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out[-3000:]}")
    ph = json.loads(phases_file.read_text()) if phases_file.exists() else {}
    ph["wall"] = wall
    return {"wall_s": wall, "maxrss_mb": usage.ru_maxrss / 1024, "phases": ph, "tail": out[-400:]}


def pytest_cmd(target: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", str(target), "-q", "-p", "no:cacheprovider", *args]


def collection(tmp: Path, env: ChildEnv, suite: Path, plain: Path) -> dict[str, Any]:
    mlb = run_child(pytest_cmd(suite, "--collect-only", "--mlb-model=mock:oracle"), env, tmp)
    bare = run_child(pytest_cmd(plain, "--collect-only", "-p", "no:mlb"), env, tmp)
    return {"mlb": mlb, "bare": bare, "ratio": mlb["wall_s"] / bare["wall_s"]}


def memory(tmp: Path, env: ChildEnv, suite: Path, plain: Path) -> dict[str, Any]:
    report = tmp / "report.json"
    mlb = run_child(pytest_cmd(suite, "--mlb-model=mock:oracle", f"--mlb-report={report}"), env, tmp)
    mlb["report_mb"] = report.stat().st_size / 2**20
    bare = run_child(pytest_cmd(plain, "-p", "no:mlb"), env, tmp)
    return {"mlb": mlb, "bare": bare}


def rss_line(ph: dict[str, Any]) -> str:
    """Resident memory when each phase ended (the phases plugin's marks)."""
    names = (("configured", "start-up"), ("collected", "collection"), ("tests_done", "tests"), ("finished", "report"))
    return ", ".join(f"after {label} {ph[f'{key}_rss_mb']:.0f} MB" for key, label in names if f"{key}_rss_mb" in ph)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="10,000 items instead of 100,000")
    ap.add_argument("--items", type=int, help="any other size")
    ap.add_argument("--cold", action="store_true", help="keep the inherited bytecode settings (no warm .pyc)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    n = args.items or (10_000 if args.quick else 100_000)
    results: dict[str, Any] = {"items": n}
    with tempfile.TemporaryDirectory(prefix="mlb-scale-") as d:
        tmp = Path(d)
        env = ChildEnv(tmp, cold=args.cold)
        env.warm_up()
        suite = write_suite(tmp / "suite", n)
        plain = write_plain(tmp / "plain", n)
        print(f"{n:,} items; suite {suite.stat().st_size / 2**20:.1f} MB; bytecode warm: {not args.cold}", flush=True)

        results["collection"] = c = collection(tmp, env, suite, plain)
        print(
            f"collection: plugin {c['mlb']['wall_s']:.2f} s ({c['mlb']['maxrss_mb']:.0f} MB), bare pytest "
            f"{c['bare']['wall_s']:.2f} s ({c['bare']['maxrss_mb']:.0f} MB) -> ratio {c['ratio']:.2f} (target <= 1.5)",
            flush=True,
        )
        print(f"  breakdown plugin: {breakdown(c['mlb']['phases'])}", flush=True)
        print(f"  breakdown bare: {breakdown(c['bare']['phases'])}", flush=True)

        results["memory"] = m = memory(tmp, env, suite, plain)
        mlb, bare = m["mlb"], m["bare"]
        print(
            f"memory: end-to-end run peak RSS {mlb['maxrss_mb']:.0f} MB (target <= 1024), report "
            f"{mlb['report_mb']:.0f} MB, wall {mlb['wall_s']:.1f} s; bare pytest running {n:,} trivial tests "
            f"{bare['maxrss_mb']:.0f} MB, wall {bare['wall_s']:.1f} s; plugin's own "
            f"{1024 * (mlb['maxrss_mb'] - bare['maxrss_mb']) / n:.1f} kB per item",
            flush=True,
        )
        print(f"  resident plugin: {rss_line(mlb['phases'])}", flush=True)
        print(f"  resident bare: {rss_line(bare['phases'])}", flush=True)
        print(f"  breakdown plugin: {breakdown(mlb['phases'])}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(this script's own peak {own:.0f} MB is not counted)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
