"""Items per second of the hf: adapter, one at a time vs batched, with and without prefix reuse, in one run.

    python benchmarks/bench_hf.py [--model gemma3-270m] [--items 16] [--batch 8]

Uses bundled choice and extraction items (short and long answers) and the offline default
model; prints the load time (first load converts GGUF once; later loads read the cache), the
throughput of batch 1, batched without and with the shared prompt prefix's key/value cache
(``models/hf_prefix.py``), their ratios to batch 1, the prompt tokens the prefix cache saved, and
whether greedy outputs are identical all three ways.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from mlb_pytest.catalog import Task
from mlb_pytest.models import GenerationRequest
from mlb_pytest.models.hf import HF_MAX_NEW_TOKENS, HFModel
from mlb_pytest.suites.loader import iter_suite_files, load_suite_file

ROOT = Path(__file__).resolve().parents[1]


def requests(n: int, task: Task) -> list[GenerationRequest]:
    items = [it for f in iter_suite_files([ROOT / "suites"]) for it in load_suite_file(f).items if it.task is task]
    items = sorted(items, key=lambda it: it.key)[:n]
    return [GenerationRequest(it, {"temperature": 0.0, "max_tokens": HF_MAX_NEW_TOKENS[task]}) for it in items]


async def _gen(model: HFModel, reqs: list[GenerationRequest]) -> list[str]:
    return [g.raw for g in await asyncio.gather(*(model.generate(r) for r in reqs))]


def measure(model: HFModel, reqs: list[GenerationRequest]) -> tuple[float, list[str]]:
    async def go() -> tuple[float, list[str]]:
        started = time.perf_counter()
        out = await _gen(model, reqs)
        return time.perf_counter() - started, out

    return asyncio.run(go())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="gemma3-270m")
    ap.add_argument("--items", type=int, default=16)
    ap.add_argument("--batch", type=int, default=8)
    args = ap.parse_args()
    single = HFModel(args.model, batch_size=1, prefix_cache=False)
    plain = HFModel(args.model, batch_size=args.batch, prefix_cache=False)
    batched = HFModel(args.model, batch_size=args.batch)
    t = time.perf_counter()
    single.load()
    print(f"load: {time.perf_counter() - t:.1f} s (includes GGUF conversion on the very first use)")
    for other in (plain, batched):  # share the weights
        other._tok, other._model, other.device = single._tok, single._model, single.device
    for task in (Task.choice, Task.extraction):
        reqs = requests(args.items, task)
        w1, out1 = measure(single, reqs)
        wp, outp = measure(plain, reqs)
        assert batched.prefix is not None
        saved_before = batched.prefix.saved_tokens
        wb, outb = measure(batched, reqs)
        print(
            f"{task.value}: {len(reqs)} items, max_new_tokens {HF_MAX_NEW_TOKENS[task]}: batch 1 {len(reqs) / w1:.2f} items/s; "
            f"batch {args.batch} {len(reqs) / wp:.2f} items/s ({w1 / wp:.2f}x); batch {args.batch} + prefix cache "
            f"{len(reqs) / wb:.2f} items/s ({w1 / wb:.2f}x, {wp / wb:.2f}x over batch {args.batch} alone; "
            f"{batched.prefix.saved_tokens - saved_before} prompt tokens not prefilled); "
            f"identical outputs: {out1 == outp == outb}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
