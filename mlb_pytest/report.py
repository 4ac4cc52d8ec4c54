"""The JSON report (schema_version 1) and the run's verdict."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import __version__, _atomic
from .aggregation import Aggregate
from .gates import Gate
from .item_view import ItemView, views

SCHEMA_VERSION = 1
INFRA_GATE = "infrastructure errors"
COMPLETENESS_GATE = "run completeness"


def builtin_gates(items: Sequence[Mapping[str, Any]], error_share: float) -> list[Gate]:
    """Checks every run has: no red line crossed, errors within the allowed share."""
    rows = list(views(items))
    critical_wrong = [r.key for r in rows if r.red_line]
    unsure = sum(1 for r in rows if r.red_line_uncertain)
    bad_lines = [r.location for r in rows if r.outcome == "suite_error"]
    rows = [r for r in rows if r.outcome != "suite_error"]
    errors = sum(1 for r in rows if r.outcome == "error")
    share = errors / len(rows) if rows else 0.0
    return [
        Gate(
            "suite files",
            not bad_lines,
            "every suite line loaded"
            if not bad_lines
            else f"{len(bad_lines)} malformed suite line(s): {', '.join(bad_lines[:5])}"
            + (" ..." if len(bad_lines) > 5 else ""),
            observed=float(len(bad_lines)),
            threshold=0.0,
        ),
        Gate(
            "critical items",
            not critical_wrong,
            "no critical item crossed its red line"
            if not critical_wrong
            else f"{len(critical_wrong)} critical item(s) crossed their red line: {', '.join(critical_wrong[:5])}"
            + (" ..." if len(critical_wrong) > 5 else "")
            + (f" ({unsure} on an uncertain judge verdict, in the review file)" if unsure else ""),
            observed=float(len(critical_wrong)),
            threshold=0.0,
        ),
        Gate(
            INFRA_GATE,
            share <= error_share,
            f"{errors} of {len(items)} items could not be answered ({share:.1%}, allowed {error_share:.0%})"
            + (
                ""
                if share <= error_share
                else ": infrastructure failure, not a regression; fix the endpoint and re-run"
            ),
            observed=share,
            threshold=error_share,
        ),
    ]


def verdict(gates: Sequence[Gate]) -> tuple[str, str]:
    """ "error" when the run cannot decide (cut short, unreachable model), else "fail" or "pass"."""
    undecided = [g for g in gates if g.name in (COMPLETENESS_GATE, INFRA_GATE) and not g.passed]
    if undecided:
        return "error", undecided[0].reason
    failed = [g for g in gates if not g.passed]
    if failed:
        return "fail", "; ".join(f"{g.name}: {g.reason}" for g in failed)
    return "pass", "every gate holds"


def build_report(
    run: dict[str, Any], items: Sequence[Mapping[str, Any]], agg: Aggregate, gates: Sequence[Gate]
) -> dict[str, Any]:
    """The report before baseline gates: the verdict is set again once gates are evaluated."""
    v, why = verdict(gates)
    body = agg.to_json()
    return {
        "schema_version": SCHEMA_VERSION,
        "run": {**run, "plugin_version": __version__},
        "items": sorted(items, key=lambda r: ItemView(r).key),
        "datasets": body["datasets"],
        "dimensions": body["dimensions"],
        "overall": body["overall"],
        "ci_method": body["ci_method"],
        "gates": [g.to_json() for g in gates],
        "verdict": v,
        "verdict_reason": why,
    }


def write_report(path: Path, report: Mapping[str, Any]) -> None:
    """Write atomically; ``items`` may be an ``_atomic.LazyArray`` (a run's items read back from its
    spool), streamed one item at a time."""
    _atomic.write_json_atomic(path, report)
