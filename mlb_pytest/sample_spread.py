"""Run-to-run spread and worst-of-K with ``--mlb-samples=K``.

Sampling every item K times is K runs of the benchmark in one: sample k of every item is run k.
Each run gets a dataset score by the dataset's own metric (weighted mean, or micro-F1 over the
run's counts; rubric means clipped to [0, 1]), dimensions and the overall the mean of their parts,
as the plain score is built. Per dataset, dimension and overall the report then gives the K run
scores, their mean, their standard deviation (the spread a team would see rerunning the suite)
and the worst and best of them; ``NAME:worst>=FLOOR`` gates the worst.
"""

from __future__ import annotations

import statistics as stats
from collections.abc import Mapping, Sequence
from typing import Any

from .catalog import DIMENSIONS
from .item_view import ItemView, views
from .statistics import micro_f1


def _run_scores(rows: Sequence[Mapping[str, Any]], metric: str, k: int) -> list[float] | None:
    """The dataset's score in each of the K runs (None: no item has K scored samples)."""
    usable: list[tuple[ItemView, list[float]]] = []
    for r in views(rows):
        scores = r.sample_scores()
        if len(scores) == k and all(x is not None for x in scores):
            usable.append((r, [float(x) for x in scores if x is not None]))
    if not usable:
        return None
    out = []
    for j in range(k):
        counts = [r.sample_counts(j) for r, _ in usable]
        if metric == "micro_f1" and all(c is not None for c in counts):
            out.append(micro_f1(*(sum(c[i] for c in counts if c is not None) for i in range(3))))
            continue
        w = [r.weight for r, _ in usable]
        s = [scores[j] for _, scores in usable]
        value = sum(a * b for a, b in zip(s, w)) / sum(w)
        out.append(min(1.0, max(0.0, value)) if metric == "rubric" else value)
    return out


def _block(scores: Sequence[float]) -> dict[str, Any]:
    return {
        "k": len(scores),
        "scores": list(scores),
        "mean": stats.fmean(scores),
        "sd": stats.stdev(scores) if len(scores) > 1 else 0.0,
        "worst": min(scores),
        "best": max(scores),
    }


def _mean_runs(parts: Sequence[Sequence[float]]) -> list[float]:
    return [stats.fmean(col) for col in zip(*parts)]


def add_to_report(report: dict[str, Any], k: int) -> bool:
    """Put ``spread`` (K run scores, mean, sd, worst, best) in datasets, dimensions and overall.

    False, changing nothing, when K < 2 or no dataset has items with K scored samples.
    """
    if k < 2:
        return False
    by_ds: dict[str, list[Mapping[str, Any]]] = {}
    for r in views(report.get("items", ())):
        if r.dataset is not None and r.score is not None:
            by_ds.setdefault(r.dataset, []).append(r.raw)
    runs: dict[str, list[float]] = {}
    for name, rows in by_ds.items():
        body = report["datasets"].get(name)
        if body is None:
            continue
        scores = _run_scores(rows, str(body.get("metric")), k)
        if scores is not None:
            runs[name] = scores
            body["spread"] = _block(scores)
    if not runs:
        return False
    dim_runs: dict[str, list[float]] = {}
    for dim in DIMENSIONS:
        parts = [s for name, s in runs.items() if report["datasets"][name].get("dimension") == dim.value]
        if parts and dim.value in report["dimensions"]:
            dim_runs[dim.value] = _mean_runs(parts)
            report["dimensions"][dim.value]["spread"] = _block(dim_runs[dim.value])
    if dim_runs:
        report["overall"]["spread"] = _block(_mean_runs(list(dim_runs.values())))
    return True


def summary_line(report: Mapping[str, Any]) -> str | None:
    """One terminal line: per dimension the mean, spread and worst of the K runs."""
    parts = [
        f"{dim} {b['mean']:.3f} ± {b['sd']:.3f} (worst {b['worst']:.3f})"
        for dim, body in report.get("dimensions", {}).items()
        if isinstance(b := body.get("spread"), Mapping)
    ]
    k = (report.get("overall", {}).get("spread") or {}).get("k")
    return f"mlb samples (K={k} runs: mean ± sd, worst): " + "; ".join(parts) if parts else None
