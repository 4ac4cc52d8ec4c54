"""Comparing a run with its baseline on the items both runs scored.

A drop is judged on shared items only (same key and same content hash), with the same
aggregation as the scores themselves (dataset metric, then unweighted means). Significance:
exact McNemar on discordant pairs when every shared item is scored 0/1; otherwise a paired
randomisation test (each item's two results swapped at random, the score difference recomputed,
which is exact under "no change" for any metric, micro-F1 included). The 95% interval of the
difference comes from a paired, stratified bootstrap (the same resampled items in both runs,
each dataset within itself).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .statistics import mcnemar_drop_p, percentile_interval, rng_for

PAIRED_RESAMPLES = 2000


@dataclass
class Paired:
    """Per-dataset aligned item values of the baseline (b) and current (c) runs."""

    metric: str
    b: np.ndarray  # accuracy: scores; micro_f1: [n, 3] tp/fp/fn
    c: np.ndarray
    w: np.ndarray


@dataclass
class Difference:
    n_shared: int
    baseline: float | None
    current: float | None
    drop: float | None  # baseline - current on shared items
    p_value: float | None
    ci: tuple[float, float] | None  # interval of current - baseline
    test: str


def _value(r: Mapping[str, Any], metric: str) -> Any:
    if metric == "micro_f1":
        d = r.get("details") or {}
        return [float(d.get("tp", 0)), float(d.get("fp", 0)), float(d.get("fn", 0))]
    return float(r["score"])


def align(baseline: Mapping[str, Mapping[str, Any]], current: Sequence[Mapping[str, Any]],
          keys: set[str] | None = None) -> dict[str, Paired]:
    """Shared scored items, grouped by dataset (optionally restricted to ``keys``)."""
    groups: dict[str, tuple[str, list[Any], list[Any], list[float]]] = {}
    for r in sorted(current, key=lambda r: str(r["key"])):
        key = str(r["key"])
        if keys is not None and key not in keys:
            continue
        old = baseline.get(key)
        if old is None or r.get("score") is None or old.get("score") is None:
            continue
        if old.get("content_hash") and r.get("content_hash") and old["content_hash"] != r["content_hash"]:
            continue
        metric = str(r["metric"])
        g = groups.setdefault(str(r["dataset"]), (metric, [], [], []))
        g[1].append(_value(old, metric))
        g[2].append(_value(r, metric))
        g[3].append(float(r.get("weight", 1.0)))
    return {ds: Paired(m, np.array(b, dtype=float), np.array(c, dtype=float), np.array(w, dtype=float))
            for ds, (m, b, c, w) in groups.items()}


def _score(metric: str, vals: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Dataset score along the last item axis (vals may carry a leading resample axis)."""
    if metric == "micro_f1":
        tp, fp, fn = (vals[..., k].sum(axis=-1) for k in range(3))
        denom = 2 * tp + fp + fn
        return np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), 1.0)
    mean = (vals * w).sum(axis=-1) / w.sum(axis=-1)
    return np.clip(mean, 0.0, 1.0) if metric == "rubric" else mean  # rubric items may score below 0


def permutation_diffs(groups: Mapping[str, Paired], rng: np.random.Generator, resamples: int) -> np.ndarray:
    """Score differences (current - baseline) with each item's pair swapped at random."""
    names = sorted(groups)
    diffs = np.zeros(resamples)
    for d in names:
        p = groups[d]
        swap = rng.random((resamples, len(p.w))) < 0.5
        if p.metric == "micro_f1":
            swap3 = swap[..., None]
            cur = np.where(swap3, p.b[None], p.c[None])
            base = np.where(swap3, p.c[None], p.b[None])
        else:
            cur = np.where(swap, p.b[None], p.c[None])
            base = np.where(swap, p.c[None], p.b[None])
        w = np.broadcast_to(p.w, swap.shape)
        diffs += _score(p.metric, cur, w) - _score(p.metric, base, w)
    return diffs / len(names)


def compare(groups: Mapping[str, Paired], name: str, resamples: int = PAIRED_RESAMPLES) -> Difference:
    """Baseline vs current for a group of datasets scored as the mean of their dataset scores."""
    n = sum(len(p.w) for p in groups.values())
    if n == 0:
        return Difference(0, None, None, None, None, None, "none")
    names = sorted(groups)
    base = float(np.mean([_score(groups[d].metric, groups[d].b, groups[d].w) for d in names]))
    cur = float(np.mean([_score(groups[d].metric, groups[d].c, groups[d].w) for d in names]))
    rng = rng_for("paired", name)
    diffs = np.zeros(resamples)
    for d in names:
        p = groups[d]
        idx = rng.integers(0, len(p.w), size=(resamples, len(p.w)))
        diffs += _score(p.metric, p.c[idx], p.w[idx]) - _score(p.metric, p.b[idx], p.w[idx])
    diffs /= len(names)
    binary = all(p.metric != "micro_f1" and np.all(np.isin(p.b, (0.0, 1.0))) and np.all(np.isin(p.c, (0.0, 1.0)))
                 for p in groups.values())
    if binary:
        r2w = int(sum(((p.b == 1) & (p.c == 0)).sum() for p in groups.values()))
        w2r = int(sum(((p.b == 0) & (p.c == 1)).sum() for p in groups.values()))
        p_value, test = mcnemar_drop_p(r2w, w2r), f"exact McNemar ({r2w} right->wrong, {w2r} wrong->right)"
    else:
        null = permutation_diffs(groups, rng_for("permutation", name), resamples)
        observed = cur - base
        p_value = float((1 + np.sum(null <= observed + 1e-12)) / (resamples + 1))
        test = f"paired randomisation test ({resamples} swaps); bootstrap interval"
    return Difference(n, base, cur, base - cur, p_value, percentile_interval(diffs), test)
