"""The sequential drop gate beside the fixed-size gate, on the same simulated paired runs.

    python benchmarks/bench_sequential.py [--runs 2000] [--seed 7]

Simulation (seeded): each run draws fresh items. Item i has an easiness p_i ~ Beta(0.375, 0.125)
(mean accuracy 0.75, concentration 0.5: most items are almost always right or almost always
wrong, so the two runs agree on ~87% of items). The baseline answers item i right with probability
p_i, the candidate with q_i = p_i (1 - drop / 0.75), independently given p_i: paired, correlated
through the item, with a true mean drop of exactly ``drop``.

Gates, allowed drop 0 (``NAME:drop<=0``), alpha 0.05:
- fixed: all items, regression when the drop is > 0 and the exact one-sided McNemar p < 0.05 (what
  mlb_pytest.gates does);
- sequential: mlb_pytest.sequential with its defaults (margin 0.05: futility once the drop is shown
  below 5 points; alpha 0.035 for the e-processes + 0.015 for the fixed-size fallback when undecided
  at the end; no decision before 30 items).

Printed per size and true drop: the rate of "regression" for both gates (the false-alarm rate on
the drop-0 rows, the detection rate otherwise), the mean share of items the sequential gate used,
and how its decisions were reached. The 3-point row is inside the sequential gate's indifference
zone (0 to 5 points), where it is allowed to say "no regression".
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.stats import binom

from mlb_pytest.sequential import (
    SequentialDesign,
    fixed_size_test,
    min_detectable_drop,
    sequential_paths,
)

A, B = 0.375, 0.125  # Beta easiness: mean 0.75, concentration 0.5
MEAN_P = A / (A + B)
SIZES = (500, 1000, 2000)
DROPS = (0.0, 0.03, 0.05, 0.10)
ALPHA = 0.05


def simulate(rng: np.random.Generator, runs: int, n: int, drop: float) -> tuple[np.ndarray, np.ndarray]:
    p = rng.beta(A, B, size=(runs, n))
    q = p * (1.0 - drop / MEAN_P)
    base = (rng.random((runs, n)) < p).astype(float)
    cand = (rng.random((runs, n)) < q).astype(float)
    return base, cand


def mcnemar_p(base: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """Exact one-sided McNemar p per row (P(X >= right->wrong), X ~ Bin(discordant, 1/2))."""
    r2w = ((base == 1) & (cand == 0)).sum(axis=-1)
    w2r = ((base == 0) & (cand == 1)).sum(axis=-1)
    disc = r2w + w2r
    return np.where(disc > 0, binom.sf(r2w - 1, np.maximum(disc, 1), 0.5), 1.0)


def cell(
    rng: np.random.Generator, runs: int, n: int, drop: float, design: SequentialDesign, chunk: int = 250
) -> dict[str, float]:
    fixed_hits = seq_hits = used = 0.0
    rules = {"sequential": 0, "futility": 0, "fallback": 0}
    checked = False
    for start in range(0, runs, chunk):
        m = min(chunk, runs - start)
        base, cand = simulate(rng, m, n, drop)
        d = base - cand  # items are i.i.d. draws, so their order is already random
        observed = d.mean(axis=-1)
        p_all = mcnemar_p(base, cand)
        fixed = (observed > 0) & (p_all < ALPHA)
        stop, decision = sequential_paths(d, design)
        fallback = decision == -1
        seq = (decision == 1) | (fallback & (observed > design.allowed_drop) & (p_all < design.alpha_fallback))
        if not checked and fallback.any():  # the vectorised fallback is the module's fixed-size test
            i = int(np.argmax(fallback))
            regressed, p, _ = fixed_size_test(base[i], cand[i], design.allowed_drop, design.alpha_fallback)
            assert regressed == bool(seq[i]) and abs(p - p_all[i]) < 1e-9, (regressed, p, p_all[i])
            checked = True
        fixed_hits += fixed.sum()
        seq_hits += seq.sum()
        used += (stop / n).sum()
        rules["sequential"] += int((decision == 1).sum())
        rules["futility"] += int((decision == 0).sum())
        rules["fallback"] += int(fallback.sum())
    return {
        "fixed": fixed_hits / runs,
        "seq": seq_hits / runs,
        "used": used / runs,
        **{k: v / runs for k, v in rules.items()},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=2000, help="simulated run pairs per cell")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--margin", type=float, default=SequentialDesign().margin)
    args = ap.parse_args()
    design = SequentialDesign(allowed_drop=0.0, margin=args.margin, alpha=ALPHA)
    rng = np.random.default_rng(args.seed)
    psi = 2 * (A * B / ((A + B) ** 2) * (A + B) / (A + B + 1))  # E[2 p (1 - p)]: expected discordance at no change
    t0 = time.perf_counter()
    print(
        f"paired runs: easiness Beta({A}, {B}), baseline accuracy {MEAN_P:.2f}, expected discordance {psi:.3f}; "
        f"{args.runs} run pairs per row, seed {args.seed}"
    )
    print(
        f"gate NAME:drop<=0 at alpha {ALPHA}; fixed = all items, exact McNemar; sequential = margin {design.margin:g}, "
        f"alpha {design.alpha_sequential:g} e-processes + {design.alpha_fallback:g} fixed-size fallback, "
        f"min {design.min_items} items"
    )
    print()
    head = (
        f"{'items':>5} {'true drop':>9} | {'fixed: regression':>17} | {'sequential: regression':>22} | "
        f"{'items used':>10} | {'stopped: regr.':>14} {'futility':>8} {'fallback':>8} | {'fixed MDE80':>11}"
    )
    print(head)
    print("-" * len(head))
    summary = []
    for n in SIZES:
        mde = min_detectable_drop(n, ALPHA, discordance=psi)
        for drop in DROPS:
            r = cell(rng, args.runs, n, drop, design)
            summary.append((n, drop, r))
            print(
                f"{n:>5} {drop:>9.2f} | {r['fixed']:>17.3f} | {r['seq']:>22.3f} | {r['used']:>9.1%} | "
                f"{r['sequential']:>14.3f} {r['futility']:>8.3f} {r['fallback']:>8.3f} | {mde:>11.3f}"
            )
    print()
    for drop, label in ((0.0, "no change (false alarms)"), (0.05, "5-point drop"), (0.10, "10-point drop")):
        rows = [(n, r) for n, dd, r in summary if dd == drop]
        used = np.mean([r["used"] for _, r in rows])
        print(
            f"{label:<25}: fixed {np.mean([r['fixed'] for _, r in rows]):.3f}, sequential "
            f"{np.mean([r['seq'] for _, r in rows]):.3f}, sequential uses {used:.1%} of the items "
            f"({1 - used:.1%} fewer), averaged over {', '.join(str(n) for n, _ in rows)} items"
        )
    print(f"\n{time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
