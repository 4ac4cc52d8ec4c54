"""The item table: regressed, red-line, critical, failed and errored items, with the filters' data."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..report_model import ItemEntry, ItemResult, RedLine, RegressedItem, Report
from .fmt import esc, text_block
from .overview import dimension_order

MAX_ITEM_ROWS = 2000  # rows of failed / regressed items; the JSON report has the rest

# Outcome categories of the item table, in order of precedence (a row's data-outcome is the first that applies).
OUTCOMES: dict[str, str] = {
    "red-line": "red line crossed",
    "regressed": "regressed (right in the baseline)",
    "error": "error",
    "suite-error": "malformed suite line",
    "critical-wrong": "critical item wrong (red line not crossed)",
    "wrong": "wrong",
}


class _Facts(BaseModel):
    """The three facts an item's categories come from, read from a script's bare item dict."""

    model_config = ConfigDict(extra="ignore")

    outcome: str | None = None
    critical: bool | None = None
    red_line: dict[str, Any] | None = None


def item_outcomes(item: ItemEntry | Mapping[str, Any], regressed: bool) -> list[str]:
    """The item's categories of the item table (empty for a right or unscored item), most serious first."""
    if isinstance(item, Mapping):
        facts = _Facts.model_validate(item)
        outcome, critical, red = facts.outcome, bool(facts.critical), bool(facts.red_line)
    else:
        outcome = item.outcome
        critical = isinstance(item, ItemResult) and item.critical
        red = isinstance(item, ItemResult) and item.red_line is not None
    tags = []
    if red:
        tags.append("red-line")
    if regressed:
        tags.append("regressed")
    if outcome == "error":
        tags.append("error")
    if outcome == "suite_error":
        tags.append("suite-error")
    if outcome == "wrong":
        if critical and not red:
            tags.append("critical-wrong")
        tags.append("wrong")
    return tags


def _verdict_lines(item: ItemResult) -> str:
    """The judge's verdicts of an item (criterion, verdict, rationale of each judge)."""
    verdicts = item.details.verdicts or []
    if not verdicts:
        return ""
    lis = []
    for v in verdicts:
        rationale = "; ".join(f"judge{n}: {text}" for n, text in (("1", v.rationale1), ("2", v.rationale2)) if text)
        lis.append(
            f'<li><b>{esc(v.verdict)}</b> <span class="muted">[{esc(v.kind)}]</span> '
            f"{esc(v.criterion)}{f'<br><i>{esc(rationale)}</i>' if rationale else ''}</li>"
        )
    return f'<details class="verdicts"><summary>judge: {len(lis)} verdicts</summary><ul>{"".join(lis)}</ul></details>'


def _prompt(item: ItemResult) -> str:
    msgs = item.messages
    if not msgs:
        return ""
    body = "".join(f'<div><span class="badge">{esc(m.role)}</span>{text_block(m.content)}</div>' for m in msgs)
    return f'<details class="prompt"><summary>prompt ({len(msgs)} message{"s" if len(msgs) != 1 else ""})</summary>{body}</details>'


def _why(it: ItemEntry, reg: RegressedItem | None) -> str:
    """Why the item is listed: the scorer's explanation, the error, the red line, the baseline's answer, the judge."""
    scored = it if isinstance(it, ItemResult) else None
    red: RedLine | None = scored.red_line if scored else None
    why = [f"<div>{esc(scored.explanation)}</div>" if scored and scored.explanation else ""]
    if it.error:
        why.append(f'<div class="status-fail">{esc(it.error)}</div>')
    if red is not None and red.description:
        why.append(f'<div class="status-fail">red line: {esc(red.description)}</div>')
    if reg is not None:
        why.append(f'<div class="muted">baseline answered: {esc(reg.baseline_got)}</div>')
    why.append(_verdict_lines(scored) if scored else "")
    return "".join(why)


def item_section(report: Report, regs: Mapping[str, RegressedItem]) -> str:
    """Regressed, red-line, critical, failed and errored items, filterable by dimension, dataset and outcome."""
    rows: list[tuple[int, str, ItemEntry, list[str]]] = []
    order = list(OUTCOMES)
    for it in report.items:
        tags = item_outcomes(it, it.key in regs)
        if tags:
            rows.append((order.index(tags[0]), it.key, it, tags))
    rows.sort(key=lambda r: (r[0], r[1]))
    total = len(rows)
    rows = rows[:MAX_ITEM_ROWS]

    def dim_of(it: ItemEntry) -> str | None:
        return it.dimension if isinstance(it, ItemResult) else None

    def select(key: str, label: str, values: Iterable[tuple[str, str]]) -> str:
        opts = "".join(f'<option value="{esc(v)}">{esc(t)}</option>' for v, t in values)
        return (
            f'<label>{esc(label)} <select class="item-filter" id="filter-{key}" data-key="{key}">'
            f'<option value="">all</option>{opts}</select></label>'
        )

    dims = [d for d in dimension_order(report) if any(dim_of(r[2]) == d for r in rows)]
    dsets = sorted({str(r[2].dataset) for r in rows})
    present = [o for o in OUTCOMES if any(o in r[3] for r in rows)]
    out = ["<h2>Items: regressed, critical, failed</h2>"]
    if not rows:
        out.append('<p class="muted" id="no-items">No regressed, failed or errored items.</p>')
        return "\n".join(out)
    out.append(
        '<div class="filters">'
        + select("dimension", "dimension", ((d, d) for d in dims))
        + select("dataset", "dataset", ((d, d) for d in dsets))
        + select("outcome", "outcome", ((o, OUTCOMES[o]) for o in present))
        + '<span id="item-count" class="muted"></span></div>'
    )
    if total > len(rows):
        out.append(
            f'<p class="muted">The first {len(rows)} of {total} items are listed (most serious first); '
            "the JSON report has them all.</p>"
        )
    out.append(
        '<table id="items"><thead><tr><th>item</th><th>dataset</th><th>outcome</th><th>expected</th>'
        "<th>response</th><th>why</th></tr></thead><tbody>"
    )
    for _, key, it, tags in rows:
        scored = it if isinstance(it, ItemResult) else None
        crit = ' <span class="badge critical">critical</span>' if scored and scored.critical else ""
        shown = [t for t in tags if t != "wrong"] or tags  # "wrong" beside "regressed" says nothing more
        badges = " ".join(f'<span class="badge {esc(t)}">{esc(OUTCOMES[t])}</span>' for t in shown)
        out.append(
            f'<tr class="item-row" data-key="{esc(key)}" data-dataset="{esc(it.dataset)}" '
            f'data-dimension="{esc(dim_of(it))}" data-outcome="{esc(tags[0])}" data-outcomes="{esc(" ".join(tags))}">'
            f'<td><code>{esc(key)}</code>{crit}<div class="muted">{esc(it.location)}</div>{_prompt(scored) if scored else ""}</td>'
            f'<td>{esc(it.dataset)}<div class="muted">{esc(dim_of(it))}</div></td>'
            f"<td>{badges}</td>"
            f"<td>{text_block(scored.expected if scored else None, 1000)}</td>"
            f"<td>{text_block(scored.response if scored else None)}</td><td>{_why(it, regs.get(key))}</td></tr>"
        )
    out.append("</tbody></table>")
    return "\n".join(out)
