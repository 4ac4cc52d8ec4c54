"""Verdicts per second of the bundled judge on this machine, batched vs one at a time, in one run.

    python benchmarks/bench_judge.py [--rows 96] [--batch 32]

Takes test-split annotation rows, asks the builtin judge each question through its adapter
interface (as a run does), first with batches of ``--batch`` and then one question per
forward pass, and prints both rates and their ratio. Verdicts must agree both ways. The model
is loaded (and the encoder converted, the first time) before timing starts.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import torch

from mlb_pytest.catalog import Dimension, JudgeKind, Metric, Task
from mlb_pytest.judges import parse_verdict
from mlb_pytest.judges.builtin import BuiltinJudge
from mlb_pytest.judges.evaluate import load_annotations
from mlb_pytest.judges.questions import JudgeQuestion
from mlb_pytest.models import GenerationRequest
from mlb_pytest.schema import finalize

ROOT = Path(__file__).resolve().parents[1]


def requests(n: int) -> list[GenerationRequest]:
    rows = load_annotations(ROOT / "judge" / "data" / "annotations", "test")[:n]
    item = finalize(
        dict(
            id="bench",
            dataset="bench",
            dimension=Dimension.SmartCare,
            task=Task.open,
            metric=Metric.judge,
            judge=JudgeKind.points,
            question="",
            messages=({"role": "user", "content": ""},),
        )
    )
    return [
        GenerationRequest(
            item, {}, payload=JudgeQuestion(0, r["kind"], r["point"], r["context"], r["response"], r["lang"])
        )
        for r in rows
    ]


def measure(judge: BuiltinJudge, reqs: list[GenerationRequest]) -> tuple[float, list[bool]]:
    async def go() -> tuple[float, list[bool]]:
        started = time.perf_counter()
        gens = await asyncio.gather(*(judge.generate(r) for r in reqs))
        return time.perf_counter() - started, [parse_verdict(g.raw).yes for g in gens]

    return asyncio.run(go())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=96)
    ap.add_argument("--batch", type=int, default=32)
    args = ap.parse_args()
    reqs = requests(args.rows)
    batched, single = BuiltinJudge(batch_size=args.batch), BuiltinJudge(batch_size=1)
    started = time.perf_counter()
    batched._load()
    single._model = batched._model  # one model, two batching policies
    print(f"torch threads {torch.get_num_threads()}; model load {time.perf_counter() - started:.1f} s")
    measure(batched, reqs[:8])  # warm-up
    t_b, v_b = measure(batched, reqs)
    t_1, v_1 = measure(single, reqs)
    assert v_b == v_1, "batched and single verdicts differ"
    print(
        f"{len(reqs)} verdicts: batched ({args.batch}) {len(reqs) / t_b:.1f}/s, one at a time {len(reqs) / t_1:.1f}/s, "
        f"ratio {t_1 / t_b:.2f}x; batches {sorted(set(batched.batches))}"
    )


if __name__ == "__main__":
    main()
