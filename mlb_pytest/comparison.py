"""Comparing a run with its baseline on the items both runs scored.

A drop is judged on shared items only (same key and same content hash), with the same
aggregation as the scores themselves (dataset metric, then unweighted means). Significance:
exact McNemar on discordant pairs when every shared item is scored 0/1; otherwise a paired
randomisation test (each item's two results swapped at random, the score difference recomputed,
which is exact under "no change" for any metric, micro-F1 included). The 95% interval of the
difference comes from a paired, stratified bootstrap (the same resampled items in both runs,
each dataset within itself). The overall score is a mean over dimensions of the mean over their
datasets: ``compare_strata`` runs the same tests with dimensions as strata (randomisation only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .item_view import ItemView, views
from .statistics import mcnemar_drop_p, micro_f1_stat, percentile_interval, rng_for, weighted_mean_stat

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


def _value(r: ItemView, metric: str) -> Any:
    return list(r.counts()) if metric == "micro_f1" else r.score


def align(
    baseline: Mapping[str, Mapping[str, Any]], current: Sequence[Mapping[str, Any]], keys: set[str] | None = None
) -> dict[str, Paired]:
    """Shared scored items, grouped by dataset (optionally restricted to ``keys``)."""
    groups: dict[str, tuple[str, list[Any], list[Any], list[float]]] = {}
    for r in sorted(views(current), key=lambda r: r.key):
        if keys is not None and r.key not in keys:
            continue
        stored = baseline.get(r.key)
        if stored is None:
            continue
        old = ItemView(stored)
        if r.score is None or old.score is None:
            continue
        if old.content_hash and r.content_hash and old.content_hash != r.content_hash:
            continue  # the item changed since the baseline: not the same question
        g = groups.setdefault(str(r.dataset), (r.metric, [], [], []))
        g[1].append(_value(old, r.metric))
        g[2].append(_value(r, r.metric))
        g[3].append(r.weight)
    return {
        ds: Paired(m, np.array(b, dtype=float), np.array(c, dtype=float), np.array(w, dtype=float))
        for ds, (m, b, c, w) in groups.items()
    }


def _score(metric: str, vals: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Dataset score along the last item axis (vals may carry a leading resample axis)."""
    if metric == "micro_f1":
        return micro_f1_stat([vals[..., k] for k in range(3)])
    mean = weighted_mean_stat([vals, w])
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
    """Baseline vs current for a group of datasets scored as the mean of their dataset scores.

    Exact McNemar when every shared item is scored 0/1, else the paired randomisation test.
    """
    return _paired_test({name: {d: groups[d] for d in sorted(groups)}}, name, resamples, flat=True)


def compare_strata(
    strata: Mapping[str, Mapping[str, Paired]], name: str, resamples: int = PAIRED_RESAMPLES
) -> Difference:
    """Baseline vs current for a score that is the mean over strata (dimensions) of the mean over
    their datasets, as the overall score is: the randomisation test, stratified by dataset."""
    return _paired_test(strata, name, resamples, flat=False)


def _paired_test(strata: Mapping[str, Mapping[str, Paired]], name: str, resamples: int, flat: bool) -> Difference:
    """The one paired comparison: point scores, bootstrap interval and p-value of a mean of means.

    ``flat``: one stratum (``compare``), where 0/1 scores get exact McNemar. Point scores average the
    dataset scores in the order given; the resampling walks strata and datasets in sorted order, from
    the streams ``("paired", name)`` and ``("permutation", name)``.
    """
    strata = {s: g for s, g in strata.items() if g}
    n = sum(len(p.w) for g in strata.values() for p in g.values())
    if n == 0:
        return Difference(0, None, None, None, None, None, "none")
    base = float(sum(np.mean([_score(p.metric, p.b, p.w) for p in g.values()]) for g in strata.values()) / len(strata))
    cur = float(sum(np.mean([_score(p.metric, p.c, p.w) for p in g.values()]) for g in strata.values()) / len(strata))
    rng = rng_for("paired", name)
    boot = np.zeros(resamples)
    for s in sorted(strata):
        g = strata[s]
        diffs = np.zeros(resamples)
        for d in sorted(g):
            p = g[d]
            idx = rng.integers(0, len(p.w), size=(resamples, len(p.w)))
            diffs += _score(p.metric, p.c[idx], p.w[idx]) - _score(p.metric, p.b[idx], p.w[idx])
        boot += diffs / len(g)
    boot /= len(strata)
    groups = [p for g in strata.values() for p in g.values()]
    binary = flat and all(
        p.metric != "micro_f1" and np.all(np.isin(p.b, (0.0, 1.0))) and np.all(np.isin(p.c, (0.0, 1.0))) for p in groups
    )
    if binary:
        r2w = int(sum(((p.b == 1) & (p.c == 0)).sum() for p in groups))
        w2r = int(sum(((p.b == 0) & (p.c == 1)).sum() for p in groups))
        p_value, test = mcnemar_drop_p(r2w, w2r), f"exact McNemar ({r2w} right->wrong, {w2r} wrong->right)"
    else:
        perm = rng_for("permutation", name)
        null = np.zeros(resamples)
        for s in sorted(strata):
            null += permutation_diffs(strata[s], perm, resamples)
        null /= len(strata)
        p_value = float((1 + np.sum(null <= cur - base + 1e-12)) / (resamples + 1))
        stratified = "" if flat else ", stratified by dataset"
        test = f"paired randomisation test ({resamples} swaps){stratified}; bootstrap interval"
    return Difference(n, base, cur, base - cur, p_value, percentile_interval(boot), test)
