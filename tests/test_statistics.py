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
    return [
        {
            "key": f"{dataset}/{i:04d}",
            "dataset": dataset,
            "dimension": dimension,
            "metric": metric,
            "score": s,
            "weight": 1.0,
            "outcome": "pass" if s == 1 else "wrong",
            "details": {},
        }
        for i, s in enumerate(scores)
    ]


@settings(max_examples=40, deadline=None)
@given(
    a=st.lists(st.sampled_from([0.0, 1.0]), min_size=1, max_size=80),
    b=st.lists(st.floats(0, 1), min_size=1, max_size=80),
    seed=st.integers(0, 1000),
)
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
        rows.append(
            {
                "key": f"E/{i}",
                "dataset": "E",
                "dimension": "MedRU",
                "metric": "micro_f1",
                "score": 0.5,
                "weight": 1.0,
                "outcome": "wrong",
                "details": {"tp": tp, "fp": fp, "fn": fn},
            }
        )
    ds = aggregate(rows).datasets["E"]
    assert np.isclose(ds.score, 2 * 4 / (2 * 4 + 2 + 5))
    assert ds.ci[0] <= ds.score <= ds.ci[1]


def test_errors_and_judge_items_are_counted_never_averaged() -> None:
    rows = _rows("D", "MedSE", [1.0, 1.0])
    rows.append(
        {
            "key": "D/x",
            "dataset": "D",
            "dimension": "MedSE",
            "metric": "accuracy",
            "score": None,
            "outcome": "error",
            "details": {},
        }
    )
    ds = aggregate(rows).datasets["D"]
    assert (ds.score, ds.n, ds.n_items, ds.errors) == (1.0, 2, 3, 1)


# --- one home per formula (issue 16): the merged functions agree with their definitions ------------

from mlb_pytest import scoring  # noqa: E402
from mlb_pytest.comparison import Paired, _score, compare, compare_strata  # noqa: E402
from mlb_pytest.scoring.base import PASS_TOLERANCE, pass_of  # noqa: E402
from mlb_pytest.statistics import micro_f1_of_items, micro_f1_stat  # noqa: E402

UNITS = st.frozensets(st.integers(0, 12), max_size=10)


@given(st.lists(st.tuples(UNITS, UNITS), min_size=1, max_size=12))
def test_micro_f1_from_counts_is_f1_on_the_sets(pairs: list[tuple[frozenset[int], frozenset[int]]]) -> None:
    """Counts from (gold, predicted) sets give 2|G∩P| / (|G| + |P|), per item and summed over items
    (items' units kept apart by tagging them with the item number)."""
    counts = [(len(g & p), len(p - g), len(g - p)) for g, p in pairs]
    for (g, p), c in zip(pairs, counts):
        assert micro_f1(*c) == (2 * len(g & p) / (len(g) + len(p)) if g or p else 1.0)
    gold = {(i, u) for i, (g, _) in enumerate(pairs) for u in g}
    pred = {(i, u) for i, (_, p) in enumerate(pairs) for u in p}
    want = 2 * len(gold & pred) / (len(gold) + len(pred)) if gold or pred else 1.0
    assert micro_f1_of_items(counts) == want
    assert micro_f1_stat([np.array([c[k] for c in counts], dtype=float) for k in range(3)]) == want
    assert _score("micro_f1", np.array(counts, dtype=float), np.ones(len(counts))) == want


def test_the_scorers_f1_is_the_statistics_f1() -> None:
    assert scoring.f1_from_counts is micro_f1
    assert scoring.micro_f1 is micro_f1_of_items


@given(
    st.integers(1, 20).flatmap(
        lambda n: st.lists(
            st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9), st.integers(0, 9)), min_size=n, max_size=n),
            min_size=1,
            max_size=5,
        )
    )
)
def test_micro_f1_stat_is_micro_f1_row_by_row(rows: list[list[tuple[int, int, int]]]) -> None:
    """The array form (bootstrap replicates) gives, row by row, the scalar formula on summed counts."""
    m = np.array(rows, dtype=float)  # [resamples, items, tp/fp/fn]
    got = micro_f1_stat([m[..., k] for k in range(3)])
    for r, row in enumerate(rows):
        assert got[r] == micro_f1(*(float(sum(c[k] for c in row)) for k in range(3)))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 3000), data=st.data())
def test_wilson_agrees_with_scipy(n: int, data: st.DataObject) -> None:
    """Ours and scipy's Wilson interval are the same interval up to float rounding (see wilson_interval)."""
    from scipy.stats import binomtest

    k = data.draw(st.integers(0, n))
    ci = binomtest(k, n).proportion_ci(method="wilson")
    lo, hi = wilson_interval(float(k), n)
    assert abs(lo - ci.low) <= 1e-12 and abs(hi - ci.high) <= 1e-12


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(st.floats(0, 1), min_size=1, max_size=25), min_size=1, max_size=4), st.integers(0, 99))
def test_one_stratum_is_the_flat_comparison(datasets: list[list[float]], seed: int) -> None:
    """``compare`` and ``compare_strata`` are one test: with one stratum and graded scores they agree exactly."""
    rng = np.random.default_rng(seed)
    groups = {
        f"D{i}": Paired(
            "accuracy", np.array(b), np.clip(np.array(b) + rng.normal(0, 0.2, len(b)), 0, 1), np.ones(len(b))
        )
        for i, b in enumerate(datasets)
    }
    if all(np.all(np.isin(p.b, (0.0, 1.0))) and np.all(np.isin(p.c, (0.0, 1.0))) for p in groups.values()):
        return  # 0/1 scores take McNemar in the flat comparison
    flat, strata = compare(groups, "x", resamples=300), compare_strata({"only": groups}, "x", resamples=300)
    assert (flat.n_shared, flat.baseline, flat.current, flat.p_value, flat.ci) == (
        strata.n_shared,
        strata.baseline,
        strata.current,
        strata.p_value,
        strata.ci,
    )


@given(st.floats(0, 1), st.floats(0, 1))
def test_pass_rule_is_reaching_the_threshold_up_to_float_noise(score: float, threshold: float) -> None:
    assert pass_of(score, threshold) == (score >= threshold or threshold - score <= PASS_TOLERANCE)
    assert pass_of(None, threshold) is False
    assert pass_of(threshold, threshold) and pass_of(threshold - PASS_TOLERANCE / 2, threshold)
