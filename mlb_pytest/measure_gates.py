"""Gates on figures beside the plain score: ``circular`` and ``worst`` floors, ``flip`` bounds.

- ``NAME:circular>=FLOOR`` (``--mlb-circular``): the share of NAME's choice items right in every
  option rotation.
- ``NAME:worst>=FLOOR`` (``--mlb-samples=K``): the lowest of the K per-sample scores, so a model
  that is right on average but wrong one run in three cannot pass on its mean.
- ``NAME:flip<=MAX`` / ``NAME:flip:typos<=MAX`` (``--mlb-perturb``): the share of NAME's items
  whose answer a perturbation changed (the worst perturbation, or the one named).

Each decides on the observed figure, as score floors do; a run that lacks the figure because the
option was not given fails the gate (the policy asks for something the run did not measure).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .gates import Gate, Rule
from .invariance.report import worst_flip
from .report_view import ReportView, ScoreBlock


def _body(target: str, report: Mapping[str, Any]) -> ScoreBlock | None:
    return ReportView(report).block(target)


def circular_floor(rule: Rule, target: str, report: Mapping[str, Any]) -> Gate:
    """``NAME:circular>=FLOOR``."""
    name = f"{target}:circular>={rule.threshold:g}"
    body = _body(target, report)
    if body is None:
        return Gate(name, True, f"{target} is not in this run", status="n/a", threshold=rule.threshold)
    if not ReportView(report).overall.has_circular:
        why = "no circular score: no item was asked rotated (run choice items with --mlb-circular)"
        return Gate(name, False, why, status="fail", threshold=rule.threshold)
    score = body.circular
    if score is None:
        if body.circular_errors:
            why = f"{target} has no circular score (rotations errored)"
            return Gate(name, False, why, status="fail", threshold=rule.threshold)
        return Gate(name, True, f"{target} has no rotated choice items", status="n/a", threshold=rule.threshold)
    ok = score >= rule.threshold
    why = f"{target} circular {score:.3f} {'>=' if ok else '<'} floor {rule.threshold:.2f}"
    return Gate(name, ok, why, observed=score, threshold=rule.threshold, status="pass" if ok else "fail")


def worst_floor(rule: Rule, target: str, report: Mapping[str, Any]) -> Gate:
    """``NAME:worst>=FLOOR``: the worst of the K samples' scores."""
    name = f"{target}:worst>={rule.threshold:g}"
    body = _body(target, report)
    if body is None:
        return Gate(name, True, f"{target} is not in this run", status="n/a", threshold=rule.threshold)
    spread = body.spread
    if spread is None:
        why = "no worst-of-K score: the run asked each item once (run with --mlb-samples=K, K >= 2)"
        return Gate(name, False, why, status="fail", threshold=rule.threshold)
    worst = spread.worst
    if worst is None:
        why = f"{target} has no per-sample scores (all items errored or await a judge)"
        return Gate(name, False, why, status="fail", threshold=rule.threshold)
    ok = worst >= rule.threshold
    why = (
        f"{target} worst of {spread.k} samples {worst:.3f} {'>=' if ok else '<'} floor {rule.threshold:.2f}"
        f" (mean {spread.mean or 0:.3f}, spread {spread.sd:.3f})"
    )
    return Gate(name, ok, why, observed=worst, threshold=rule.threshold, status="pass" if ok else "fail")


def flip_bound(rule: Rule, target: str, report: Mapping[str, Any]) -> Gate:
    """``NAME:flip<=MAX`` (worst perturbation) or ``NAME:flip:<perturbation><=MAX``."""
    only = rule.measure.partition(":")[2]
    name = f"{target}:{rule.measure}<={rule.threshold:g}"
    body = _body(target, report)
    if body is None:
        return Gate(name, True, f"{target} is not in this run", status="n/a", threshold=rule.threshold)
    if not ReportView(report).overall.has_perturb:
        why = "no flip rate: no item was perturbed (run choice items with --mlb-perturb)"
        return Gate(name, False, why, status="fail", threshold=rule.threshold)
    summary = body.perturb
    if only:
        if only not in summary:
            why = f"no flip rate for {only}: run with --mlb-perturb={only}"
            return Gate(name, False, why, status="fail", threshold=rule.threshold)
        summary = {only: summary[only]}
    found = worst_flip({which: c.raw for which, c in summary.items()})
    if found is None:
        errors = sum(c.errors for c in summary.values())
        if errors:
            why = f"{target} has no flip rate ({errors} perturbed asks errored)"
            return Gate(name, False, why, status="fail", threshold=rule.threshold)
        why = f"{target} has no item the perturbation applies to"
        return Gate(name, True, why, status="n/a", threshold=rule.threshold)
    which, rate = found  # the worst perturbation decides
    c = summary[which]
    ok = rate <= rule.threshold
    why = f"{target} {which} flipped {rate:.3f} ({c.flips}/{c.n}) {'<=' if ok else '>'} max {rule.threshold:.2f}"
    return Gate(name, ok, why, observed=rate, threshold=rule.threshold, status="pass" if ok else "fail")


MEASURES = {"circular": circular_floor, "worst": worst_floor, "flip": flip_bound}


def measure_gate(rule: Rule, target: str, report: Mapping[str, Any]) -> Gate:
    """The gate of a rule on a figure other than the plain score."""
    return MEASURES[rule.measure.partition(":")[0]](rule, target, report)
