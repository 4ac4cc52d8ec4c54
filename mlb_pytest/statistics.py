"""The one home of the package's statistics: intervals, micro-F1, paired tests, agreement.

Intervals for scores: Wilson for 0/1 accuracy, seeded percentile bootstrap otherwise. The
bootstrap is deterministic (fixed seed, items in key order) so that the same results give the same
intervals whether or not the run was split over xdist workers.

Where scipy gives the same numbers it is used (``scipy.stats.binomtest`` for the exact McNemar
test). The Wilson interval stays our own (see ``wilson_interval``). So does the paired
randomisation test in ``comparison.py``: it is stratified by dataset (and by dimension for the
overall score), swaps micro-F1 count triples whole and draws from our seeded streams, none of
which ``scipy.stats.permutation_test`` offers.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Sequence

import numpy as np

Z95 = 1.959963984540054
DEFAULT_RESAMPLES = 1000


def wilson_interval(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; (0, 1) when n == 0.

    Kept by hand rather than ``binomtest(k, n).proportion_ci(method="wilson")``: scipy's algebra
    differs from this one by one or two units in the last place for about half of all (k, n), so
    reports would change in their last digits, and it costs about 300 times as much. Both are
    checked against each other in tests/test_statistics.py.
    """
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if successes <= 0 else max(0.0, min(p, centre - half))
    hi = 1.0 if successes >= n else min(1.0, max(p, centre + half))
    return (lo, hi)


def rng_for(*parts: str) -> np.random.Generator:
    """A generator seeded from names, so each dataset gets its own fixed stream."""
    seed = int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest()[:8], "little")
    return np.random.default_rng(seed)


_MAX_CELLS = 2_000_000


def bootstrap_replicates(
    columns: Sequence[np.ndarray],
    statistic: Callable[[Sequence[np.ndarray]], np.ndarray],
    rng: np.random.Generator,
    resamples: int = DEFAULT_RESAMPLES,
    chunk: int = 100,
) -> np.ndarray:
    """Replicates of ``statistic`` over items resampled with replacement.

    ``columns`` are per-item arrays of equal length; ``statistic`` gets them with an extra
    leading resample axis (shape [chunk, n]) and returns one value per resample.
    """
    n = len(columns[0])
    if n == 0:
        return np.full(resamples, np.nan)
    # at most ~2M cells a chunk: 100 rows of 100,000 items are several arrays of 80 MB each
    # (suites up to 20,000 items keep the chunk, and so the very same replicates)
    chunk = max(1, min(chunk, _MAX_CELLS // n))
    out = np.empty(resamples)
    done = 0
    while done < resamples:
        m = min(chunk, resamples - done)
        idx = rng.integers(0, n, size=(m, n))
        out[done : done + m] = statistic([c[idx] for c in columns])
        done += m
    return out


def percentile_interval(replicates: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    vals = replicates[~np.isnan(replicates)]
    if vals.size == 0:
        return (float("nan"), float("nan"))
    lo, hi = np.percentile(vals, [(1 - level) / 2 * 100, (1 + level) / 2 * 100])
    return (float(lo), float(hi))


def weighted_mean_stat(cols: Sequence[np.ndarray]) -> np.ndarray:
    """Weighted mean of the scores along the last (item) axis, one value per row."""
    scores, weights = cols
    return (scores * weights).sum(axis=-1) / weights.sum(axis=-1)


def micro_f1_stat(cols: Sequence[np.ndarray]) -> np.ndarray:
    """``micro_f1`` of the tp, fp and fn columns summed along the last (item) axis, one value per row."""
    tp, fp, fn = (c.sum(axis=-1) for c in cols)
    denom = 2 * tp + fp + fn
    return np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), 1.0)


def micro_f1(tp: float, fp: float, fn: float) -> float:
    """F1 from (summed) counts, 2tp / (2tp + fp + fn); 1.0 when there was nothing to find and nothing was found.

    The one F1 formula: an item's F1 (``scoring.f1_from_counts``), a dataset's micro-F1 over its summed
    counts (``micro_f1_of_items``), and, in array form, ``micro_f1_stat`` for resampled counts.
    """
    denom = 2 * tp + fp + fn
    return 1.0 if denom == 0 else 2 * tp / denom


def micro_f1_of_items(counts: Iterable[tuple[float, float, float]]) -> float:
    """Dataset micro-F1 from per-item (tp, fp, fn): sum the counts, then take F1 once."""
    tp = fp = fn = 0.0
    for a, b, c in counts:
        tp, fp, fn = tp + a, fp + b, fn + c
    return micro_f1(tp, fp, fn)


# --- paired comparisons of two runs on the items both scored ------------------------------------


def mcnemar_drop_p(right_to_wrong: int, wrong_to_right: int) -> float:
    """Exact one-sided McNemar p-value that accuracy dropped: binomial test on discordant pairs.

    Under "no change" each discordant item is equally likely to have gone either way, so the
    count of right->wrong among them is Binomial(b + c, 1/2).
    """
    from scipy.stats import binomtest

    n = right_to_wrong + wrong_to_right
    if n == 0:
        return 1.0
    return float(binomtest(right_to_wrong, n, 0.5, alternative="greater").pvalue)


def holm_adjust(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values: the family-wise error stays at alpha over all gates."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def cohen_kappa(pairs: Sequence[tuple[bool, bool]]) -> float | None:
    """Cohen's kappa of two raters' yes/no verdicts; None without data or when chance agreement is 1."""
    n = len(pairs)
    if n == 0:
        return None
    agree = sum(a == b for a, b in pairs) / n
    p1 = sum(a for a, _ in pairs) / n
    p2 = sum(b for _, b in pairs) / n
    chance = p1 * p2 + (1 - p1) * (1 - p2)
    if chance >= 1:
        return None
    return (agree - chance) / (1 - chance)
