"""Speed of the plugin against a local OpenAI-compatible server, as ratios measured in one run.

    python benchmarks/bench_engine.py            # full sizes (2,000 items at 200 ms, 10,000 mock items)
    python benchmarks/bench_engine.py --quick    # small sizes, for a smoke check

Prints:
1. overlap ratio = wall / (items x latency / concurrency + wall against an instant server);
   target <= 1.3 (each test waits only for its own answer; requests overlap);
2. requests per item under ``-n 2`` (target exactly 1.0 for every prompt);
3. plugin overhead per item: whole ``pytest --mlb-model=mock:oracle`` process over 10,000 items,
   beside plain pytest running 10,000 trivial parametrized tests (target <= 3 ms per item);
4. fault tolerance: 30% of requests fail (500, 429 with Retry-After, HTML, dropped connection);
   every item must end scored or as an error with its reason, none scored from a failure.
The server runs in its own process so that its CPU does not count as the client's.
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

HEADER = {"mlb_suite": 1, "dataset": "BenchExam", "mirrors": "CMExam", "dimension": "MedKQA", "task": "choice",
          "metric": "accuracy", "prompt": "选择正确答案，只输出字母。\n${question}\n${options}\n答案：",
          "source": "benchmark", "licence": "Apache-2.0"}


def write_suite(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(HEADER, ensure_ascii=False)]
    for i in range(n):
        lines.append(json.dumps({"id": f"b{i:05d}", "specialty": "cardiology", "question": f"第{i}题：哪项正确？",
                                 "options": {"A": f"正确{i}", "B": f"错误{i}", "C": f"无关{i}"}, "answer": "A"},
                                ensure_ascii=False))
    path = folder / "bench.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Server:
    """The fake OpenAI server in a child process (mlb_pytest.testing.openai_server)."""

    def __init__(self, latency: float, fail_rate: float = 0.0) -> None:
        cmd = [sys.executable, "-m", "mlb_pytest.testing.openai_server", "--port", "0", "--latency", str(latency),
               "--fail-rate", str(fail_rate), "--answer", "A"]
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


def run_pytest(suite: Path, *args: str, cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    cmd = [sys.executable, "-m", "pytest", str(suite), "-q", "-p", "no:cacheprovider", "--mlb-no-cache", *args]
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    return time.perf_counter() - started, proc


def overlap(tmp: Path, items: int, latency: float, concurrency: int) -> dict[str, float]:
    suite = write_suite(tmp / "overlap", items)
    walls = {}
    for lat in (0.0, latency):
        server = Server(lat)
        try:
            wall, proc = run_pytest(suite, f"--mlb-model=openai:bench@{server.base_url}",
                                    f"--mlb-concurrency={concurrency}", cwd=tmp)
            if proc.returncode != 0:
                raise RuntimeError(proc.stdout[-2000:])
            walls[lat] = wall
        finally:
            server.close()
    ideal = items * latency / concurrency
    return {"items": items, "latency_s": latency, "concurrency": concurrency, "instant_wall_s": walls[0.0],
            "wall_s": walls[latency], "ideal_s": ideal, "overlap_ratio": walls[latency] / (ideal + walls[0.0])}


def xdist_requests(tmp: Path, items: int) -> dict[str, float]:
    suite = write_suite(tmp / "xdist", items)
    server = Server(0.02)
    try:
        wall, proc = run_pytest(suite, f"--mlb-model=openai:bench@{server.base_url}", "-n", "2",
                                "--mlb-concurrency=16", cwd=tmp)
        if proc.returncode != 0:
            raise RuntimeError(proc.stdout[-2000:])
        per_prompt = server.stats()["per_prompt"]
    finally:
        server.close()
    counts = list(per_prompt.values())
    return {"items": items, "prompts_seen": len(counts), "requests": sum(counts),
            "requests_per_item": sum(counts) / items, "max_per_prompt": max(counts), "wall_s": wall}


def overhead(tmp: Path, items: int) -> dict[str, float]:
    suite = write_suite(tmp / "overhead", items)
    wall, proc = run_pytest(suite, "--mlb-model=mock:oracle", cwd=tmp)
    if proc.returncode != 0:
        raise RuntimeError(proc.stdout[-2000:])
    plain = tmp / "plain" / "test_plain.py"
    plain.parent.mkdir(parents=True, exist_ok=True)
    plain.write_text(f"import pytest\n\n@pytest.mark.parametrize('i', range({items}))\ndef test_x(i):\n    assert i >= 0\n")
    plain_wall, _ = run_pytest(plain, cwd=tmp)
    return {"items": items, "wall_s": wall, "ms_per_item": 1000 * wall / items,
            "plain_pytest_wall_s": plain_wall, "plain_ms_per_test": 1000 * plain_wall / items,
            "ratio_to_plain_pytest": wall / plain_wall}


def faults(tmp: Path, items: int) -> dict[str, Any]:
    suite = write_suite(tmp / "faults", items)
    server = Server(0.01, fail_rate=0.3)
    report = tmp / "faults.json"
    try:
        wall, proc = run_pytest(suite, f"--mlb-model=openai:bench@{server.base_url}", "--mlb-concurrency=32",
                                "--mlb-retries=3", "--mlb-timeout=10", f"--mlb-report={report}", cwd=tmp)
        stats = server.stats()
    finally:
        server.close()
    data = json.loads(report.read_text(encoding="utf-8"))
    outcomes: dict[str, int] = {}
    for it in data["items"]:
        outcomes[it["outcome"]] = outcomes.get(it["outcome"], 0) + 1
    scored_from_failure = [it["key"] for it in data["items"] if it["outcome"] in ("pass", "wrong") and it["response"] != "A"]
    errors_without_reason = [it["key"] for it in data["items"] if it["outcome"] == "error" and not it["error"]]
    return {"items": items, "reported": len(data["items"]), "outcomes": outcomes, "server_failed": stats["failed"],
            "server_requests": stats["requests"], "scored_from_failure": len(scored_from_failure),
            "errors_without_reason": len(errors_without_reason), "wall_s": wall,
            "error_reasons": sorted({it["error"].split(":")[0] for it in data["items"] if it["error"]})}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke check")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    n_overlap, n_overhead, n_x, n_f = (200, 1000, 100, 100) if args.quick else (2000, 10000, 400, 300)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="mlb-bench-") as d:
        tmp = Path(d)
        results["overlap"] = o = overlap(tmp, n_overlap, 0.2, 64)
        print(f"overlap: {o['items']} items, {o['latency_s']*1000:.0f} ms, concurrency {o['concurrency']}: "
              f"wall {o['wall_s']:.2f} s, ideal {o['ideal_s']:.2f} s + instant-server wall {o['instant_wall_s']:.2f} s "
              f"-> overlap ratio {o['overlap_ratio']:.3f} (target <= 1.3)", flush=True)
        results["xdist"] = x = xdist_requests(tmp, n_x)
        print(f"xdist -n 2: {x['items']} items, {x['requests']} requests, {x['prompts_seen']} distinct prompts, "
              f"requests per item {x['requests_per_item']:.3f}, max per prompt {x['max_per_prompt']} (target 1)", flush=True)
        results["overhead"] = h = overhead(tmp, n_overhead)
        print(f"overhead: {h['items']} items with mock:oracle, whole process {h['wall_s']:.2f} s = "
              f"{h['ms_per_item']:.2f} ms per item (target <= 3); plain pytest {h['plain_ms_per_test']:.2f} ms per "
              f"trivial test; ratio {h['ratio_to_plain_pytest']:.2f}", flush=True)
        results["faults"] = f = faults(tmp, n_f)
        print(f"faults: {f['items']} items, 30% of {f['server_requests']} requests failed {f['server_failed']}: "
              f"outcomes {f['outcomes']}, reported {f['reported']}, scored from a failure {f['scored_from_failure']}, "
              f"errors without reason {f['errors_without_reason']}, reasons {f['error_reasons']}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
