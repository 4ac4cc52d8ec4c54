"""From item results to dataset, dimension and overall scores with 95% intervals.

- Dataset score: ``accuracy`` / ``judge`` = weighted mean item score; ``micro_f1`` = F1 of the
  TP/FP/FN summed over the dataset's items; ``rubric`` = weighted mean item score clipped to
  [0, 1] (item scores may be negative or, never here, above 1; HealthBench's clipped mean), with a
  sub-score per tag: the clipped mean of the items' scores on that tag's criteria, over the items
  that have it (``tags``).
- Dimension score: unweighted mean of its scored datasets (each dataset counts once, however
  many items it has, as in MLB). Overall: unweighted mean of the scored dimensions.
- Intervals: Wilson for datasets of 0/1 scores with unit weights; otherwise a seeded percentile
  bootstrap over items. Dimension and overall intervals come from a stratified bootstrap: each
  dataset is resampled within itself and the replicates are averaged like the point estimates.
Errored items and items awaiting a judge carry no score and are counted, never averaged in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .catalog import DIMENSIONS
from .item_view import ItemView, views
from .statistics import (
    bootstrap_replicates,
    micro_f1,
    micro_f1_stat,
    percentile_interval,
    rng_for,
    weighted_mean_stat,
    wilson_interval,
)

CI_METHOD = {
    "dataset": "Wilson score interval for 0/1 accuracy with unit weights; otherwise percentile bootstrap over items (1000 resamples, seeded)",
    "dimension": "stratified percentile bootstrap: datasets resampled within themselves, replicates averaged (1000 resamples, seeded)",
}


@dataclass
class DatasetScore:
    name: str
    dimension: str
    metric: str
    score: float | None
    ci: tuple[float, float] | None
    n: int  # items with a score
    n_items: int
    errors: int
    needs_judge: int
    status: str  # scored | needs_judge | errors_only
    mirrors: str | None = None
    replicates: np.ndarray | None = field(default=None, repr=False)
    unclipped: float | None = None  # rubric: the mean item score before clipping
    tags: dict[str, dict[str, Any]] | None = None  # rubric: tag -> {score, n}

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "dimension": self.dimension,
            "metric": self.metric,
            "score": self.score,
            "ci": list(self.ci) if self.ci else None,
            "n": self.n,
            "n_items": self.n_items,
            "errors": self.errors,
            "needs_judge": self.needs_judge,
            "status": self.status,
            "mirrors": self.mirrors,
        }
        if self.metric == "rubric":
            out.update(score_unclipped=self.unclipped, tags=self.tags or {})
        return out


def rubric_tags(rows: list[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per tag: the clipped weighted mean of the item scores on that tag, over the items having it."""
    acc: dict[str, list[tuple[float, float]]] = {}
    for r in views(rows):
        for tag, value in r.rubric_tags.items():
            acc.setdefault(str(tag), []).append((float(value), r.weight))
    out = {}
    for tag, pairs in sorted(acc.items()):
        mean = sum(v * w for v, w in pairs) / sum(w for _, w in pairs)
        out[tag] = {"score": float(np.clip(mean, 0.0, 1.0)), "n": len(pairs)}
    return out


@dataclass
class GroupScore:
    score: float | None
    ci: tuple[float, float] | None
    n: int
    parts: list[str]
    missing: list[str]
    replicates: np.ndarray | None = field(default=None, repr=False)

    def to_json(self, parts_name: str) -> dict[str, Any]:
        return {
            "score": self.score,
            "ci": list(self.ci) if self.ci else None,
            "n": self.n,
            parts_name: self.parts,
            "missing": self.missing,
        }


@dataclass
class Aggregate:
    datasets: dict[str, DatasetScore]
    dimensions: dict[str, GroupScore]
    overall: GroupScore

    def to_json(self) -> dict[str, Any]:
        overall = self.overall.to_json("dimensions")
        overall["partial"] = bool(self.overall.missing) or any(d.status != "scored" for d in self.datasets.values())
        return {
            "datasets": {k: v.to_json() for k, v in sorted(self.datasets.items())},
            "dimensions": {k: v.to_json("datasets") for k, v in self.dimensions.items()},
            "overall": overall,
            "ci_method": CI_METHOD,
        }


def _dataset_score(name: str, raw: list[Mapping[str, Any]]) -> DatasetScore:
    rows = sorted(views(raw), key=lambda r: r.key)
    first = rows[0]
    scored = [r for r in rows if r.score is not None]
    errors = sum(1 for r in rows if r.outcome == "error")
    needs_judge = sum(1 for r in rows if r.outcome == "needs_judge")
    base: dict[str, Any] = dict(
        name=name,
        dimension=str(first.dimension),
        metric=first.metric,
        n=len(scored),
        n_items=len(rows),
        errors=errors,
        needs_judge=needs_judge,
        mirrors=first.mirrors,
    )
    if not scored:
        status = "needs_judge" if needs_judge else "errors_only"
        return DatasetScore(score=None, ci=None, status=status, **base)
    rng = rng_for("dataset", name)
    if first.metric == "micro_f1":
        counts = [np.array(column) for column in zip(*(r.counts() for r in scored))]
        score = micro_f1(*(float(c.sum()) for c in counts))
        reps = bootstrap_replicates(counts, micro_f1_stat, rng)
        ci = percentile_interval(reps)
    else:
        s = np.array([r.score for r in scored], dtype=float)
        w = np.array([r.weight for r in scored])
        score = float((s * w).sum() / w.sum())
        reps = bootstrap_replicates([s, w], weighted_mean_stat, rng)
        binary = bool(np.all((s == 0) | (s == 1))) and bool(np.all(w == 1))
        ci = wilson_interval(float(s.sum()), len(s)) if binary else percentile_interval(reps)
        if first.metric == "rubric":  # HealthBench: the mean is clipped, the items are not
            reps = np.clip(reps, 0.0, 1.0)
            ci = None if ci is None else (float(np.clip(ci[0], 0.0, 1.0)), float(np.clip(ci[1], 0.0, 1.0)))
            return DatasetScore(
                score=float(np.clip(score, 0.0, 1.0)),
                ci=ci,
                status="scored",
                replicates=reps,
                unclipped=score,
                tags=rubric_tags([r.raw for r in scored]),
                **base,
            )
    return DatasetScore(score=score, ci=ci, status="scored", replicates=reps, **base)


def _group(parts: dict[str, Any], expected: Iterable[str]) -> GroupScore:
    scored = {k: v for k, v in parts.items() if v.score is not None}
    missing = sorted(set(expected) - set(scored))
    if not scored:
        return GroupScore(None, None, 0, [], missing)
    names = sorted(scored)
    score = float(np.mean([scored[k].score for k in names]))
    reps = np.mean(np.vstack([scored[k].replicates for k in names]), axis=0)
    return GroupScore(score, percentile_interval(reps), sum(scored[k].n for k in names), names, missing, reps)


def aggregate(results: Iterable[Mapping[str, Any]]) -> Aggregate:
    """Aggregate item results (the dicts each test sends to the controller)."""
    by_ds: dict[str, list[Mapping[str, Any]]] = {}
    for r in results:
        by_ds.setdefault(str(ItemView(r).dataset), []).append(r)
    datasets = {name: _dataset_score(name, rows) for name, rows in by_ds.items()}
    dims: dict[str, GroupScore] = {}
    for dim in DIMENSIONS:
        members = {k: v for k, v in datasets.items() if v.dimension == dim.value}
        if members:
            dims[dim.value] = _group(members, members.keys())
    overall = _group(dims, [d.value for d in DIMENSIONS])
    return Aggregate(datasets, dims, overall)
