"""The run as one self-contained HTML page (``--mlb-html``, ``mlb report html``).

Plain functions from the report dict (schema_version 1) to a string. The page needs nothing
from the network: CSS, the filter script and the SVG chart are written inline here, and a
Content-Security-Policy allows no fetch at all and only the page's own script (by its hash), so
a response that carries ``<script>`` is shown as text and could not run even if it slipped
through. Every value from the report is HTML-escaped.
"""

from __future__ import annotations

import base64
import hashlib
import html
import statistics as _stats
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ._atomic import write_text_atomic
from .catalog import DIMENSIONS

MAX_ITEM_ROWS = 2000  # rows of failed / regressed items; the JSON report has the rest
MAX_TEXT = 4000  # characters of one prompt or response shown; the JSON report has all of it

# Outcome categories of the item table, in order of precedence (a row's data-outcome is the first that applies).
OUTCOMES: dict[str, str] = {
    "red-line": "red line crossed",
    "regressed": "regressed (right in the baseline)",
    "error": "error",
    "suite-error": "malformed suite line",
    "critical-wrong": "critical item wrong (red line not crossed)",
    "wrong": "wrong",
}

CSS = """
:root { --pass: #1a7f37; --fail: #cf222e; --error: #9a6700; --muted: #57606a; --line: #d0d7de;
  --run: #0969da; --base: #8c959f; --bg-soft: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1400px; padding: 1rem 1.5rem 3rem; color: #1f2328; background: #fff;
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans CJK SC",
  "Noto Sans SC", "Source Han Sans SC", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei",
  "WenQuanYi Micro Hei", "Noto Sans CJK JP", sans-serif; }
h1 { font-size: 1.5rem; margin: .5rem 0; } h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; border-bottom: 1px solid var(--line); }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Noto Sans Mono CJK SC", monospace; font-size: 12.5px; }
.verdict { padding: .75rem 1rem; border-radius: 6px; color: #fff; }
.verdict.pass { background: var(--pass); } .verdict.fail { background: var(--fail); } .verdict.error { background: var(--error); }
.verdict .word { font-size: 1.4rem; font-weight: 700; margin-right: .75rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: var(--bg-soft); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.dim-row td { background: #eef3fb; font-weight: 600; } tr.overall-row td { font-weight: 700; border-top: 2px solid var(--line); }
.status-pass { color: var(--pass); font-weight: 600; } .status-fail { color: var(--fail); font-weight: 700; }
.status-other { color: var(--muted); }
.badge { display: inline-block; padding: 0 .4rem; border-radius: 4px; font-size: 12px; background: var(--bg-soft);
  border: 1px solid var(--line); white-space: nowrap; }
.badge.red-line, .badge.regressed, .badge.critical-wrong { background: #ffebe9; border-color: #ff8182; }
.badge.error, .badge.suite-error { background: #fff8c5; border-color: #d4a72c; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; max-height: 16rem; overflow: auto; margin: 0; }
.muted { color: var(--muted); }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .5rem 0; }
dl.kv dt { color: var(--muted); } dl.kv dd { margin: 0; overflow-wrap: anywhere; }
.filters { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; margin: .5rem 0; }
.filters label { display: flex; gap: .4rem; align-items: center; }
tr.item-row[hidden] { display: none; }
details > summary { cursor: pointer; color: var(--run); }
.chart { max-width: 760px; } .chart text { font-size: 12px; fill: #1f2328; }
.chart .axis { stroke: #8c959f; } .chart .grid { stroke: #eaeef2; }
.dim-bar { fill: var(--run); } .base-bar { fill: var(--base); } .chart .ci { stroke: #1f2328; stroke-width: 1.5; }
.legend-run { fill: var(--run); } .legend-base { fill: var(--base); }
"""

# The item filter: each <select> names the data-* attribute it matches; rows that miss any choice are hidden.
JS = """
(function () {
  var selects = Array.prototype.slice.call(document.querySelectorAll('select.item-filter'));
  var rows = Array.prototype.slice.call(document.querySelectorAll('tr.item-row'));
  var count = document.getElementById('item-count');
  function matches(row, key, want) {
    if (!want) { return true; }
    if (key === 'outcome') {
      return (row.getAttribute('data-outcomes') || row.getAttribute('data-outcome') || '').split(' ').indexOf(want) >= 0;
    }
    return row.getAttribute('data-' + key) === want;
  }
  function apply() {
    var shown = 0;
    rows.forEach(function (row) {
      var ok = selects.every(function (s) { return matches(row, s.getAttribute('data-key'), s.value); });
      row.hidden = !ok;
      if (ok) { shown += 1; }
    });
    if (count) { count.textContent = shown + ' of ' + rows.length + ' items shown'; }
  }
  selects.forEach(function (s) { s.addEventListener('change', apply); });
  apply();
}());
"""


def _e(value: Any) -> str:
    """HTML-escaped text of any value (quotes too, so it is safe in attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def _num(x: Any, signed: bool = False) -> str:
    if not isinstance(x, (int, float)) or isinstance(x, bool):
        return "–"
    x = round(float(x), 3) + 0.0
    return f"{x:+.3f}" if signed else f"{x:.3f}"


def _ci(ci: Any) -> str:
    return "–" if not ci or ci[0] is None or ci[1] is None else f"{ci[0]:.3f}–{ci[1]:.3f}"


def _p(x: Any) -> str:
    return "–" if not isinstance(x, (int, float)) else f"{x:.3g}"


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    """A long value as escaped, wrapped text, cut at ``limit`` characters with a note."""
    if value is None:
        return '<span class="muted">–</span>'
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        text = ", ".join(value)
    elif isinstance(value, str):
        text = value
    else:
        import json

        text = json.dumps(value, ensure_ascii=False, default=str)
    cut = ""
    if len(text) > limit:
        cut = f'<span class="muted"> … ({len(text) - limit:,} more characters in the JSON report)</span>'
        text = text[:limit]
    return f'<pre class="text">{_e(text)}{cut}</pre>'


def baseline_item_map(baseline: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per-item rows of a baseline file or of another JSON report, keyed as comparisons read them."""
    items = baseline.get("items") or {}
    if isinstance(items, Mapping):  # a baseline file: tp/fp/fn stored beside the score
        out = {}
        for key, v in items.items():
            row = dict(v)
            row.setdefault("details", {k: v[k] for k in ("tp", "fp", "fn") if k in v})
            out[str(key)] = row
        return out
    return {str(r["key"]): dict(r) for r in items if r.get("outcome") != "suite_error"}


def differences(report: Mapping[str, Any], baseline: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Baseline vs this run per dataset, dimension and overall, on shared items.

    Without ``baseline`` only the targets the run's own gates compared are known (from
    ``comparison.differences``); with it every other target is compared by the gates' own paired
    tests (all of them when it is not the baseline the run was compared with).
    """
    comp = report.get("comparison") or {}
    known = {k: dict(v) for k, v in (comp.get("differences") or {}).items()}
    if baseline is None:
        return known
    from .gates import Policy, Rule, evaluate

    same = comp.get("baseline_created") == baseline.get("created") and comp.get("baseline_model") == baseline.get("model")
    if not same:  # another baseline than the run's own: compare everything afresh
        known = {}
    targets = [t for t in (*report["datasets"], *report["dimensions"], "overall") if t not in known]
    if targets:
        policy = Policy([Rule(t, "drop", 1.0, f"{t}:drop<=1") for t in targets], min_shared=1)
        result = evaluate(policy, report, baseline_item_map(baseline))
        known.update({k: dict(d.__dict__) for k, d in result.differences.items()})
    return known


def regressed_keys(report: Mapping[str, Any], baseline: Mapping[str, Any] | None) -> dict[str, Any]:
    """Items right in the baseline and wrong now, keyed, with the baseline's answer."""
    if baseline is None:
        regs = (report.get("comparison") or {}).get("regressions") or []
    else:
        from .gates import regressed_items

        regs = regressed_items([r for r in report["items"] if r.get("outcome") != "suite_error"],
                               baseline_item_map(baseline))
    return {str(r["key"]): r for r in regs}


def item_outcomes(item: Mapping[str, Any], regressed: bool) -> list[str]:
    """The item's categories of the item table (empty for a right or unscored item), most serious first."""
    tags = []
    if item.get("red_line"):
        tags.append("red-line")
    if regressed:
        tags.append("regressed")
    outcome = item.get("outcome")
    if outcome == "error":
        tags.append("error")
    if outcome == "suite_error":
        tags.append("suite-error")
    if outcome == "wrong":
        if item.get("critical") and not item.get("red_line"):
            tags.append("critical-wrong")
        tags.append("wrong")
    return tags


def _gate_target(name: str) -> str:
    return name.split(":")[0].split(">=")[0]


def _gate_cell(target: str, gates: Sequence[Mapping[str, Any]]) -> str:
    mine = [g for g in gates if _gate_target(str(g["name"])) == target]
    if not mine:
        return ""
    statuses = [str(g["status"]) for g in mine]
    word = "fail" if "fail" in statuses else ("pass" if "pass" in statuses else statuses[0])
    adj = next((g["p_adjusted"] for g in mine if g.get("p_adjusted") is not None), None)
    title = "; ".join(f"{g['name']}: {g['reason']}" for g in mine)
    css = "status-fail" if word == "fail" else ("status-pass" if word == "pass" else "status-other")
    extra = f' <span class="muted">Holm p {_p(adj)}</span>' if adj is not None else ""
    return f'<span class="{css}" title="{_e(title)}">{_e(word.upper() if word in ("pass", "fail") else word)}</span>{extra}'


def verdict_section(report: Mapping[str, Any]) -> str:
    """The verdict banner and every gate with its reason."""
    v = str(report.get("verdict", "error"))
    word = {"pass": "PASS", "fail": "FAIL", "error": "ERROR"}.get(v, v.upper())
    out = [f'<div class="verdict {_e(v)}" id="verdict" data-verdict="{_e(v)}"><span class="word">MLB gate: {_e(word)}</span>'
           f'{_e(report.get("verdict_reason", ""))}</div>', "<h2>Gates</h2>",
           '<table id="gates"><thead><tr><th>gate</th><th>status</th><th class="num">observed</th>'
           '<th class="num">threshold</th><th class="num">baseline</th><th class="num">delta</th>'
           '<th class="num">p (Holm)</th><th>reason</th></tr></thead><tbody>']
    for g in report.get("gates") or []:
        status = str(g.get("status") or ("pass" if g.get("passed") else "fail"))
        css = "status-fail" if not g.get("passed") else ("status-pass" if status == "pass" else "status-other")
        p = g.get("p_adjusted") if g.get("p_adjusted") is not None else g.get("p_value")
        count = ">=" not in str(g["name"]) and ":drop" not in str(g["name"]) and all(
            isinstance(x, float) and x.is_integer() for x in (g.get("observed"), g.get("threshold")))
        fmt = (lambda x: _e(int(x))) if count else _num  # counts of items and lines, not scores
        out.append(f'<tr class="gate-row" data-status="{_e(status)}"><td><code>{_e(g["name"])}</code></td>'
                   f'<td class="{css}">{_e(status)}</td><td class="num">{fmt(g.get("observed"))}</td>'
                   f'<td class="num">{fmt(g.get("threshold"))}</td><td class="num">{_num(g.get("baseline"))}</td>'
                   f'<td class="num">{_num(g.get("delta"), signed=True)}</td><td class="num">{_p(p)}</td>'
                   f'<td>{_e(g.get("reason"))}</td></tr>')
    out.append("</tbody></table>")
    return "\n".join(out)


def _dimension_order(report: Mapping[str, Any]) -> list[str]:
    known = [d.value for d in DIMENSIONS]
    return known + [d for d in report["dimensions"] if d not in known]


def chart_svg(report: Mapping[str, Any], baseline: Mapping[str, Any] | None,
              diffs: Mapping[str, Mapping[str, Any]]) -> str:
    """Bars of the five dimension scores (this run, and the baseline beside it) with 95% whiskers.

    One ``rect.dim-bar`` per dimension of this run (height 0 when it has no score). Baseline bars
    use the baseline's stored scores and intervals, else the run's comparison on shared items.
    """
    dims = _dimension_order(report)
    base_dims = (baseline or {}).get("dimensions") or {}
    has_base = bool(base_dims) or any(d in diffs for d in dims)
    w, h, left, right, top, bottom = 720, 300, 44, 12, 28, 48
    plot_w, plot_h = w - left - right, h - top - bottom
    slot = plot_w / len(dims)
    bar = slot * (0.32 if has_base else 0.5)

    def y(v: float) -> float:
        return top + plot_h * (1 - max(0.0, min(1.0, v)))

    parts = [f'<svg class="chart" id="dimension-chart" viewBox="0 0 {w} {h}" width="100%" role="img" '
             f'xmlns="http://www.w3.org/2000/svg" aria-label="dimension scores with 95% intervals">']
    for t in (0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<line class="grid" x1="{left}" x2="{w - right}" y1="{y(t):.1f}" y2="{y(t):.1f}"/>'
                     f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end">{t:.2f}</text>')
    parts.append(f'<line class="axis" x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}"/>'
                 f'<line class="axis" x1="{left}" x2="{w - right}" y1="{top + plot_h}" y2="{top + plot_h}"/>')

    def whisker(cx: float, ci: Any) -> str:
        if not ci or ci[0] is None or ci[1] is None:
            return ""
        lo, hi = y(ci[0]), y(ci[1])
        return (f'<line class="ci" x1="{cx:.1f}" x2="{cx:.1f}" y1="{lo:.1f}" y2="{hi:.1f}"/>'
                f'<line class="ci" x1="{cx - 5:.1f}" x2="{cx + 5:.1f}" y1="{lo:.1f}" y2="{lo:.1f}"/>'
                f'<line class="ci" x1="{cx - 5:.1f}" x2="{cx + 5:.1f}" y1="{hi:.1f}" y2="{hi:.1f}"/>')

    for i, dim in enumerate(dims):
        x0 = left + i * slot
        cx = x0 + slot / 2
        parts.append(f'<text x="{cx:.1f}" y="{top + plot_h + 18}" text-anchor="middle">{_e(dim)}</text>')
        d = report["dimensions"].get(dim)
        bx = cx - bar - 2 if has_base else cx - bar / 2
        if d is None:
            parts.append(f'<text x="{cx:.1f}" y="{top + plot_h - 6}" text-anchor="middle" class="muted">not in this run</text>')
        else:
            score = d.get("score")
            top_y = y(score) if isinstance(score, (int, float)) else y(0)
            tip = f"{dim}: {_num(score)} (95% CI {_ci(d.get('ci'))}, n={d.get('n')})"
            parts.append(f'<rect class="dim-bar" data-dimension="{_e(dim)}" data-score="{_e(score)}" x="{bx:.1f}" '
                         f'y="{top_y:.1f}" width="{bar:.1f}" height="{top + plot_h - top_y:.1f}"><title>{_e(tip)}</title></rect>')
            parts.append(whisker(bx + bar / 2, d.get("ci")))
            label = _num(score) if isinstance(score, (int, float)) else "no score"
            ci = d.get("ci")
            label_y = min(top_y, y(ci[1]) if ci and isinstance(ci[1], (int, float)) else top_y) - 5
            parts.append(f'<text x="{bx + bar / 2:.1f}" y="{label_y:.1f}" text-anchor="middle">{_e(label)}</text>')
        if has_base:
            b = base_dims.get(dim) or {}
            bscore, bci = b.get("score"), b.get("ci")
            if bscore is None and dim in diffs:
                bscore, bci = diffs[dim].get("baseline"), None
            if isinstance(bscore, (int, float)):
                bx2 = cx + 2
                tip = f"{dim} baseline: {_num(bscore)}" + (f" (95% CI {_ci(bci)})" if bci else " (on shared items)")
                parts.append(f'<rect class="base-bar" data-dimension="{_e(dim)}" x="{bx2:.1f}" y="{y(bscore):.1f}" '
                             f'width="{bar:.1f}" height="{top + plot_h - y(bscore):.1f}"><title>{_e(tip)}</title></rect>')
                parts.append(whisker(bx2 + bar / 2, bci))
    ly = h - 12
    parts.append(f'<rect class="legend-run" x="{left}" y="{ly - 9}" width="10" height="10"/>'
                 f'<text x="{left + 14}" y="{ly}">this run</text>')
    if has_base:
        parts.append(f'<rect class="legend-base" x="{left + 90}" y="{ly - 9}" width="10" height="10"/>'
                     f'<text x="{left + 104}" y="{ly}">baseline</text>')
    parts.append(f'<text x="{left + 190}" y="{ly}" class="muted">whiskers: 95% intervals</text></svg>')
    return "".join(parts)


def dataset_table(report: Mapping[str, Any], diffs: Mapping[str, Mapping[str, Any]]) -> str:
    """Dimensions with their datasets, then overall: metric, n, score, interval, baseline, delta, p, gate."""
    gates = report.get("gates") or []
    head = ('<table id="datasets"><thead><tr><th>dimension / dataset</th><th>metric</th><th class="num">n</th>'
            '<th class="num">score</th><th class="num">95% CI</th><th class="num">baseline</th><th class="num">delta</th>'
            '<th class="num" title="paired test on the items both runs share (exact McNemar or randomisation), '
            'not adjusted; the gate column gives the Holm-adjusted p of gated targets">p</th><th>gate</th><th>note</th>'
            '</tr></thead><tbody>')
    rows = [head]

    def cells(name: str, n: Any, score: Any, ci: Any) -> str:
        d = diffs.get(name) or {}
        delta = None if d.get("drop") is None else -float(d["drop"])
        shared = f' title="on {d["n_shared"]} shared items"' if d.get("n_shared") is not None else ""
        return (f'<td class="num">{_e(n)}</td><td class="num">{_num(score)}</td><td class="num">{_ci(ci)}</td>'
                f'<td class="num"{shared}>{_num(d.get("baseline"))}</td><td class="num"{shared}>{_num(delta, signed=True)}</td>'
                f'<td class="num">{_p(d.get("p_value"))}</td><td>{_gate_cell(name, gates)}</td>')

    datasets = report["datasets"]
    for dim in _dimension_order(report):
        d = report["dimensions"].get(dim)
        if d is None:
            continue
        rows.append(f'<tr class="dim-row" data-dimension="{_e(dim)}"><td>{_e(dim)}</td><td></td>'
                    f'{cells(dim, d.get("n"), d.get("score"), d.get("ci"))}<td></td></tr>')
        for name in sorted(n for n, ds in datasets.items() if ds.get("dimension") == dim):
            ds = datasets[name]
            note = []
            if ds.get("status") == "needs_judge":
                note.append(f"needs a judge ({ds.get('needs_judge')} items)")
            elif ds.get("needs_judge"):
                note.append(f"{ds['needs_judge']} need a judge")
            if ds.get("errors"):
                note.append(f"{ds['errors']} errors")
            if ds.get("judge_uncertain"):
                note.append(f"{ds['judge_uncertain']} uncertain judge verdicts")
            extra = {k: v for k, v in ds.items() if k in ("circular", "worst") or k.startswith("flip")}
            note += [f"{k} {_num(v) if isinstance(v, (int, float)) else v}" for k, v in extra.items()]
            n = f"{ds.get('n')}/{ds.get('n_items')}" if ds.get("n_items") is not None else ds.get("n")
            rows.append(f'<tr class="dataset-row" data-dataset="{_e(name)}" data-dimension="{_e(dim)}">'
                        f'<td>&nbsp;&nbsp;{_e(name)}</td><td>{_e(ds.get("metric"))}</td>'
                        f'{cells(name, n, ds.get("score"), ds.get("ci"))}<td>{_e(", ".join(note))}</td></tr>')
    others = sorted(n for n, ds in datasets.items() if ds.get("dimension") not in report["dimensions"])
    for name in others:  # datasets of a dimension without a dimension row (nothing scored there)
        ds = datasets[name]
        rows.append(f'<tr class="dataset-row" data-dataset="{_e(name)}" data-dimension="{_e(ds.get("dimension"))}">'
                    f'<td>{_e(name)} <span class="muted">({_e(ds.get("dimension"))})</span></td><td>{_e(ds.get("metric"))}</td>'
                    f'{cells(name, ds.get("n"), ds.get("score"), ds.get("ci"))}<td></td></tr>')
    ov = report.get("overall") or {}
    partial = ("partial: " + ", ".join(ov["missing"]) + " unscored") if ov.get("missing") else ("partial" if ov.get("partial") else "")
    rows.append(f'<tr class="overall-row"><td>overall</td><td></td>{cells("overall", ov.get("n"), ov.get("score"), ov.get("ci"))}'
                f'<td>{_e(partial)}</td></tr></tbody></table>')
    return "\n".join(rows)


def _verdict_lines(item: Mapping[str, Any]) -> str:
    """The judge's verdicts of an item (criterion, verdict, rationale of each judge)."""
    verdicts = (item.get("details") or {}).get("verdicts") or []
    if not verdicts:
        return ""
    lis = []
    for v in verdicts:
        if not isinstance(v, Mapping):
            continue
        rationale = "; ".join(f"judge{n}: {v[f'rationale{n}']}" for n in ("1", "2") if v.get(f"rationale{n}"))
        lis.append(f'<li><b>{_e(v.get("verdict"))}</b> <span class="muted">[{_e(v.get("kind"))}]</span> '
                   f'{_e(v.get("criterion"))}{f"<br><i>{_e(rationale)}</i>" if rationale else ""}</li>')
    return f'<details class="verdicts"><summary>judge: {len(lis)} verdicts</summary><ul>{"".join(lis)}</ul></details>'


def _prompt(item: Mapping[str, Any]) -> str:
    msgs = item.get("messages") or []
    if not msgs:
        return ""
    body = "".join(f'<div><span class="badge">{_e(m.get("role"))}</span>{_text(m.get("content"))}</div>'
                   for m in msgs if isinstance(m, Mapping))
    return f'<details class="prompt"><summary>prompt ({len(msgs)} message{"s" if len(msgs) != 1 else ""})</summary>{body}</details>'


def item_section(report: Mapping[str, Any], baseline: Mapping[str, Any] | None) -> str:
    """Regressed, red-line, critical, failed and errored items, filterable by dimension, dataset and outcome."""
    regs = regressed_keys(report, baseline)
    rows: list[tuple[int, str, Mapping[str, Any], list[str]]] = []
    order = list(OUTCOMES)
    for it in report.get("items") or []:
        tags = item_outcomes(it, str(it.get("key")) in regs)
        if tags:
            rows.append((order.index(tags[0]), str(it.get("key")), it, tags))
    rows.sort(key=lambda r: (r[0], r[1]))
    total = len(rows)
    rows = rows[:MAX_ITEM_ROWS]

    def select(key: str, label: str, values: Iterable[tuple[str, str]]) -> str:
        opts = "".join(f'<option value="{_e(v)}">{_e(t)}</option>' for v, t in values)
        return (f'<label>{_e(label)} <select class="item-filter" id="filter-{key}" data-key="{key}">'
                f'<option value="">all</option>{opts}</select></label>')

    dims = [d for d in _dimension_order(report) if any(r[2].get("dimension") == d for r in rows)]
    dsets = sorted({str(r[2].get("dataset")) for r in rows})
    present = [o for o in OUTCOMES if any(o in r[3] for r in rows)]
    out = ["<h2>Items: regressed, critical, failed</h2>"]
    if not rows:
        out.append('<p class="muted" id="no-items">No regressed, failed or errored items.</p>')
        return "\n".join(out)
    out.append('<div class="filters">' + select("dimension", "dimension", ((d, d) for d in dims))
               + select("dataset", "dataset", ((d, d) for d in dsets))
               + select("outcome", "outcome", ((o, OUTCOMES[o]) for o in present))
               + '<span id="item-count" class="muted"></span></div>')
    if total > len(rows):
        out.append(f'<p class="muted">The first {len(rows)} of {total} items are listed (most serious first); '
                   'the JSON report has them all.</p>')
    out.append('<table id="items"><thead><tr><th>item</th><th>dataset</th><th>outcome</th><th>expected</th>'
               '<th>response</th><th>why</th></tr></thead><tbody>')
    for _, key, it, tags in rows:
        reg = regs.get(key) or {}
        why = [f"<div>{_e(it.get('explanation'))}</div>" if it.get("explanation") else ""]
        if it.get("error"):
            why.append(f'<div class="status-fail">{_e(it["error"])}</div>')
        red = it.get("red_line")
        if isinstance(red, Mapping) and red.get("description"):
            why.append(f'<div class="status-fail">red line: {_e(red["description"])}</div>')
        if reg:
            why.append(f'<div class="muted">baseline answered: {_e(reg.get("baseline_got"))}</div>')
        why.append(_verdict_lines(it))
        crit = ' <span class="badge critical">critical</span>' if it.get("critical") else ""
        shown = [t for t in tags if t != "wrong"] or tags  # "wrong" beside "regressed" says nothing more
        badges = " ".join(f'<span class="badge {_e(t)}">{_e(OUTCOMES[t])}</span>' for t in shown)
        out.append(
            f'<tr class="item-row" data-key="{_e(key)}" data-dataset="{_e(it.get("dataset"))}" '
            f'data-dimension="{_e(it.get("dimension"))}" data-outcome="{_e(tags[0])}" data-outcomes="{_e(" ".join(tags))}">'
            f'<td><code>{_e(key)}</code>{crit}<div class="muted">{_e(it.get("location"))}</div>{_prompt(it)}</td>'
            f'<td>{_e(it.get("dataset"))}<div class="muted">{_e(it.get("dimension"))}</div></td>'
            f'<td>{badges}</td>'
            f'<td>{_text(it.get("expected"), 1000)}</td><td>{_text(it.get("response"))}</td><td>{"".join(why)}</td></tr>')
    out.append("</tbody></table>")
    return "\n".join(out)


def _kv(pairs: Iterable[tuple[str, Any]]) -> str:
    body = "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in pairs if v not in (None, ""))
    return f'<dl class="kv">{body}</dl>'


def _duration(started: Any, ended: Any) -> str | None:
    import datetime as dt

    try:
        s = (dt.datetime.fromisoformat(str(ended)) - dt.datetime.fromisoformat(str(started))).total_seconds()
    except ValueError:
        return None
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min"


def token_usage(report: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Token use per role (model, judges) as the report holds it: ``run.usage`` / ``run.tokens``,
    else summed from the items' ``usage``."""
    run = report["run"]
    stated = run.get("usage") or run.get("tokens") or run.get("token_usage")
    out: dict[str, dict[str, float]] = {}
    if isinstance(stated, Mapping):
        for role, counts in stated.items():
            if isinstance(counts, Mapping):
                out[str(role)] = {str(k): v for k, v in counts.items() if isinstance(v, (int, float))}
            elif isinstance(counts, (int, float)):
                out.setdefault("run", {})[str(role)] = counts
        return out
    for it in report.get("items") or []:
        usage = it.get("usage")
        if isinstance(usage, Mapping):
            row = out.setdefault("model", {})
            for k, v in usage.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    row[str(k)] = row.get(str(k), 0) + v
    return out


def _count(x: float) -> str:
    """A token count as 1,234; a duration such as wall_s keeps a decimal."""
    return f"{x:,.1f}" if isinstance(x, float) and not x.is_integer() else f"{x:,.0f}"


def run_section(report: Mapping[str, Any]) -> str:
    """Model, revision, judges, suite fingerprint, completeness, timings, generation and token use."""
    run = report["run"]
    rev = run.get("revision") or {}

    def revision(role: str) -> str | None:
        r = rev.get(role) if isinstance(rev, Mapping) else None
        if not isinstance(r, Mapping) or not r.get("revision"):
            return None
        fp = f" · system_fingerprint {', '.join(r['system_fingerprints'])}" if r.get("system_fingerprints") else ""
        return f"<code>{_e(r['revision'])}</code> <span class=\"muted\">({_e(r.get('source'))}{_e(fp)})</span>"

    complete = run.get("complete")
    completeness = None if complete is None else ("complete" if complete else f"INCOMPLETE: {run.get('incomplete_reason')}")
    lat = [float(it["latency_s"]) for it in report.get("items") or [] if isinstance(it.get("latency_s"), (int, float))]
    latency = None
    if lat:
        lat.sort()
        p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))]
        latency = f"median {_stats.median(lat):.2f} s, p95 {p95:.2f} s, max {lat[-1]:.2f} s ({len(lat)} answers)"
    gen = run.get("generation") or {}
    generation = None
    if gen:
        generation = (f"{gen.get('requests', 0)} requests ({gen.get('sent', 0)} attempts), {gen.get('cached', 0)} from the cache, "
                      f"{gen.get('errors', 0)} errors, {gen.get('processes', 1)} process(es)"
                      + (f"; model loaded in {gen['model_load_s']:.1f} s" if gen.get("model_load_s") else ""))
    judges = run.get("judges") or {}
    agreement = None
    if judges.get("questions"):
        kappa = "–" if judges.get("kappa") is None else f"{judges['kappa']:.3f}"
        agreement = (f"{judges['questions']} questions judged twice, agreement {judges.get('agreement', 0):.1%}, "
                     f"Cohen's kappa {kappa}, {judges.get('disputed')} disputed")
    unsure = run.get("judge_uncertain") or {}
    uncertain = None
    if unsure.get("uncertain"):
        uncertain = f"{unsure['uncertain']} of {unsure['verdicts']} verdicts uncertain, review file {unsure.get('review_file')}"
    items = report.get("items") or []
    counts: dict[str, int] = {}
    for it in items:
        counts[str(it.get("outcome"))] = counts.get(str(it.get("outcome")), 0) + 1
    pairs: list[tuple[str, Any]] = [
        ("model", f"<code>{_e(run.get('model'))}</code>"), ("model revision", revision("model")),
        ("judge", f"<code>{_e(run['judge'])}</code>" if run.get("judge") else '<span class="muted">none</span>'),
        ("judge revision", revision("judge")),
        ("second judge", f"<code>{_e(run['judge2'])}</code>" if run.get("judge2") else None),
        ("second judge revision", revision("judge2")),
        ("extractor", f"<code>{_e(run['extractor'])}</code>" if run.get("extractor") else None),
        ("judge agreement", _e(agreement) if agreement else None), ("uncertain verdicts", _e(uncertain) if uncertain else None),
        ("suite fingerprint", f"<code>{_e(run.get('suite_fingerprint'))}</code>"),
        ("completeness", _e(completeness) if completeness else None),
        ("items", _e(f"{len(items)}: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))),
        ("started", _e(run.get("started"))), ("ended", _e(run.get("ended"))),
        ("duration", _e(_duration(run.get("started"), run.get("ended")))),
        ("latency", _e(latency) if latency else None), ("generation", _e(generation) if generation else None),
        ("run id", _e(run.get("run_id"))), ("plugin version", _e(run.get("plugin_version"))),
        ("python", _e(run.get("python"))),
    ]
    usage = token_usage(report)
    tokens = ""
    if usage:
        keys = list(dict.fromkeys(k for counts in usage.values() for k in counts))  # the report's order
        tokens = ('<h3>Token use</h3><table id="tokens"><thead><tr><th>role</th>'
                  + "".join(f'<th class="num">{_e(k)}</th>' for k in keys) + "</tr></thead><tbody>"
                  + "".join(f"<tr><td>{_e(role)}</td>" + "".join(
                      f'<td class="num">{_e(_count(c[k]) if k in c else "–")}</td>' for k in keys) + "</tr>"
                            for role, c in usage.items()) + "</tbody></table>")
    comp = report.get("comparison") or {}
    base = ""
    if comp.get("baseline"):
        ch = comp.get("changes") or {}
        changes = ", ".join(f"{(ch.get(k) or {}).get('count', 0)} {k}" for k in ("added", "removed", "changed"))
        base = "<h3>Baseline</h3>" + _kv([
            ("file", f"<code>{_e(comp['baseline'])}</code>"), ("model", _e(comp.get("baseline_model"))),
            ("created", _e(comp.get("baseline_created"))),
            ("suite", _e("same fingerprint" if comp.get("fingerprint_match") else f"changed: {changes}")),
            ("selection", _e(comp.get("baseline_selection"))),
            ("policy", _e(", ".join(comp.get("policy") or []))), ("alpha", _e(comp.get("alpha"))),
        ])
    options = run.get("options") or {}
    opts = ""
    if options:
        opts = ('<details><summary>options</summary>'
                + _kv((k, f"<code>{_e(v)}</code>") for k, v in options.items() if v not in (None, False, [], ""))
                + "</details>")
    return "<h2>Run</h2>" + _kv(pairs) + tokens + base + opts


def html_report(report: Mapping[str, Any], baseline: Mapping[str, Any] | None = None,
                title: str | None = None) -> str:
    """The whole page. ``baseline``: a baseline file's data or another JSON report to compare with
    (by default, only the comparison the report itself holds)."""
    diffs = differences(report, baseline)
    digest = base64.b64encode(hashlib.sha256(JS.encode("utf-8")).digest()).decode("ascii")
    csp = f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{digest}'"
    run = report["run"]
    word = {"pass": "PASS", "fail": "FAIL", "error": "ERROR"}.get(str(report.get("verdict")), "?")
    title = title or f"MLB {word}: {run.get('model')}"
    base_note = ""
    if baseline is not None:
        base_model = baseline.get("model") or (baseline.get("run") or {}).get("model")
        base_note = (f'<p class="muted">Compared with the baseline of {_e(base_model)} '
                     f'({_e(baseline.get("created") or (baseline.get("run") or {}).get("ended"))}) on the items both runs share.</p>')
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">',  # our own text: no double quote in it
        '<meta name="viewport" content="width=device-width, initial-scale=1">', '<link rel="icon" href="data:,">',
        f"<title>{_e(title)}</title>", f"<style>{CSS}</style>", "</head>", "<body>",
        f"<h1>MLB report · <code>{_e(run.get('model'))}</code></h1>",
        verdict_section(report),
        "<h2>Dimensions</h2>", base_note, chart_svg(report, baseline, diffs),
        "<h2>Datasets</h2>", dataset_table(report, diffs),
        item_section(report, baseline),
        run_section(report),
        f'<p class="muted">mlb-pytest {_e(run.get("plugin_version"))} · report schema {_e(report.get("schema_version"))}'
        f' · intervals: {_e((report.get("ci_method") or {}).get("dataset", ""))}</p>',
        f"<script>{JS}</script>", "</body>", "</html>", ""])


def write_html(path: Path, report: Mapping[str, Any], baseline: Mapping[str, Any] | None = None) -> None:
    """Write the page atomically (parent folders created), readable by others as a plain file would be."""
    write_text_atomic(path, html_report(report, baseline))
    path.chmod(0o644)  # the atomic write's temp file is private (0600); a report page is meant to be shared
