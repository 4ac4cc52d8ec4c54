"""Gate rules, paired statistics and their properties."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mlb_pytest.comparison import align, compare
from mlb_pytest.gates import DEFAULT_RULES, GateError, load_policy, parse_rule
from mlb_pytest.statistics import holm_adjust, mcnemar_drop_p


@pytest.mark.parametrize(
    "text,target,kind,value",
    [
        ("MedSE>=0.90", "MedSE", "floor", 0.9),
        ("overall>=0.7", "overall", "floor", 0.7),
        ("MedRU:drop<=0.02", "MedRU", "drop", 0.02),
        ("*:drop<=0.02", "*", "drop", 0.02),
        ("CHIP-CDN>=0.5", "CHIP-CDN", "floor", 0.5),
        (" CMExam:drop <= 0.05 ", "CMExam", "drop", 0.05),
    ],
)
def test_rules_parse(text: str, target: str, kind: str, value: float) -> None:
    r = parse_rule(text)
    assert (r.target, r.kind, r.threshold) == (target, kind, value)


@pytest.mark.parametrize("text", ["MedSE>0.9", "MedSE<=0.9", "MedRU:drop>=0.02", "MedSE>=1.5", "MedSE", ">=0.9"])
def test_bad_rules_are_refused(text: str) -> None:
    with pytest.raises(GateError, match="bad gate"):
        parse_rule(text)


def test_policy_sources_and_defaults(tmp_path) -> None:
    assert [r.text for r in load_policy(None, None, []).rules] == list(DEFAULT_RULES)
    f = tmp_path / "policy.toml"
    f.write_text('[gates]\nrules = ["MedSE>=0.95"]\nalpha = 0.01\n')
    p = load_policy({"rules": ["overall>=0.6"], "min_shared": 10}, f, ["MedKQA:drop<=0.05"])
    assert [r.text for r in p.rules] == ["MedSE>=0.95", "overall>=0.6", "MedKQA:drop<=0.05"]
    assert (p.alpha, p.min_shared) == (0.01, 10)
    with pytest.raises(GateError, match=r"\[tool.mlb.gates\]: unknown key"):
        load_policy({"rule": []}, None, [])


@given(b=st.integers(0, 60), c=st.integers(0, 60))
def test_mcnemar_p_is_a_probability_and_monotone(b: int, c: int) -> None:
    p = mcnemar_drop_p(b, c)
    assert 0.0 <= p <= 1.0
    assert mcnemar_drop_p(b + 1, c) <= p + 1e-12  # more right->wrong: stronger evidence of a drop
    assert mcnemar_drop_p(b, c + 1) >= p - 1e-12


@given(n=st.integers(1, 60))
def test_mcnemar_symmetry(n: int) -> None:
    # b and c swapped: the one-sided p-values of "dropped" and "rose" add to 1 + P(X = b)
    from scipy.stats import binom

    for b in range(n + 1):
        c = n - b
        assert mcnemar_drop_p(b, c) + mcnemar_drop_p(c, b) == pytest.approx(1 + binom.pmf(b, n, 0.5))


@given(st.lists(st.floats(0, 1), min_size=1, max_size=12))
def test_holm_keeps_order_and_only_raises(ps: list[float]) -> None:
    adj = holm_adjust(ps)
    assert all(a >= p - 1e-12 and a <= 1 for a, p in zip(adj, ps))
    order = sorted(range(len(ps)), key=lambda i: ps[i])
    assert all(adj[order[i]] <= adj[order[i + 1]] + 1e-12 for i in range(len(ps) - 1))


def _items(scores: list[float], metric: str = "accuracy", dataset: str = "D") -> list[dict]:
    return [
        {
            "key": f"{dataset}/{i}",
            "dataset": dataset,
            "dimension": "MedKQA",
            "metric": metric,
            "score": s,
            "weight": 1.0,
            "content_hash": str(i),
            "details": {},
        }
        for i, s in enumerate(scores)
    ]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from([0.0, 1.0]), min_size=5, max_size=120))
def test_identical_runs_never_regress(scores: list[float]) -> None:
    rows = _items(scores)
    base = {r["key"]: r for r in rows}
    d = compare(align(base, rows), "x")
    assert d.drop == 0 and d.p_value == 1.0


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=5, max_size=80), st.integers(0, 10**6))
def test_graded_identical_runs_never_regress(scores: list[float], seed: int) -> None:
    assume(len(set(scores)) > 2)
    rows = _items(scores)
    d = compare(align({r["key"]: r for r in rows}, rows), f"g{seed}")
    assert d.drop == 0 and d.p_value > 0.4


@settings(max_examples=20, deadline=None)
@given(n=st.integers(40, 200), k=st.integers(1, 15), seed=st.integers(0, 1000))
def test_bigger_drops_are_more_significant(n: int, k: int, seed: int) -> None:
    rng = random.Random(seed)
    base_scores = [1.0 if rng.random() < 0.8 else 0.0 for _ in range(n)]
    right = [i for i, s in enumerate(base_scores) if s == 1.0]
    assume(len(right) >= 2 * k)
    base = {r["key"]: r for r in _items(base_scores)}
    small, large = list(base_scores), list(base_scores)
    for i in right[:k]:
        small[i] = 0.0
    for i in right[: 2 * k]:
        large[i] = 0.0
    d_small, d_large = compare(align(base, _items(small)), "s"), compare(align(base, _items(large)), "l")
    assert d_large.drop > d_small.drop > 0
    assert d_large.p_value <= d_small.p_value


def test_edited_items_are_not_compared() -> None:
    base = {r["key"]: r for r in _items([1.0, 1.0, 1.0])}
    cur = _items([0.0, 0.0, 0.0])
    cur[0]["content_hash"] = "edited"
    assert compare(align(base, cur), "e").n_shared == 2


def test_micro_f1_drop_uses_bootstrap() -> None:
    def rows(tp: int, fp: int) -> list[dict]:
        return [
            {
                "key": f"E/{i}",
                "dataset": "E",
                "dimension": "MedRU",
                "metric": "micro_f1",
                "score": 0.5,
                "weight": 1.0,
                "content_hash": str(i),
                "details": {"tp": tp, "fp": fp, "fn": 1},
            }
            for i in range(60)
        ]

    base = {r["key"]: r for r in rows(4, 0)}
    d = compare(align(base, rows(2, 3)), "f")
    assert d.drop > 0.2 and d.p_value < 0.01 and "randomisation" in d.test


def test_the_committed_policy_file_states_the_defaults() -> None:
    """baselines/policy.toml documents the default gates: it must say what the plugin does without it."""
    root = Path(__file__).resolve().parents[1]
    policy = load_policy(None, root / "baselines" / "policy.toml", [])
    assert [r.text for r in policy.rules] == list(DEFAULT_RULES)
    assert policy.alpha == 0.05 and policy.min_shared == 30
