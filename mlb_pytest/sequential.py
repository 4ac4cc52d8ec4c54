"""Anytime-valid sequential drop gate, and the power of the fixed-size gate before a run.

Why sequential: a drop gate (``NAME:drop<=MAX``) compares the baseline with the candidate on the
items both runs share. When the candidate is clearly broken (or clearly unchanged) the first few
hundred items already say so; a fixed-size test must still wait for all of them. Peeking at a
fixed-size test as results arrive and stopping at the first small p-value inflates false alarms
(optional stopping), so the sequential gate uses e-processes instead: nonnegative
supermartingales under the null, for which Ville's inequality gives
``P(sup_t K_t >= 1/alpha) <= alpha``. The guarantee holds at every item, so the gate may stop at any
time, for any reason, and still keep its error rate.

The e-process (Waudby-Smith & Ramdas, "Estimating means of bounded random variables by betting",
JRSS-B 2024): the paired difference ``d = baseline - candidate`` lies in [-1, 1]. To test
"mean drop <= m" we bet on ``d > m`` with the wealth ``prod_i (1 + lam (d_i - m))``; any constant
``0 <= lam < 1/(1+m)`` keeps every factor positive and the product a supermartingale when the mean
of ``d`` is at most m. Not knowing the best ``lam`` in advance (it is about drop / variance), we hold
an equal-weight mixture over a fixed grid of bets ("diversified Kelly"): the average of
supermartingales is one, the grid costs ``log(len(grid))`` in the threshold, and the best grid
point grows the wealth almost as fast as the Kelly bet for the actual effect and variance, so paired
runs where most items agree (small variance of d) stop much earlier than a Hoeffding bound would.
Constant bets (not adaptive ones) make the wealth depend only on the multiset of differences seen,
which gives two useful facts the tests check: the sample mean is always inside the confidence
sequence, and repeating the data can only narrow it.

Decisions, with ``allowed`` the gate's allowed drop and ``margin`` an indifference margin:

- ``regression`` once the wealth against H0 "drop <= allowed" reaches ``1/alpha_seq`` (equivalently:
  the lower confidence bound of the mean drop exceeds ``allowed``);
- ``no regression`` (futility) once the wealth against H0' "drop >= allowed + margin" reaches
  ``1/alpha_seq`` (the upper bound falls below ``allowed + margin``). With ``allowed = 0`` a no-change
  run can never show "drop < 0", so futility needs a margin: it is the smallest drop the sequential
  gate is built to catch (default 0.05, five points). Drops between ``allowed`` and
  ``allowed + margin`` are the indifference zone: they may stop as "no regression" (at most
  ``alpha_seq`` of the time at exactly ``allowed + margin``), which is the price of stopping early.
- otherwise ``undecided``: keep going. When the items run out undecided, the fixed-size gate
  decides on all of them (exact McNemar for 0/1 scores, the paired randomisation test otherwise,
  the same tests as :mod:`mlb_pytest.gates`) at ``alpha_fallback``.

Error rates: ``alpha_seq + alpha_fallback = alpha`` (default split 0.035 + 0.015), so by the union bound
the probability of a false "regression" when the true mean drop is at most ``allowed`` stays below
``alpha`` whatever happens. The guarantee is about the mean drop of the process that produced the
items (items exchangeable, answers drawn independently), the same model as McNemar's test; items are
taken in a seeded random order (:func:`seeded_order`) so that suites sorted by dataset or difficulty
do not break it. It tests the plain item mean of d, not the macro average over datasets that the
``overall`` gate uses.

Power before the run: :func:`min_detectable_drop` gives the smallest drop the fixed-size paired test
detects at ``alpha`` with 80% power on n shared items (Connor's 1987 normal approximation to
McNemar's test, or a one-sided z test for graded scores). A drop gate whose shared items cannot
detect its own allowed drop has not shown that the drop is small: :func:`underpowered` says so, and
:mod:`mlb_pytest.gates` reports such a gate ``inconclusive`` instead of ``pass``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .statistics import rng_for

DEFAULT_ALPHA = 0.05
DEFAULT_POWER = 0.8
DEFAULT_MARGIN = 0.05
DEFAULT_FALLBACK_SHARE = 0.3
# Conservative default for the share of shared items on which two runs disagree (one right, one
# wrong) when it has not been observed: above the 5-20% usually seen between versions of one model.
DEFAULT_DISCORDANCE = 0.25
# Bets as a share of the largest safe bet 1/(1+m), spaced by a factor 1.55: the Kelly bet (drop /
# variance of d) for 2-15 point drops at 5-40% discordance lies within half a step of one of them;
# 6 points cost log(6) ~ 1.8 in log-wealth. (8 points from 0.05, 3-5 points and a predictable
# aGRAPA bet were tried in benchmarks/bench_sequential.py's setting: within 1-3% of items of this.)
DEFAULT_GRID = tuple(float(x) for x in np.geomspace(0.1, 0.9, 6))

REGRESSION, NO_REGRESSION, UNDECIDED = "regression", "no regression", "undecided"


# --- order -----------------------------------------------------------------------------------------


def seeded_order(keys: Sequence[str], seed: str | int = 0) -> list[int]:
    """Indices of ``keys`` in a random order fixed by the seed and the keys themselves.

    The validity of the sequential test needs the order not to follow difficulty or dataset; an
    order by hash of (seed, key) is random for that purpose, and the same in every process and
    whatever order the results arrived in (xdist).
    """

    def rank(i: int) -> bytes:
        return hashlib.sha256(f"{seed}\x1f{keys[i]}".encode()).digest()

    return sorted(range(len(keys)), key=rank)


# --- e-processes and the confidence sequence --------------------------------------------------------


def _check_scores(baseline: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    b = np.asarray(baseline, dtype=float)
    c = np.asarray(candidate, dtype=float)
    if b.shape != c.shape:
        raise ValueError(f"baseline and candidate scores differ in shape: {b.shape} vs {c.shape}")
    if b.size and (
        np.nanmin(b) < 0
        or np.nanmax(b) > 1
        or np.nanmin(c) < 0
        or np.nanmax(c) > 1
        or np.isnan(b).any()
        or np.isnan(c).any()
    ):
        raise ValueError("per-item scores must lie in [0, 1] (clip rubric scores first)")
    return b - c


def _log_wealth_drop_above(d: np.ndarray, m: float, grid: Sequence[float]) -> np.ndarray:
    """Cumulative log-wealth per bet, betting that the mean of d exceeds m; shape grid x d.shape.

    Each factor is ``1 + c/(1+m) (d - m) >= 1 - c > 0``: safe for every d in [-1, 1].
    """
    lam = np.asarray(grid, dtype=float) / (1.0 + m)
    steps = np.log1p(lam.reshape((-1,) + (1,) * d.ndim) * (d - m))
    return np.cumsum(steps, axis=-1)


def _log_wealth_drop_below(d: np.ndarray, m: float, grid: Sequence[float]) -> np.ndarray:
    """Cumulative log-wealth per bet, betting that the mean of d is below m (factors ``>= 1 - c``)."""
    lam = np.asarray(grid, dtype=float) / (1.0 - m)
    steps = np.log1p(-lam.reshape((-1,) + (1,) * d.ndim) * (d - m))
    return np.cumsum(steps, axis=-1)


def _mixture(log_wealth: np.ndarray) -> np.ndarray:
    """Log of the equal-weight average over the grid (axis 0) of the wealths."""
    top = log_wealth.max(axis=0)
    return top + np.log(np.exp(log_wealth - top).mean(axis=0))


def e_value_regression(d: Sequence[float] | np.ndarray, allowed: float, grid: Sequence[float] = DEFAULT_GRID) -> float:
    """Mixture wealth against H0 "mean drop <= allowed" after all of ``d`` (1.0 with no data)."""
    arr = np.asarray(d, dtype=float)
    if arr.size == 0:
        return 1.0
    return float(np.exp(_mixture(_log_wealth_drop_above(arr, allowed, grid))[-1]))


def e_value_futility(d: Sequence[float] | np.ndarray, bound: float, grid: Sequence[float] = DEFAULT_GRID) -> float:
    """Mixture wealth against H0' "mean drop >= bound" after all of ``d`` (1.0 with no data)."""
    arr = np.asarray(d, dtype=float)
    if arr.size == 0:
        return 1.0
    return float(np.exp(_mixture(_log_wealth_drop_below(arr, bound, grid))[-1]))


@dataclass(frozen=True)
class Bounds:
    """One-sided (1 - alpha) bounds of the mean drop after ``n`` items (both: 1 - 2 alpha)."""

    lower: float
    upper: float
    mean: float
    n: int


def confidence_bounds(
    d: Sequence[float] | np.ndarray,
    alpha: float = DEFAULT_ALPHA,
    grid: Sequence[float] = DEFAULT_GRID,
    tol: float = 1e-9,
) -> Bounds:
    """Lower and upper confidence-sequence bounds of the mean of d in [-1, 1], at the current n.

    lower = the smallest m not rejected by the "drop > m" mixture (wealth decreases in m, so the
    rejected m form an interval [-1, lower)); upper likewise. At m = sample mean every constant-bet
    wealth is at most ``exp(lam * sum(d - mean)) = 1``, so the sample mean is never rejected: the
    bisections are bracketed by it, and the returned bounds are the conservative ends.
    Anytime-valid: P(some n has mean outside [lower, upper]) <= 2 alpha; for a bound that only ever
    narrows, keep the running max of lower and min of upper (:class:`SequentialDropTest` does).
    """
    arr = np.asarray(d, dtype=float)
    if arr.size == 0:
        return Bounds(-1.0, 1.0, float("nan"), 0)
    mean = float(np.clip(arr.mean(), -1.0, 1.0))
    threshold = math.log(1.0 / alpha)

    def rejected_low(m: float) -> bool:
        return bool(_mixture(_log_wealth_drop_above(arr, m, grid))[-1] >= threshold)

    def rejected_high(m: float) -> bool:
        return bool(_mixture(_log_wealth_drop_below(arr, m, grid))[-1] >= threshold)

    lo, hi = -1.0, mean  # invariant: lo rejected (or -1), hi not rejected
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if mid <= -1.0 or rejected_low(mid):
            lo = mid
        else:
            hi = mid
    lower = lo
    lo, hi = mean, 1.0  # invariant: lo not rejected, hi rejected (or 1)
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if mid >= 1.0 or rejected_high(mid):
            hi = mid
        else:
            lo = mid
    return Bounds(max(-1.0, lower), min(1.0, hi), mean, int(arr.size))


# --- the sequential gate ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SequentialDesign:
    """How the sequential drop gate decides; fixed before the run (choosing it from the data voids the guarantee).

    ``margin``: futility is declared once the drop is shown below ``allowed_drop + margin``.
    ``fallback_share``: the part of ``alpha`` kept for the fixed-size test when the items run out.
    ``min_items``: no decision before this many items (practical, e.g. the gates' ``min_shared``;
    Ville's inequality holds for any stopping rule, so it does not affect validity).
    """

    allowed_drop: float = 0.0
    margin: float = DEFAULT_MARGIN
    alpha: float = DEFAULT_ALPHA
    fallback_share: float = DEFAULT_FALLBACK_SHARE
    min_items: int = 30
    grid: tuple[float, ...] = DEFAULT_GRID

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be between 0 and 1, got {self.alpha}")
        if not 0 <= self.fallback_share < 1:
            raise ValueError(f"fallback_share must be in [0, 1), got {self.fallback_share}")
        if not 0 <= self.allowed_drop < 1:
            raise ValueError(f"allowed_drop must be in [0, 1), got {self.allowed_drop}")
        if self.margin <= 0 or self.allowed_drop + self.margin >= 1:
            raise ValueError(f"margin must be > 0 with allowed_drop + margin < 1, got {self.margin}")
        if not self.grid or not all(0 < g < 1 for g in self.grid):
            raise ValueError("grid bets must lie in (0, 1) as shares of the largest safe bet")

    @property
    def alpha_sequential(self) -> float:
        return self.alpha * (1.0 - self.fallback_share)

    @property
    def alpha_fallback(self) -> float:
        return self.alpha * self.fallback_share

    @property
    def futility_bound(self) -> float:
        return self.allowed_drop + self.margin


@dataclass
class SequentialResult:
    """What the sequential gate decided, on how many of the items, and why."""

    decision: str  # regression | no regression (| undecided only before the items run out)
    n_used: int
    n_total: int
    rule: str  # sequential | futility | fixed-size fallback | none
    drop: float  # mean drop on the items used
    e_regression: float
    e_futility: float
    p_fixed: float | None = None  # the fixed-size test's p-value when it decided
    bounds: Bounds | None = None
    order: list[int] = field(default_factory=list)

    @property
    def share_used(self) -> float:
        return self.n_used / self.n_total if self.n_total else 0.0


def fixed_size_test(
    baseline: np.ndarray, candidate: np.ndarray, allowed: float, alpha: float, name: str = "sequential-fallback"
) -> tuple[bool, float, float]:
    """(regressed, p, drop) by the fixed-size gate's rule: drop > allowed and one-sided p < alpha.

    The same tests as :func:`mlb_pytest.comparison.compare`: exact McNemar for 0/1 scores, the paired
    randomisation test otherwise.
    """
    from .comparison import Paired, compare

    b = np.asarray(baseline, dtype=float)
    c = np.asarray(candidate, dtype=float)
    if b.size == 0:
        return False, 1.0, 0.0
    diff = compare({"d": Paired("accuracy", b, c, np.ones_like(b))}, name)
    assert diff.drop is not None and diff.p_value is not None
    return bool(diff.drop > allowed and diff.p_value < alpha), float(diff.p_value), float(diff.drop)


def _first_crossing(log_mix: np.ndarray, threshold: float, start: int) -> np.ndarray:
    """Per row (last axis = items), the first index >= start where log_mix >= threshold, else -1."""
    hit = log_mix >= threshold
    if start > 0:
        hit[..., :start] = False
    first = np.argmax(hit, axis=-1)
    return np.where(hit.any(axis=-1), first, -1)


def sequential_paths(d: np.ndarray, design: SequentialDesign) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised stopping for many runs: d has shape (runs, items) in processing order.

    Returns (stop, decision): ``stop`` the number of items used (items when undecided), ``decision``
    1 for regression, 0 for no regression (futility), -1 for undecided at the end. A regression and a
    futility crossing on the same item count as a regression (the safe side).
    """
    d = np.atleast_2d(np.asarray(d, dtype=float))
    n = d.shape[-1]
    threshold = math.log(1.0 / design.alpha_sequential)
    start = max(design.min_items, 1) - 1
    reg = _first_crossing(_mixture(_log_wealth_drop_above(d, design.allowed_drop, design.grid)), threshold, start)
    fut = _first_crossing(_mixture(_log_wealth_drop_below(d, design.futility_bound, design.grid)), threshold, start)
    big = n + 1
    reg_t = np.where(reg >= 0, reg, big)
    fut_t = np.where(fut >= 0, fut, big)
    decision = np.where(reg_t <= fut_t, np.where(reg_t < big, 1, -1), 0)
    stop = np.where(decision == -1, n, np.minimum(reg_t, fut_t) + 1)
    return stop, decision


def run_sequential(
    baseline: Sequence[float] | np.ndarray,
    candidate: Sequence[float] | np.ndarray,
    design: SequentialDesign = SequentialDesign(),
    keys: Sequence[str] | None = None,
    seed: str | int = 0,
) -> SequentialResult:
    """The sequential gate on one pair of runs: items in seeded random order, stop at the first decision.

    ``keys`` name the items (their order is then fixed by :func:`seeded_order`); without keys the
    items are shuffled by a generator seeded with ``seed``. Undecided at the end: the fixed-size test
    on all items decides at ``design.alpha_fallback``.
    """
    d_all = _check_scores(np.asarray(baseline, dtype=float), np.asarray(candidate, dtype=float))
    n = int(d_all.size)
    if keys is not None:
        if len(keys) != n:
            raise ValueError(f"{len(keys)} keys for {n} items")
        order = seeded_order(keys, seed)
    else:
        order = [int(i) for i in rng_for("sequential-order", str(seed)).permutation(n)]
    d = d_all[order]
    if n == 0:
        return SequentialResult(UNDECIDED, 0, 0, "none", 0.0, 1.0, 1.0, order=order)
    stop, decision = sequential_paths(d[None, :], design)
    used, dec = int(stop[0]), int(decision[0])
    seen = d[:used]
    e_reg = e_value_regression(seen, design.allowed_drop, design.grid)
    e_fut = e_value_futility(seen, design.futility_bound, design.grid)
    bounds = confidence_bounds(seen, design.alpha_sequential, design.grid, tol=1e-6)
    if dec == 1:
        return SequentialResult(
            REGRESSION, used, n, "sequential", float(seen.mean()), e_reg, e_fut, bounds=bounds, order=order
        )
    if dec == 0:
        return SequentialResult(
            NO_REGRESSION, used, n, "futility", float(seen.mean()), e_reg, e_fut, bounds=bounds, order=order
        )
    b = np.asarray(baseline, dtype=float)
    c = np.asarray(candidate, dtype=float)
    regressed, p, drop = fixed_size_test(b, c, design.allowed_drop, design.alpha_fallback)
    return SequentialResult(
        REGRESSION if regressed else NO_REGRESSION,
        n,
        n,
        "fixed-size fallback",
        drop,
        e_reg,
        e_fut,
        p_fixed=p,
        bounds=bounds,
        order=order,
    )


class SequentialDropTest:
    """The same gate fed one pair at a time, as results arrive (for a live run).

    Keeps the log-wealth of every bet for both tests (O(grid) memory) and the running intersection
    of the confidence bounds. :meth:`update` returns the decision so far; once it is not
    ``undecided`` it does not change. :meth:`finish` applies the fixed-size fallback.
    """

    def __init__(self, design: SequentialDesign = SequentialDesign()) -> None:
        self.design = design
        self._lam_up = np.asarray(design.grid) / (1.0 + design.allowed_drop)
        self._lam_down = np.asarray(design.grid) / (1.0 - design.futility_bound)
        self._log_up = np.zeros(len(design.grid))
        self._log_down = np.zeros(len(design.grid))
        self._threshold = math.log(1.0 / design.alpha_sequential)
        self.baseline: list[float] = []
        self.candidate: list[float] = []
        self.decision = UNDECIDED
        self.rule = "none"

    @property
    def n(self) -> int:
        return len(self.baseline)

    def _log_mix(self, logs: np.ndarray) -> float:
        top = float(logs.max())
        return top + math.log(float(np.exp(logs - top).mean()))

    @property
    def e_regression(self) -> float:
        return math.exp(self._log_mix(self._log_up))

    @property
    def e_futility(self) -> float:
        return math.exp(self._log_mix(self._log_down))

    def update(self, baseline: float, candidate: float) -> str:
        if self.decision != UNDECIDED:
            return self.decision
        d = float(_check_scores(np.array([baseline]), np.array([candidate]))[0])
        self.baseline.append(float(baseline))
        self.candidate.append(float(candidate))
        self._log_up += np.log1p(self._lam_up * (d - self.design.allowed_drop))
        self._log_down += np.log1p(-self._lam_down * (d - self.design.futility_bound))
        if self.n >= self.design.min_items:
            if self._log_mix(self._log_up) >= self._threshold:
                self.decision, self.rule = REGRESSION, "sequential"
            elif self._log_mix(self._log_down) >= self._threshold:
                self.decision, self.rule = NO_REGRESSION, "futility"
        return self.decision

    def bounds(self) -> Bounds:
        d = np.asarray(self.baseline) - np.asarray(self.candidate)
        return confidence_bounds(d, self.design.alpha_sequential, self.design.grid, tol=1e-6)

    def finish(self) -> str:
        """No more items: an undecided gate falls back to the fixed-size test at ``alpha_fallback``."""
        if self.decision == UNDECIDED and self.n:
            regressed, _, _ = fixed_size_test(
                np.asarray(self.baseline),
                np.asarray(self.candidate),
                self.design.allowed_drop,
                self.design.alpha_fallback,
            )
            self.decision = REGRESSION if regressed else NO_REGRESSION
            self.rule = "fixed-size fallback"
        return self.decision


# --- power before the run --------------------------------------------------------------------------


def _z(p: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(p))


def min_detectable_drop(
    n: int,
    alpha: float = DEFAULT_ALPHA,
    power: float = DEFAULT_POWER,
    discordance: float | None = None,
    sd: float | None = None,
) -> float:
    """Smallest true drop that the fixed-size one-sided paired test detects with ``power`` at ``alpha``.

    0/1 scores (give ``discordance``, the share of items on which the two runs disagree; default
    :data:`DEFAULT_DISCORDANCE`): Connor's (1987) approximation for McNemar's test, solving
    ``delta sqrt(n) = z_(1-alpha) sqrt(psi) + z_power sqrt(psi - delta^2)`` for delta in closed form.
    Graded scores (give ``sd``, the standard deviation of the per-item difference):
    ``(z_(1-alpha) + z_power) sd / sqrt(n)``. ``inf`` when no possible drop is detectable (with psi
    discordant items the drop cannot exceed psi). Decreases as n grows. For Holm-adjusted gates pass
    ``alpha / number_of_drop_gates`` (what one regression among them must beat).
    """
    if n <= 0:
        return math.inf
    if not 0 < alpha < 1 or not 0.5 <= power < 1:
        raise ValueError("alpha must be in (0, 1) and power in [0.5, 1)")
    za, zb = _z(1 - alpha), _z(power)
    if sd is not None:
        if sd < 0:
            raise ValueError("sd must be >= 0")
        return (za + zb) * sd / math.sqrt(n)
    psi = DEFAULT_DISCORDANCE if discordance is None else float(discordance)
    if not 0 <= psi <= 1:
        raise ValueError(f"discordance must be in [0, 1], got {psi}")
    if psi == 0:
        return 0.0  # the runs agree on every item: any change would have shown
    a2, k = float(n), za * math.sqrt(psi)
    # f(delta) = delta sqrt(n) - z_power sqrt(psi - delta^2) increases on [0, psi] up to psi sqrt(n):
    # a solution of f = k exists iff psi sqrt(n) >= k, and it is the larger root of the squared equation
    # (the smaller one lies below k / sqrt(n), where the unsquared equation fails).
    if psi * math.sqrt(a2) < k:
        return math.inf
    disc = max(0.0, zb * zb * (psi * (a2 + zb * zb) - k * k))
    delta = (math.sqrt(a2) * k + math.sqrt(disc)) / (a2 + zb * zb)
    return min(delta, psi)


def paired_spread(
    baseline: Sequence[float] | np.ndarray, candidate: Sequence[float] | np.ndarray
) -> dict[str, float | None]:
    """What :func:`min_detectable_drop` needs from observed pairs: discordance (0/1 scores) or sd (graded)."""
    b = np.asarray(baseline, dtype=float)
    c = np.asarray(candidate, dtype=float)
    if b.size == 0:
        return {"discordance": None, "sd": None}
    if np.all(np.isin(b, (0.0, 1.0))) and np.all(np.isin(c, (0.0, 1.0))):
        return {"discordance": float(np.mean(b != c)), "sd": None}
    d = b - c
    return {"discordance": None, "sd": float(d.std(ddof=1)) if d.size > 1 else 1.0}


def underpowered(
    n: int,
    allowed: float,
    alpha: float = DEFAULT_ALPHA,
    power: float = DEFAULT_POWER,
    discordance: float | None = None,
    sd: float | None = None,
) -> tuple[bool, float]:
    """(True when n shared items cannot detect a drop of ``allowed``, the smallest detectable drop).

    A passing drop gate claims "no drop beyond ``allowed``"; when even a true drop of ``allowed`` would
    be missed more than 20% of the time, the pass only says the test could not see, so the gate
    should read ``inconclusive``. An allowed drop of 0 names no size to detect ("any significant
    drop"); it is never underpowered by this rule.
    """
    mde = min_detectable_drop(n, alpha, power, discordance, sd)
    return (allowed > 0 and mde > allowed), mde
