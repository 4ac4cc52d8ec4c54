"""The terminal summary: dimensions with their datasets, baseline comparison, gates, verdict.

It runs at the end of every run, on the report dict, and reads it typed: a :class:`SummaryView`
(the report without its items, checked against the contract) and :func:`outcome_counts` (one
pass over the rows), both from ``report_text.py``, so a 100,000-item run builds no item models.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .report_model import Run
from .report_text import (
    VERDICT_WORD,
    OutcomeCounts,
    ReportLike,
    SummaryView,
    dataset_notes,
    gate_cells,
    gate_status,
    judge_uncertain_line,
    outcome_counts,
    overall_note,
    score_text,
    short,
    summary_view,
    trust_lines,
)
from .usage import usage_lines

HEAD = ("dimension", "dataset", "metric", "n", "score", "95% CI", "baseline", "delta", "p", "gate", "note")


def _ci(ci: list[float] | None) -> str:
    """A 95% interval as the terminal shows it, ``[0.123, 0.456]``; empty when there is none."""
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""


def summary_lines(report: Mapping[str, Any]) -> list[str]:
    """The summary's lines, the verdict last; raises ReportSchemaError when the report (items aside)
    does not meet the contract."""
    view = summary_view(report)
    counts = outcome_counts(report)
    lines = _table(view) + rubric_tag_lines(view)
    lines += ["", _items_line(counts)]
    lines += _run_lines(view.run, counts)
    lines += trust_lines(view.run)
    lines += _judge_lines(view)
    lines += _baseline_lines(view, counts)
    lines += _gate_lines(view)
    return lines


def _table(view: SummaryView) -> list[str]:
    """Each dimension with its datasets under it, then overall, in aligned columns."""
    rows: list[tuple[str, ...]] = [HEAD]
    for dim, d in view.dimensions.items():
        rows.append((dim, "", "", str(d.n), score_text(d.score), _ci(d.ci), *gate_cells(dim, view), ""))
        for name, ds in sorted(view.datasets.items()):
            if ds.dimension != dim:
                continue
            note = dataset_notes(ds)
            gated = any(g.name.startswith(name) for g in view.gates)
            cells = gate_cells(name, view) if gated else ("", "", "", "")
            rows.append(
                ("", name, ds.metric, f"{ds.n}/{ds.n_items}", score_text(ds.score), _ci(ds.ci), *cells, ", ".join(note))
            )
    ov = view.overall
    rows.append(
        ("overall", "", "", str(ov.n), score_text(ov.score), _ci(ov.ci), *gate_cells("overall", view), overall_note(ov))
    )
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEAD))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def _items_line(counts: OutcomeCounts) -> str:
    n = counts.outcomes
    return (
        f"items: {counts.items} ({n['pass']} right, {n['wrong']} wrong, "
        f"{n['needs_judge']} need a judge, {n['error']} errors"
        + (f", {n['suite_error']} malformed suite lines" if n["suite_error"] else "")
        + ")"
    )


def _run_lines(run: Run, counts: OutcomeCounts) -> list[str]:
    """How the answers were got: the extractor, requests and cache, concurrency, tokens."""
    lines = []
    if counts.read_by_extractor:
        lines.append(
            f"extraction: {counts.read_by_extractor} choice replies the rules could not read were read by the "
            f"extractor model ({run.extractor}); their items say method model:…"
        )
    gen = run.generation  # the writer sums the counters, so a counter is absent or a number, never null
    lines.append(
        f"generation: {gen.requests or 0} requests sent ({gen.sent or 0} attempts), "
        f"{gen.cached or 0} from cache, {gen.errors or 0} errors"
        + (f"; model loaded in {gen.model_load_s:.1f} s" if gen.model_load_s else "")
    )
    lines += _concurrency_line(run, gen.sent or 0)
    usage: dict[str, Any] | None = {role: u.model_dump() for role, u in run.usage.items()} if run.usage else None
    return lines + usage_lines(usage)  # usage.py reads plain dicts (floor 0)


def _concurrency_line(run: Run, sent: int) -> list[str]:
    """Where the limit of requests in flight settled, whenever requests went out: one line, or none."""
    conc = run.concurrency
    if conc is None or not sent:
        return []
    if conc.timeouts is not None and conc.rate_limits is not None:
        causes = f"{conc.timeouts} timeouts, {conc.rate_limits} rate limits"
    else:  # a report from before the split: both in one count
        causes = f"{conc.overloads} timeouts or rate limits"
    if conc.adaptive:
        back = f"{conc.backoffs} back-off{'' if conc.backoffs == 1 else 's'}"
        return [
            f"concurrency: settled at {conc.final} (started {conc.configured}, lowest {conc.lowest}; {back} on {causes})"
        ]
    if run.options.fixed_concurrency:
        return [f"concurrency: fixed at {conc.configured} (--mlb-fixed-concurrency; {causes})"]
    return []  # a local model: the bound never moves


def _judge_lines(view: SummaryView) -> list[str]:
    """Two judges' agreement, and the verdicts the judge abstained on."""
    lines = []
    judges = view.run.judges
    if judges is not None and judges.questions:
        kappa = "-" if judges.kappa is None else f"{judges.kappa:.3f}"
        lines.append(
            f"judges: {judges.questions} questions judged twice, agreement {judges.agreement:.1%}, "
            f"Cohen's kappa {kappa}, {judges.disputed} disputed"
        )
    unsure = judge_uncertain_line(view)
    return lines + ([unsure] if unsure else [])


def _baseline_lines(view: SummaryView, counts: OutcomeCounts) -> list[str]:
    """Which baseline the run was compared with, on which items, and the items it got wrong since."""
    comp = view.comparison
    if comp is None or not comp.baseline:
        return []
    line = f"baseline: {comp.baseline} ({comp.baseline_model}, {comp.baseline_created})"
    if comp.baseline_selection:
        line += f"; the baseline covers a selection ({comp.baseline_selection}): compared on the shared items"
    if not comp.fingerprint_match:
        ch = comp.changes or {}
        line += (
            f"; suite changed: compared on shared items, {ch['added'].count} added, "
            f"{ch['removed'].count} removed, {ch['changed'].count} edited"
        )
    lines = [line]
    if counts.regressed:
        lines.append(f"regressed items (right in the baseline, wrong now): {counts.regressed}")
        for r in view.first_regressions:
            lines.append(f"  {r.dataset}/{r.id}: expected {short(r.expected)}, got {short(r.got)}")
        if counts.regressed > len(view.first_regressions):
            lines.append(f"  ... {counts.regressed - len(view.first_regressions)} more in the JSON report")
    return lines


def _gate_lines(view: SummaryView) -> list[str]:
    """Drop gates without a baseline, gates that failed or could not decide, and the verdict (last)."""
    lines = []
    nobase = [g for g in view.gates if gate_status(g) == "no-baseline"]
    if nobase:
        lines.append(f"drop gates not tested ({', '.join(g.name for g in nobase)}): {nobase[0].reason}")
    for g in view.gates:
        status = gate_status(g)
        if status in ("fail", "insufficient", "inconclusive"):
            lines.append(f"gate {status.upper() if status == 'fail' else status}: {g.name}: {g.reason}")
    failed = [g for g in view.gates if not g.passed]
    tail = "" if view.verdict == "pass" else " (" + "; ".join(f"{g.name}: {g.reason}" for g in failed) + ")"
    if view.verdict == "error":
        tail = f" ({view.verdict_reason})"
    lines.append(f"MLB gate: {VERDICT_WORD[view.verdict]}{tail}")
    return lines


TAGS_SHOWN = 12
TAGS_PER_LINE = 4


def rubric_tag_lines(report: ReportLike) -> list[str]:
    """Under the table: each rubric dataset's per-tag sub-scores (axis tags, then theme tags, then the rest)."""
    out = []
    for name, ds in sorted(report.datasets.items()):
        tags = ds.tags or {}
        if not tags:
            continue
        order = sorted(tags, key=lambda t: (0 if t.startswith("axis:") else 1 if t.startswith("theme:") else 2, t))
        cells = [f"{t} {score_text(tags[t].score)} (n={tags[t].n})" for t in order[:TAGS_SHOWN]]
        if len(order) > TAGS_SHOWN:
            cells.append(f"… {len(order) - TAGS_SHOWN} more tags in the JSON report")
        for i in range(0, len(cells), TAGS_PER_LINE):
            lead = f"{name} tags:" if i == 0 else ""
            out.append(f"  {lead:<{len(name) + 6}} " + ", ".join(cells[i : i + TAGS_PER_LINE]))
    return out
