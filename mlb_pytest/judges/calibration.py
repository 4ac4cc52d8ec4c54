"""Calibrating the bundled judge's p(yes), and the band around its threshold where it abstains.

A cross-encoder's softmax is over-confident after a few epochs; temperature scaling (one scalar
fitted on the dev split by likelihood) makes p(yes) mean what it says without changing the
ranking. The abstention band is the interval of calibrated p(yes) around the threshold inside
which the judge answers ``uncertain``: the widest band that still decides at least
``min_coverage`` of the dev rows, so coverage is chosen, not accuracy on the rows kept.
Training records both in the adapter's config (``temperature``, ``abstain``); ``calibration_of``
reads them back for the judge. Both were fitted on dev rows read through one version of the input
sanitizer (``sanitizer``); when the judge reads through another, the band no longer decides the
share of rows it was chosen for, and ``stale_calibration`` says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_EPS = 1e-6


class StaleCalibrationWarning(UserWarning):
    """The adapter's temperature and band were fitted on rows read differently from how the judge reads now."""


def _logit(p: float) -> float:
    p = min(1 - _EPS, max(_EPS, p))
    return math.log(p / (1 - p))


def apply_temperature(p: float, temperature: float) -> float:
    """p(yes) with the two-class logit divided by ``temperature`` (1.0: unchanged)."""
    if temperature == 1.0:
        return p
    z = _logit(p) / temperature
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


def fit_temperature(probs: Sequence[float], labels: Sequence[bool]) -> float:
    """The temperature minimising the negative log-likelihood of ``labels`` (bounded to 0.05-20)."""
    from scipy.optimize import minimize_scalar

    if not probs:
        return 1.0
    z = [_logit(p) for p in probs]

    def nll(log_t: float) -> float:
        t = math.exp(log_t)
        total = 0.0
        for zi, y in zip(z, labels):
            s = zi / t
            # log(1 + e^-s) for y, log(1 + e^s) for not y, computed stably
            m = -s if y else s
            total += max(m, 0.0) + math.log1p(math.exp(-abs(m)))
        return total / len(z)

    res = minimize_scalar(nll, bounds=(math.log(0.05), math.log(20.0)), method="bounded")
    return float(math.exp(res.x))


def choose_band(probs: Sequence[float], threshold: float, min_coverage: float = 0.9) -> tuple[float, float]:
    """(low, high): calibrated p(yes) in [low, high) is ``uncertain``; at least ``min_coverage`` decided.

    The band is symmetric in logit space around the threshold and as wide as the coverage allows.
    """
    if not probs or min_coverage >= 1.0:
        return (threshold, threshold)
    centre = _logit(threshold)
    dist = sorted(abs(_logit(p) - centre) for p in probs)
    allowed = int(math.floor((1 - min_coverage) * len(dist)))  # rows that may fall inside the band
    if allowed <= 0:
        return (threshold, threshold)
    half = (dist[allowed - 1] + dist[allowed]) / 2 if allowed < len(dist) else dist[-1] + 1e-9
    lo, hi = centre - half, centre + half
    return (1 / (1 + math.exp(-lo)), 1 / (1 + math.exp(-hi)))


def decide(p: float, threshold: float, band: tuple[float, float] | None) -> str:
    """``yes``, ``no`` or ``uncertain`` for one calibrated p(yes)."""
    if band is not None and band[0] < band[1] and band[0] <= p < band[1]:
        return "uncertain"
    return "yes" if p >= threshold else "no"


@dataclass(frozen=True)
class Calibration:
    """An adapter's stated ``temperature`` and ``abstain`` band (judge_config.json); absent: none."""

    temperature: float = 1.0
    band: tuple[float, float] | None = None

    @property
    def stated(self) -> bool:
        """Whether the adapter calibrates at all (one that does not answers exactly as before)."""
        return self.temperature != 1.0 or self.band is not None


def calibration_of(config: Mapping[str, Any]) -> Calibration:
    """The optional calibration fields of an adapter's config; ValueError naming a bad one."""
    t = config.get("temperature", 1.0)
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 < t < math.inf:
        raise ValueError(f"'temperature' must be a positive number, not {t!r}")
    band = config.get("abstain")
    if band is None:
        return Calibration(float(t))
    if not (
        isinstance(band, list)
        and len(band) == 2
        and all(not isinstance(b, bool) and isinstance(b, (int, float)) for b in band)
        and 0.0 <= band[0] <= band[1] <= 1.0
    ):
        raise ValueError(f"'abstain' must be [low, high] with 0 <= low <= high <= 1, not {band!r}")
    return Calibration(float(t), (float(band[0]), float(band[1])))


def stale_calibration(config: Mapping[str, Any], sanitizer: str) -> str | None:
    """Why an adapter's calibration no longer fits what the judge reads, or None when it does.

    The band is chosen for a coverage on dev rows as the judge read them; a new sanitizer version
    changes what it reads (planted text taken out), so the band must be fitted again.
    """
    if "temperature" not in config and "abstain" not in config:
        return None
    used = config.get("sanitizer")
    if used == sanitizer:
        return None
    was = f"input sanitizer {used}" if isinstance(used, str) else "an input sanitizer it did not record"
    return (
        f"the adapter was calibrated on dev rows read through {was}; the judge now reads through "
        f"{sanitizer}, so its abstention band may not decide the share of rows it was chosen for: "
        "rerun mlb judge calibrate --adapter <folder>"
    )
