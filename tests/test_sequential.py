"""The sequential drop gate (anytime-valid e-processes), the power function and the `inconclusive` gate."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom

from mlb_pytest.gates import Policy, evaluate, parse_rule
from mlb_pytest.sequential import (
    NO_REGRESSION,
    REGRESSION,
    UNDECIDED,
    SequentialDesign,
    SequentialDropTest,
    confidence_bounds,
    e_value_regression,
    min_detectable_drop,
    run_sequential,
    seeded_order,
    sequential_paths,
    underpowered,
)

diffs = st.lists(st.floats(-1, 1, allow_nan=False), min_size=1, max_size=60)


# --- the confidence sequence ----------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(d=diffs, alpha=st.sampled_from([0.01, 0.05, 0.2]))
def test_bounds_contain_the_sample_mean_and_stay_in_range(d: list[float], alpha: float) -> None:
    b = confidence_bounds(d, alpha)
    assert -1.0 <= b.lower <= b.mean <= b.upper <= 1.0
    assert b.mean == pytest.approx(float(np.mean(d)))


@settings(max_examples=40, deadline=None)
@given(d=diffs, k=st.integers(2, 4))
def test_bounds_shrink_as_the_same_evidence_repeats(d: list[float], k: int) -> None:
    once, more = confidence_bounds(d), confidence_bounds(d * k)
    assert more.lower >= once.lower - 1e-8
    assert more.upper <= once.upper + 1e-8


def test_bounds_shrink_towards_the_mean_with_n() -> None:
    rng = np.random.default_rng(0)
    d = rng.choice([-1.0, 0.0, 1.0], p=[0.05, 0.87, 0.08], size=3000)
    widths = [confidence_bounds(d[:n]).upper - confidence_bounds(d[:n]).lower for n in (50, 200, 800, 3000)]
    assert widths == sorted(widths, reverse=True) and widths[-1] < 0.1


def test_online_bounds_only_narrow() -> None:
    rng = np.random.default_rng(1)
    t = SequentialDropTest(SequentialDesign(min_items=10**9))  # never stops: follow the bounds
    lows, highs = [], []
    lo, hi = -1.0, 1.0
    for _ in range(150):
        t.update(float(rng.random() < 0.8), float(rng.random() < 0.75))
        b = t.bounds()
        lo, hi = max(lo, b.lower), min(hi, b.upper)  # running intersection: still anytime-valid
        lows.append(lo)
        highs.append(hi)
    assert lows == sorted(lows) and highs == sorted(highs, reverse=True)


def test_e_process_keeps_false_alarms_below_alpha_under_no_change() -> None:
    """Ville: P(the wealth ever reaches 1/alpha) <= alpha when the mean drop is 0; checked on every prefix."""
    rng = np.random.default_rng(2)
    d = rng.choice([-1.0, 0.0, 1.0], p=[0.1, 0.8, 0.1], size=(1000, 800))
    stop, decision = sequential_paths(d, SequentialDesign(min_items=1, fallback_share=0.0))
    assert (decision == 1).mean() <= 0.05


# --- decisions on constructed runs ---------------------------------------------------------------


def _keys(n: int) -> list[str]:
    return [f"D/{i:05d}" for i in range(n)]


def test_an_obvious_regression_stops_early() -> None:
    n = 1000
    base = np.ones(n)
    cand = np.array([0.0 if i % 10 < 3 else 1.0 for i in range(n)])  # 30 points lost
    r = run_sequential(base, cand, keys=_keys(n))
    assert r.decision == REGRESSION and r.rule == "sequential"
    assert r.n_used < 0.1 * n
    assert r.bounds is not None and r.bounds.lower > 0  # the lower bound of the drop cleared the allowed 0
    assert r.e_regression >= 1 / SequentialDesign().alpha_sequential


def test_a_no_change_run_stops_on_futility() -> None:
    n = 2000
    base = np.array([1.0 if i % 4 else 0.0 for i in range(n)])
    cand = base.copy()
    cand[::20] = 1.0  # 2.5% of items go wrong -> right ...
    cand[1::20] = 0.0  # ... and 2.5% right -> wrong
    assert abs(base.mean() - cand.mean()) < 0.01
    r = run_sequential(base, cand, keys=_keys(n))
    assert r.decision == NO_REGRESSION and r.rule == "futility"
    assert r.n_used < 0.6 * n
    assert r.bounds is not None and r.bounds.upper < SequentialDesign().futility_bound


def test_a_borderline_run_uses_every_item() -> None:
    n = 300
    base = np.ones(n)
    base[:60] = 0.0
    cand = base.copy()
    cand[:27] = 1.0  # 27 wrong -> right
    cand[60:95] = 0.0  # 35 right -> wrong: a 2.7-point drop, inside the indifference zone
    r = run_sequential(base, cand, keys=_keys(n))
    assert r.n_used == n and r.rule == "fixed-size fallback"
    assert r.decision == NO_REGRESSION and r.p_fixed is not None and r.p_fixed > SequentialDesign().alpha_fallback


def test_the_online_test_agrees_with_the_batch_one() -> None:
    rng = np.random.default_rng(3)
    for drop in (0.0, 0.05, 0.15):
        p = rng.beta(0.375, 0.125, 800)
        base = (rng.random(800) < p).astype(float)
        cand = (rng.random(800) < p * (1 - drop / 0.75)).astype(float)
        keys = _keys(800)
        batch = run_sequential(base, cand, keys=keys, seed="s")
        online = SequentialDropTest()
        for i in seeded_order(keys, "s"):
            if online.update(base[i], cand[i]) != UNDECIDED:
                break
        online.finish()
        assert (online.decision, online.rule, online.n) == (batch.decision, batch.rule, batch.n_used)


def test_order_is_seeded_and_independent_of_input_order() -> None:
    keys = _keys(50)
    order = seeded_order(keys, 7)
    assert sorted(order) == list(range(50)) and order != list(range(50))
    assert seeded_order(keys, 7) == order and seeded_order(keys, 8) != order
    rev = keys[::-1]
    assert [rev[i] for i in seeded_order(rev, 7)] == [keys[i] for i in order]


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        run_sequential([1.2], [0.0])
    with pytest.raises(ValueError, match="margin"):
        SequentialDesign(margin=0)
    with pytest.raises(ValueError, match="alpha"):
        SequentialDesign(alpha=1.5)
    assert e_value_regression([], 0.0) == 1.0


# --- power before the run -------------------------------------------------------------------------


@given(
    n=st.integers(1, 20000),
    extra=st.integers(1, 5000),
    psi=st.one_of(st.none(), st.floats(0.0, 1.0)),
    alpha=st.sampled_from([0.01, 0.05, 0.1]),
)
def test_min_detectable_drop_falls_with_n(n: int, extra: int, psi: float | None, alpha: float) -> None:
    small, large = (
        min_detectable_drop(n, alpha, discordance=psi),
        min_detectable_drop(n + extra, alpha, discordance=psi),
    )
    assert large <= small + 1e-12
    assert large >= 0 and (math.isinf(large) or large <= (0.25 if psi is None else psi) + 1e-12)


@given(n=st.integers(2, 5000), sd=st.floats(0.0, 1.0))
def test_graded_min_detectable_drop_falls_with_n(n: int, sd: float) -> None:
    assert min_detectable_drop(n + 1, sd=sd) <= min_detectable_drop(n, sd=sd) + 1e-15


def test_min_detectable_drop_has_the_stated_power() -> None:
    """At the computed drop, the exact McNemar test at alpha detects about 80% of simulated runs."""
    rng = np.random.default_rng(4)
    for n, psi in ((500, 0.12), (2000, 0.2)):
        delta = min_detectable_drop(n, 0.05, discordance=psi)
        m = rng.binomial(n, psi, 20000)
        r2w = rng.binomial(m, (1 + delta / psi) / 2)
        p = np.where(m > 0, binom.sf(r2w - 1, np.maximum(m, 1), 0.5), 1.0)
        assert 0.75 <= float((p < 0.05).mean()) <= 0.85


def test_underpowered_rule() -> None:
    assert underpowered(60, 0.02, discordance=0.2)[0]
    assert not underpowered(5000, 0.02, discordance=0.05)[0]
    assert not underpowered(60, 0.0)[0]  # "any significant drop" names no size to detect
    assert min_detectable_drop(40, discordance=0.0) == 0.0


# --- the `inconclusive` drop gate -------------------------------------------------------------------


def _report(scores: list[float]) -> dict:
    items = [
        {
            "key": f"D/{i}",
            "dataset": "D",
            "dimension": "MedKQA",
            "metric": "accuracy",
            "score": s,
            "weight": 1.0,
            "content_hash": str(i),
            "details": {},
            "outcome": "pass" if s else "wrong",
        }
        for i, s in enumerate(scores)
    ]
    mean = float(np.mean(scores))
    return {
        "items": items,
        "dimensions": {"MedKQA": {"score": mean}},
        "datasets": {"D": {"score": mean}},
        "overall": {"score": mean},
    }


def _gate(base: list[float], cur: list[float]):
    policy = Policy([parse_rule("MedKQA:drop<=0.02")])
    baseline = {r["key"]: r for r in _report(base)["items"]}
    return evaluate(policy, _report(cur), baseline).gates[0]


def test_a_gate_that_cannot_see_its_allowed_drop_is_inconclusive() -> None:
    base = [1.0, 0.0] * 40  # 80 items, 20 flip both ways: no drop, but 25% discordance
    cur = list(base)
    for i in range(0, 40, 4):
        cur[i], cur[i + 1] = 0.0, 1.0
    g = _gate(base, cur)
    assert g.status == "inconclusive" and g.passed
    assert g.min_detectable is not None and g.min_detectable > 0.02 and "inconclusive" in g.reason


def test_identical_and_well_powered_gates_still_pass() -> None:
    base = [1.0] * 60 + [0.0] * 20
    g = _gate(base, list(base))
    assert g.status == "pass" and g.min_detectable == 0.0
    big = [1.0] * 1500 + [0.0] * 500
    cur = list(big)
    for i in range(0, 40, 2):
        cur[i], cur[1500 + i] = 0.0, 1.0  # 2% discordance on 2000 items, no drop
    g = _gate(big, cur)
    assert g.status == "pass" and g.min_detectable is not None and g.min_detectable < 0.02


def test_a_regression_is_still_a_failure_whatever_the_power() -> None:
    base = [1.0] * 60
    cur = [0.0] * 20 + [1.0] * 40
    g = _gate(base, cur)
    assert g.status == "fail" and not g.passed
