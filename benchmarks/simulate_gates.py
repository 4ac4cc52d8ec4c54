"""False-alarm and detection rates of the release gates, through the real plugin.

    python benchmarks/simulate_gates.py [--items 300] [--reruns 20]

A simulated model (a ``python:`` model) answers each item right with a fixed probability per
dimension. One run at those probabilities becomes the baseline; then
- ``reruns`` runs with fresh randomness at the same probabilities: the gates should pass
  (target: at least 19 of 20);
- ``reruns`` runs where MedSE falls from 0.96 to 0.88 and MedKQA from 0.85 to 0.75: the gates
  should fail (target: 20 of 20).
Each run is a separate ``pytest`` process with the default gate policy (MedSE >= 0.90, no
dimension and not the overall score may drop significantly by more than 0.02).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_P = {"MedKQA": 0.85, "MedSE": 0.96, "MedRU": 0.80, "SmartServ": 0.88, "SmartCare": 0.75}
DROPPED_P = {**BASE_P, "MedSE": 0.88, "MedKQA": 0.75}

MODEL = """
import hashlib, json, os, re

_P = json.loads(os.environ["SIM_P"])
_SEED = os.environ["SIM_SEED"]

def answer(messages, **params):
    content = messages[0]["content"]
    dim = re.search(r"\\[(\\w+)\\]", content).group(1)
    # a uniform draw per (run seed, item): independent of the order in which items are asked
    u = int.from_bytes(hashlib.sha256(f"{_SEED}|{content}".encode()).digest()[:8], "big") / 2**64
    return "A" if u < _P[dim] else "B"
"""


def write_suite(root: Path, items: int) -> Path:
    suite = root / "suite"
    for dim in BASE_P:
        folder = suite / dim.lower()
        folder.mkdir(parents=True, exist_ok=True)
        head = {
            "mlb_suite": 1,
            "dataset": f"Sim{dim}",
            "mirrors": "CMExam",
            "dimension": dim,
            "task": "choice",
            "metric": "accuracy",
            "prompt": f"[{dim}] " + "${question}\n${options}\n答案：",
            "source": "simulation",
            "licence": "Apache-2.0",
        }
        lines = [json.dumps(head, ensure_ascii=False)]
        for i in range(items):
            lines.append(
                json.dumps(
                    {
                        "id": f"s{i:04d}",
                        "specialty": "general_practice",
                        "question": f"模拟题{i}",
                        "options": {"A": "对", "B": "错", "C": "不确定", "D": "其他"},
                        "answer": "A",
                    },
                    ensure_ascii=False,
                )
            )
        (folder / f"Sim{dim}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "sim_model.py").write_text(MODEL)
    return suite


def run(root: Path, p: dict[str, float], seed: int, *extra: str) -> dict:
    report = root / f"report-{seed}.json"
    env = {**os.environ, "SIM_P": json.dumps(p), "SIM_SEED": str(seed)}
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "suite",
        "-q",
        "-p",
        "no:cacheprovider",
        "--mlb-no-cache",
        "--mlb-model=python:sim_model:answer",
        f"--mlb-report={report}",
        "--mlb-concurrency=8",
        *extra,
    ]
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    data = json.loads(report.read_text(encoding="utf-8"))
    data["_exit"] = proc.returncode
    return data


def direct(items: int, trials: int) -> tuple[float, float]:
    """The same decision without pytest (aggregation + gates on simulated results), many trials."""
    import numpy as np

    from mlb_pytest.aggregation import aggregate
    from mlb_pytest.gates import evaluate, load_policy

    policy = load_policy(None, None, [])
    rng = np.random.default_rng(7)

    def results(p: dict[str, float]) -> list[dict]:
        rows = []
        for dim, prob in p.items():
            right = rng.random(items) < prob
            rows += [
                {
                    "key": f"Sim{dim}/s{i:04d}",
                    "dataset": f"Sim{dim}",
                    "dimension": dim,
                    "metric": "accuracy",
                    "score": float(r),
                    "weight": 1.0,
                    "content_hash": str(i),
                    "outcome": "pass" if r else "wrong",
                    "details": {},
                }
                for i, r in enumerate(right)
            ]
        return rows

    def verdict(base: list[dict], cur: list[dict]) -> bool:
        report = {"items": cur, **aggregate(cur).to_json()}
        gates = evaluate(policy, report, {r["key"]: r for r in base}).gates
        return all(g.passed for g in gates)

    fa = sum(not verdict(results(BASE_P), results(BASE_P)) for _ in range(trials)) / trials
    det = sum(not verdict(results(BASE_P), results(DROPPED_P)) for _ in range(trials)) / trials
    return fa, det


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=300, help="items per dimension")
    ap.add_argument("--reruns", type=int, default=20)
    ap.add_argument(
        "--direct",
        type=int,
        default=0,
        metavar="N",
        help="also estimate both rates from N simulated run pairs without pytest (same gate code)",
    )
    args = ap.parse_args()
    if args.direct:
        fa, det = direct(args.items, args.direct)
        print(
            f"direct estimate over {args.direct} run pairs: false-alarm rate {fa:.3f}, detection rate {det:.3f}",
            flush=True,
        )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mlb-sim-") as d:
        root = Path(d)
        write_suite(root, args.items)
        base = run(root, BASE_P, 1, "--mlb-update-baseline")
        assert base["baseline_update"]["written"], base.get("baseline_update")
        print(
            f"baseline: {args.items} items per dimension, "
            + ", ".join(f"{k} {v['score']:.3f}" for k, v in base["dimensions"].items()),
            flush=True,
        )
        same = [run(root, BASE_P, 100 + i) for i in range(args.reruns)]
        dropped = [run(root, DROPPED_P, 500 + i) for i in range(args.reruns)]
    false_alarms = [r for r in same if r["verdict"] != "pass"]
    detected = [r for r in dropped if r["verdict"] == "fail"]
    print(
        f"same probabilities: gates passed in {len(same) - len(false_alarms)} of {len(same)} reruns "
        f"(false-alarm rate {len(false_alarms) / len(same):.2f}; target: pass in >= 19 of 20)"
    )
    for r in false_alarms:
        print("  false alarm:", r["verdict_reason"])
    print(
        f"MedSE 0.96->0.88, MedKQA 0.85->0.75: gates failed in {len(detected)} of {len(dropped)} reruns "
        f"(detection rate {len(detected) / len(dropped):.2f}; target 20 of 20)"
    )
    exits = sorted({r["_exit"] for r in same}), sorted({r["_exit"] for r in dropped})
    print(f"exit codes: same {exits[0]}, dropped {exits[1]}; wall {time.perf_counter() - started:.0f} s")
    if dropped:
        ex = dropped[0]
        print("example failing run:", ex["verdict_reason"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
