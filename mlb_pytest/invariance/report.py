"""Flip rates of the invariance checks: per item, per dataset, per dimension and overall.

An item *flips* under a perturbation when the answer changed: the chosen letters differ from
the plain ask's (when the rules read both replies), or else the item's pass/fail changed. The
rate is over the items the perturbation applied to and both asks were answered; items it did
not apply to are counted as skipped, failed asks as errors, neither in the rate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..item_view import ItemView, views
from ..statistics import wilson_interval


def flipped(plain: Mapping[str, Any], variant: Mapping[str, Any]) -> bool:
    """Did the answer change between the plain ask and the perturbed one?"""
    p, v = ItemView(plain), ItemView(variant)
    a, b = p.extracted, v.extracted
    if a and b:
        return sorted(a) != sorted(b)
    return p.passed != v.passed


def scored_entry(plain: Mapping[str, Any], variant: Mapping[str, Any]) -> dict[str, Any]:
    v = ItemView(variant)
    return {
        "status": "scored",
        "id": v.id,
        "flipped": flipped(plain, variant),
        "passed": v.passed,
        "score": v.score,
        "chosen": v.extracted,
        "response": v.response,
        "question": v.last_user_message,
    }


def skipped_entry(reason: str) -> dict[str, Any]:
    return {"status": "skipped", "reason": reason}


def error_entry(error: str) -> dict[str, Any]:
    return {"status": "error", "error": error}


def _counts(blocks: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per perturbation: items scored, flips, errors, skipped, and the flip rate with its interval."""
    out: dict[str, dict[str, Any]] = {}
    for block in blocks:
        for name, entry in block.items():
            c = out.setdefault(name, {"n": 0, "flips": 0, "errors": 0, "skipped": 0})
            status = entry.get("status")
            if status == "scored":
                c["n"] += 1
                c["flips"] += bool(entry.get("flipped"))
            elif status == "error":
                c["errors"] += 1
            else:
                c["skipped"] += 1
    for c in out.values():
        c["flip"] = c["flips"] / c["n"] if c["n"] else None
        c["flip_ci"] = list(wilson_interval(c["flips"], c["n"])) if c["n"] else None
    return dict(sorted(out.items()))


def worst_flip(summary: Mapping[str, Mapping[str, Any]]) -> tuple[str, float] | None:
    """The perturbation with the highest flip rate, and that rate (None: nothing scored)."""
    rated = [(name, float(c["flip"])) for name, c in summary.items() if c.get("flip") is not None]
    return max(rated, key=lambda nc: nc[1]) if rated else None


def add_to_report(report: dict[str, Any]) -> bool:
    """Put ``perturb`` (per perturbation: flip rate, interval, counts) in datasets, dimensions and
    overall; rates pool the items (not the datasets). False, changing nothing, when no item was
    perturbed."""
    by_ds: dict[str, list[Mapping[str, Any]]] = {}
    for r in views(report.get("items", ())):
        if r.perturb is not None and r.dataset is not None:
            by_ds.setdefault(r.dataset, []).append(r.perturb)
    if not by_ds:
        return False
    for name, blocks in by_ds.items():
        if name in report["datasets"]:
            report["datasets"][name]["perturb"] = _counts(blocks)
    for dim, body in report["dimensions"].items():
        blocks = [
            b for name, bs in by_ds.items() if report["datasets"].get(name, {}).get("dimension") == dim for b in bs
        ]
        body["perturb"] = _counts(blocks) if blocks else {}
    report["overall"]["perturb"] = _counts([b for bs in by_ds.values() for b in bs])
    return True


def summary_line(report: Mapping[str, Any]) -> str | None:
    """One terminal line: each perturbation's flip rate over the run."""
    overall = report.get("overall", {}).get("perturb") or {}
    parts = [
        f"{name} {c['flip']:.1%} ({c['flips']}/{c['n']}; {c['skipped']} not applicable"
        + (f", {c['errors']} errors" if c["errors"] else "")
        + ")"
        for name, c in overall.items()
        if c.get("flip") is not None
    ]
    return "mlb invariance (answers changed by a perturbation): " + "; ".join(parts) if parts else None
