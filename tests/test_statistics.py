"""Intervals and aggregation: properties that must hold for any results."""

from __future__ import annotations

import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mlb_pytest.aggregation import aggregate
from mlb_pytest.statistics import micro_f1, wilson_interval


@given(n=st.integers(1, 5000), data=st.data())
def test_wilson_is_a_proper_interval_around_the_estimate(n: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(0, n))
    lo, hi = wilson_interval(k, n)
    assert 0.0 <= lo <= k / n <= hi <= 1.0
    if 0 < k < n:
        assert lo < k / n < hi


@given(k=st.integers(0, 50), n=st.integers(51, 100))
def test_wilson_narrows_with_more_data(k: int, n: int) -> None:
    lo1, hi1 = wilson_interval(k, n)
    lo4, hi4 = wilson_interval(4 * k, 4 * n)
    assert hi4 - lo4 < hi1 - lo1


@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9), st.integers(0, 9)), min_size=1, max_size=40))
def test_micro_f1_is_bounded_and_perfect_only_without_errors(counts: list[tuple[int, int, int]]) -> None:
    tp, fp, fn = (sum(c[i] for c in counts) for i in range(3))
    f = micro_f1(tp, fp, fn)
    assert 0.0 <= f <= 1.0
    assert (f == 1.0) == (fp == 0 and fn == 0)


def _rows(dataset: str, dimension: str, scores: list[float], metric: str = "accuracy") -> list[dict]:
    return [{"key": f"{dataset}/{i:04d}", "dataset": dataset, "dimension": dimension, "metric": metric,
             "score": s, "weight": 1.0, "outcome": "pass" if s == 1 else "wrong", "details": {}}
            for i, s in enumerate(scores)]


@settings(max_examples=40, deadline=None)
@given(a=st.lists(st.sampled_from([0.0, 1.0]), min_size=1, max_size=80),
       b=st.lists(st.floats(0, 1), min_size=1, max_size=80), seed=st.integers(0, 1000))
def test_aggregates_do_not_depend_on_result_order(a: list[float], b: list[float], seed: int) -> None:
    rows = _rows("D1", "MedKQA", a) + _rows("D2", "MedKQA", b) + _rows("D3", "MedSE", a[::-1])
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    x, y = aggregate(rows).to_json(), aggregate(shuffled).to_json()
    assert x == y
    d = x["dimensions"]["MedKQA"]
    assert np.isclose(d["score"], (np.mean(a) + np.mean(b)) / 2)
    assert d["ci"][0] <= d["score"] + 1e-9 and d["score"] - 1e-9 <= d["ci"][1]
    assert np.isclose(x["overall"]["score"], (d["score"] + np.mean(a[::-1])) / 2)


def test_dimension_is_mean_of_datasets_not_of_items() -> None:
    rows = _rows("Big", "MedRU", [1.0] * 90) + _rows("Small", "MedRU", [0.0] * 10)
    agg = aggregate(rows)
    assert agg.dimensions["MedRU"].score == 0.5


def test_micro_f1_dataset_sums_counts_over_items() -> None:
    rows = []
    for i, (tp, fp, fn) in enumerate([(3, 0, 0), (0, 1, 4), (1, 1, 1)]):
        rows.append({"key": f"E/{i}", "dataset": "E", "dimension": "MedRU", "metric": "micro_f1", "score": 0.5,
                     "weight": 1.0, "outcome": "wrong", "details": {"tp": tp, "fp": fp, "fn": fn}})
    ds = aggregate(rows).datasets["E"]
    assert np.isclose(ds.score, 2 * 4 / (2 * 4 + 2 + 5))
    assert ds.ci[0] <= ds.score <= ds.ci[1]


def test_errors_and_judge_items_are_counted_never_averaged() -> None:
    rows = _rows("D", "MedSE", [1.0, 1.0])
    rows.append({"key": "D/x", "dataset": "D", "dimension": "MedSE", "metric": "accuracy", "score": None,
                 "outcome": "error", "details": {}})
    ds = aggregate(rows).datasets["D"]
    assert (ds.score, ds.n, ds.n_items, ds.errors) == (1.0, 2, 3, 1)
