"""What the page reads: the report, typed, and what it is compared with.

The report is checked against the contract (``report_model.py``) once, here; the sections read
attributes only. Two things stay JSON data because ``gates.py``, whose paired tests the page
reuses, reads dicts: the report as given (``Page.data``) and the baseline's rows (``rows``).

The page shows what a report holds, so one departure from the contract is tolerated: a token
ledger (``run.usage``) written by hand or by another tool, with counts only (``TokenCounts``).
Anything else that breaks the contract is refused with the contract's own message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..report_model import (
    Difference,
    DimensionSummary,
    ItemResult,
    RegressedItem,
    Report,
    ReportSchemaError,
    Run,
    RunUsage,
    validate_report,
)


class TokenCounts(BaseModel):
    """One role's token counts in a ledger the contract does not describe: any fields, shown as given."""

    model_config = ConfigDict(strict=True, extra="allow")


_RoleUsage = Annotated[RunUsage | TokenCounts, Field(union_mode="left_to_right")]  # the contract's shape first


class _PageRun(Run):
    """``run`` with a token ledger that may hold bare counts; otherwise the contract's."""

    usage: dict[str, _RoleUsage] | None = None  # type: ignore[assignment]  # wider than Run.usage on purpose


class _PageReport(Report):
    run: _PageRun


@dataclass(frozen=True)
class Page:
    """The report the page shows: typed for the sections, and as JSON data for the gates' tests."""

    report: Report
    data: Mapping[str, Any]

    def scored_rows(self) -> list[dict[str, Any]]:
        """The scored items as JSON rows (no suite errors), as ``gates.regressed_items`` reads them."""
        return [
            it.model_dump(mode="json", exclude_unset=True) for it in self.report.items if isinstance(it, ItemResult)
        ]


def read_report(report: Report | Mapping[str, Any]) -> Page:
    """Check the report once (a typed one is taken as it is); ReportSchemaError names what breaks the contract."""
    if isinstance(report, Report):
        return Page(report, report.model_dump(mode="json", by_alias=True, exclude_unset=True))
    try:
        return Page(validate_report(report), report)
    except ReportSchemaError as strict:
        try:  # the same report with a hand-made token ledger is still shown
            lenient = _PageReport.model_validate_json(json.dumps(report, ensure_ascii=False, default=str))
        except ValidationError:
            raise strict from None
        return Page(lenient, report)


class _Lenient(BaseModel):
    """A baseline is read for a few fields only; the rest of it is not the page's to check."""

    model_config = ConfigDict(strict=True, extra="ignore")


class StoredScore(_Lenient):
    score: float | None = None
    ci: list[float | None] | None = None


class _StoredRun(_Lenient):
    model: str | None = None
    ended: str | None = None


class _StoredItem(BaseModel):
    """A baseline file's item: what the comparison reads, with tp/fp/fn beside the score."""

    model_config = ConfigDict(strict=True, extra="allow")

    tp: float | None = None
    fp: float | None = None
    fn: float | None = None


class _ReportItem(BaseModel):
    """An item of a report used as the baseline: kept whole, keyed, suite errors left out."""

    model_config = ConfigDict(strict=True, extra="allow")

    key: str
    outcome: str | None = None


class Baseline(_Lenient):
    """What the page is compared with: a baseline file (``baselines.py``) or another JSON report."""

    model: str | None = None
    created: str | None = None
    run: _StoredRun | None = None
    dimensions: dict[str, StoredScore] = Field(default_factory=dict)
    items: dict[str, _StoredItem] | list[_ReportItem] = Field(default_factory=dict)

    @property
    def label(self) -> tuple[str | None, str | None]:
        """(model, when): a file's own fields, else the report's run."""
        run = self.run or _StoredRun()
        return self.model or run.model, self.created or run.ended

    def rows(self) -> dict[str, dict[str, Any]]:
        """Per-item rows keyed as ``gates.py`` reads them (a file's tp/fp/fn moved under ``details``)."""
        if isinstance(self.items, list):
            return {it.key: it.model_dump(exclude_unset=True) for it in self.items if it.outcome != "suite_error"}
        out = {}
        for key, it in self.items.items():
            row = it.model_dump(exclude_unset=True)
            counts = {"tp": it.tp, "fp": it.fp, "fn": it.fn}
            row.setdefault("details", {k: c for k, c in counts.items() if c is not None})
            out[key] = row
        return out


def read_baseline(baseline: Mapping[str, Any] | None) -> Baseline | None:
    """The baseline data as the page reads it (as JSON, so tuples are arrays as on disk)."""
    if baseline is None:
        return None
    return Baseline.model_validate_json(json.dumps(baseline, ensure_ascii=False, default=str))


def dimension(report: Report, name: str) -> DimensionSummary | None:
    """A dimension's block by name (None when the run scored nothing there)."""
    return next((d for n, d in report.dimensions.items() if n == name), None)


def differences(page: Page, baseline: Baseline | None) -> dict[str, Difference]:
    """Baseline vs this run per dataset, dimension and overall, on shared items.

    Without ``baseline`` only the targets the run's own gates compared are known (from
    ``comparison.differences``); with it every other target is compared by the gates' own paired
    tests (all of them when it is not the baseline the run was compared with).
    """
    comp = page.report.comparison
    known = dict((comp.differences if comp else None) or {})
    if baseline is None:
        return known
    from ..gates import Policy, Rule, evaluate

    compared_with = (comp.baseline_created, comp.baseline_model) if comp else (None, None)
    if compared_with != (baseline.created, baseline.model):  # another baseline than the run's own: compare afresh
        known = {}
    report = page.report
    targets = [t for t in (*report.datasets, *report.dimensions, "overall") if t not in known]
    if targets:
        policy = Policy([Rule(t, "drop", 1.0, f"{t}:drop<=1") for t in targets], min_shared=1)
        result = evaluate(policy, page.data, baseline.rows())
        known.update(
            {k: Difference.model_validate(d, from_attributes=True, strict=False) for k, d in result.differences.items()}
        )
    return known


def regressed(page: Page, baseline: Baseline | None) -> dict[str, RegressedItem]:
    """Items right in the baseline and wrong now, keyed, with the baseline's answer."""
    if baseline is None:
        comp = page.report.comparison
        regs = (comp.regressions if comp else None) or []
    else:
        from ..gates import regressed_items

        found = regressed_items(page.scored_rows(), baseline.rows())
        regs = [RegressedItem.model_validate(r, strict=False) for r in found]
    return {r.key: r for r in regs}
