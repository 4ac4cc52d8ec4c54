"""Plain-text pieces of a report that more than one summary prints: gate cells, trust lines, the
uncertain-verdict line. They read the typed report (``report_model.py``), so a field renamed in the
contract breaks here, under mypy, rather than as a KeyError in someone's CI.

The terminal summary (``summary.py``) runs at the end of every run, on the report as a dict, with
possibly 100,000 items: it reads a :class:`SummaryView` (the report without its items, checked
against the contract) and :func:`outcome_counts` (the one pass over the rows it needs).

Floor 2: imports only ``report_model.py``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .item_view import views
from .report_model import (
    Comparison,
    DatasetSummary,
    DimensionName,
    DimensionSummary,
    Gate,
    ItemOutcome,
    OverallSummary,
    RegressedItem,
    Report,
    ReportSchemaError,
    Run,
    SequentialBlock,
    SuiteErrorOutcome,
    Verdict,
)
from .report_view import ReportView

VERDICT_WORD = {"pass": "PASS", "fail": "FAIL", "error": "ERROR"}
"""The verdict as the last line of a summary writes it."""

REGRESSIONS_SHOWN = 20
"""Regressed items a summary lists by name; the rest are only counted (the JSON report has them all)."""


class SummaryView(BaseModel):
    """The report without its items (and with only the first regressed items): what a summary
    reads, checked against the contract's own sub-models. Built by :func:`summary_view`, so that
    the summary at the end of a 100,000-item run does not validate 100,000 item models."""

    model_config = ConfigDict(strict=True, extra="ignore")

    schema_version: Literal[1]
    run: Run
    datasets: dict[str, DatasetSummary]
    dimensions: dict[DimensionName, DimensionSummary]
    overall: OverallSummary
    gates: list[Gate]
    verdict: Verdict
    verdict_reason: str
    comparison: Comparison | None = Field(
        default=None, description="without `regressions` (see first_regressions and outcome_counts)"
    )
    sequential: SequentialBlock | None = None
    first_regressions: list[RegressedItem] = Field(
        default_factory=list, description=f"the comparison's first {REGRESSIONS_SHOWN} regressed items"
    )


ReportLike: TypeAlias = Report | SummaryView
"""What the text pieces below read: the whole typed report, or the summary's view of it."""

_VIEW_KEYS = tuple(k for k in SummaryView.model_fields if k != "first_regressions")


def summary_view(report: Mapping[str, Any]) -> SummaryView:
    """Check and type the parts of a report dict that a summary reads, leaving out ``items`` and all
    but the first regressed items (the long lists: :func:`outcome_counts` counts them).

    Checked as the JSON it would be written as, like ``validate_report`` (tuples are arrays); raises
    ReportSchemaError naming the fields that do not meet the contract.
    """
    # the serialisation step itself: blocks are picked by name to be validated, not read
    parts = {k: report[k] for k in _VIEW_KEYS if k in report}
    comparison = parts.get("comparison")
    if isinstance(comparison, Mapping) and "regressions" in comparison:
        parts["comparison"] = {k: v for k, v in comparison.items() if k != "regressions"}
        parts["first_regressions"] = list(comparison["regressions"] or [])[:REGRESSIONS_SHOWN]
    try:
        return SummaryView.model_validate_json(json.dumps(parts, ensure_ascii=False, default=str))
    except ValidationError as exc:
        raise ReportSchemaError(
            [f"{_report_path(e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)]
        ) from None


def _report_path(loc: tuple[int | str, ...]) -> str:
    """Where a view's error is in the report (``first_regressions.3`` is ``comparison.regressions.3``)."""
    if loc and loc[0] == "first_regressions":
        loc = ("comparison", "regressions", *loc[1:])
    return ".".join(str(p) for p in loc) or "(top level)"


@dataclass(frozen=True)
class OutcomeCounts:
    """What a summary counts over a report's long lists: items by outcome, choice replies the
    extractor model read, regressed items."""

    items: int
    outcomes: Counter[ItemOutcome | SuiteErrorOutcome]
    read_by_extractor: int
    regressed: int


def outcome_counts(report: Mapping[str, Any]) -> OutcomeCounts:
    """Count items by outcome (``pass``, ``wrong``, ``error``, ``needs_judge``, ``suite_error``), the
    items whose ``details.method`` is ``model:...``, and the comparison's regressed items, in one
    pass over the raw rows.

    The one place a summary reads report rows by key: a run can have 100,000 items, and building
    (or validating) a model per row only to count outcomes would cost seconds and memory at the
    end of every run. The keys read are the contract's (``ItemResult``, ``SuiteErrorResult``).
    """
    outcomes: Counter[ItemOutcome | SuiteErrorOutcome] = Counter()
    by_extractor = 0
    view = ReportView(report)
    items = view.items
    for it in views(items):
        outcomes[it.outcome] += 1  # type: ignore[index]  # the contract's outcome names
        if it.method.startswith("model:"):
            by_extractor += 1
    regressed = len(view.regressions)
    return OutcomeCounts(items=len(items), outcomes=outcomes, read_by_extractor=by_extractor, regressed=regressed)


def score_text(x: float | None, signed: bool = False) -> str:
    """A score as ``0.123`` (or ``+0.123``), ``-`` when there is none; never ``-0.000``."""
    if x is None:
        return "-"
    x = round(x, 3) + 0.0
    return f"{x:+.3f}" if signed else f"{x:.3f}"


def gate_target(name: str) -> str:
    """What a gate is about: a dataset, a dimension, ``overall`` or a built-in check (``KQA>=0.8`` -> ``KQA``)."""
    return name.split(":")[0].split(">=")[0]


def gate_status(gate: Gate) -> str:
    """The gate's status; a gate written before statuses existed is pass or fail by its flag."""
    return gate.status or ("pass" if gate.passed else "fail")


def gate_cells(target: str, report: ReportLike) -> tuple[str, str, str, str]:
    """Baseline, delta, p and verdict word of a target's gates: the last columns of a summary table."""
    gates = [g for g in report.gates if gate_target(g.name) == target]
    diff = (report.comparison.differences or {}).get(target) if report.comparison else None
    base = score_text(diff.baseline) if diff else "-"
    delta = score_text(None if not diff or diff.drop is None else -diff.drop, signed=True)
    ps = [g.p_adjusted if g.p_adjusted is not None else g.p_value for g in gates]
    p = next((f"{x:.3g}" for x in ps if x is not None), "-")
    statuses = [gate_status(g) for g in gates]
    word = "FAIL" if "fail" in statuses else ("pass" if "pass" in statuses else (statuses[0] if statuses else ""))
    return base, delta, p, word


def judge_uncertain_line(report: ReportLike) -> str | None:
    """How many verdicts the judge abstained on, per dataset, and the file where a reviewer decides them."""
    info = report.run.judge_uncertain
    if info is None or not info.uncertain:
        return None
    per = ", ".join(
        f"{name} {ds.judge_uncertain}" for name, ds in sorted(report.datasets.items()) if ds.judge_uncertain
    )
    return (
        f"judge: {info.uncertain} of {info.verdicts} verdicts uncertain ({info.share:.1%}): {per} "
        f'— written to {info.review_file} (set "decision" to yes/no there, then `mlb review apply`)'
    )


def _when(ts: float | None) -> str:
    if ts is None:
        return "?"
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def trust_lines(run: Run) -> list[str]:
    """Completeness, the revision that answered, and how much came from the cache (and from when):
    what a reader needs before trusting the scores."""
    out = []
    if run.complete is not None:
        cut_short = run.interrupted or run.stopped or (run.items_finished or 0) < (run.items_collected or 0)
        if run.complete:
            out.append("run: complete")
        elif cut_short:
            out.append(f"run: INCOMPLETE ({run.incomplete_reason})")
        else:  # narrowed on purpose: a smoke run, not a broken one
            out.append(f"run: narrowed ({run.incomplete_reason})")
    gen = run.generation
    model = (run.revision or {}).get("model")  # typed already: Run.revision maps a role to its RevisionEntry
    revision = model.revision if model else None
    cached = gen.cached or 0
    if model and revision:
        out.append(
            f"model revision: {revision} ({'stated' if model.source == 'option' else 'from the adapter'})"
            + (f"; system_fingerprint {', '.join(model.system_fingerprints)}" if model.system_fingerprints else "")
        )
    if cached:
        span = _when(gen.cached_oldest)
        if gen.cached_newest and _when(gen.cached_newest) != span:
            span += f" to {_when(gen.cached_newest)}"
        line = f"cache: {cached} answers came from the cache (stored {span})"
        if not revision:
            line += (
                "; the model's revision is unknown, so they may come from an earlier deployment: "
                "set --mlb-model-revision (or MLB_MODEL_REVISION), bound their age with --mlb-cache-max-age, "
                "or use --mlb-no-cache"
            )
        out.append(line)
    return out


def short(value: Any, n: int = 60) -> str:
    """An answer on one line, at most ``n`` characters (a list of letters joined by commas)."""
    text = (
        value
        if isinstance(value, str)
        else ",".join(value)
        if isinstance(value, list) and all(isinstance(v, str) for v in value)
        else str(value)
    )
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def robustness_lines(report: ReportLike) -> list[str]:
    """What the robustness options measured, one line each: option rotation, invariance checks, the
    spread of K samples, the sequential stop and a re-scored or differently judged baseline."""
    out: list[str] = []
    dims = report.dimensions
    rotated = [f"{d} {score_text(b.circular)}" for d, b in dims.items() if b.circular is not None]
    if rotated:
        follow = [b.position_following for b in dims.values() if b.position_following is not None]
        out.append(
            "option rotation (right in every rotation): "
            + ", ".join(rotated)
            + (f"; answers following the position: {max(follow):.0%} at most" if follow else "")
        )
    flips = report.overall.perturb or {}
    if flips:
        out.append(
            "invariance (answers changed by a perturbation): "
            + ", ".join(
                f"{name} {c.flip:.1%} ({c.flips}/{c.n})" if c.flip is not None else f"{name} not applicable"
                for name, c in flips.items()
            )
        )
    spread = [(d, b.spread) for d, b in dims.items() if b.spread is not None]
    if spread:
        k = spread[0][1].k
        out.append(
            f"K={k} samples (mean ± sd, worst): "
            + ", ".join(f"{d} {s.mean:.3f} ± {s.sd:.3f} (worst {s.worst:.3f})" for d, s in spread)
        )
    if report.sequential is not None:
        seq = report.sequential
        head = f"stopped after {seq.items_run} items" if seq.stopped else f"ran all {seq.items_run} items"
        out.append(
            f"sequential gates: {head}; "
            + ", ".join(f"{name} {g.decision} ({g.rule}, {g.n_used} items)" for name, g in seq.gates.items())
        )
    comparison = report.comparison
    if comparison is not None and comparison.rescored is not None:
        r = comparison.rescored
        out.append(
            f"baseline re-scored with this run's judge: {r.items} answers, {r.changed_verdicts} changed pass/fail"
        )
    if comparison is not None and comparison.judge_changed is not None:
        j = comparison.judge_changed
        out.append(
            f"the baseline was judged by {j.baseline or 'no judge'}, this run by {j.current or 'no judge'}: "
            "judged datasets compare two judges (--mlb-rescore-baseline re-judges the baseline)"
        )
    return out


def dataset_notes(ds: DatasetSummary) -> list[str]:
    """Why a dataset's score is missing or thin: waiting for a judge, errored items."""
    note = []
    if ds.status == "needs_judge":
        note.append(f"needs a judge ({ds.needs_judge} items)")
    elif ds.needs_judge:
        note.append(f"{ds.needs_judge} need a judge")
    if ds.errors:
        note.append(f"{ds.errors} errors")
    return note


def overall_note(ov: OverallSummary) -> str:
    """``partial: ... unscored`` when the overall score leaves dimensions out."""
    return ("partial: " + ", ".join(ov.missing) + " unscored") if ov.missing else ("partial" if ov.partial else "")
