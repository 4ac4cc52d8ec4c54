"""The top of the page: the verdict and its gates, the dimension chart, the dataset table."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from ..catalog import DIMENSIONS
from ..report_model import Difference, Gate, Interval, Report
from ..report_text import dataset_notes, gate_status, gate_target, overall_note, robustness_lines
from .fmt import esc, interval, num, p_text
from .inputs import Baseline, dimension


def dimension_order(report: Report) -> list[str]:
    """The five dimensions in the catalog's order, then any other the report names."""
    known = [d.value for d in DIMENSIONS]
    return known + [d for d in report.dimensions if d not in known]


def _gate_cell(target: str, gates: Sequence[Gate]) -> str:
    mine = [g for g in gates if gate_target(g.name) == target]
    if not mine:
        return ""
    statuses = [gate_status(g) for g in mine]
    word = "fail" if "fail" in statuses else ("pass" if "pass" in statuses else statuses[0])
    adj = next((g.p_adjusted for g in mine if g.p_adjusted is not None), None)
    title = "; ".join(f"{g.name}: {g.reason}" for g in mine)
    css = "status-fail" if word == "fail" else ("status-pass" if word == "pass" else "status-other")
    extra = f' <span class="muted">Holm p {p_text(adj)}</span>' if adj is not None else ""
    return f'<span class="{css}" title="{esc(title)}">{esc(word.upper() if word in ("pass", "fail") else word)}</span>{extra}'


def verdict_section(report: Report) -> str:
    """The verdict banner and every gate with its reason."""
    v = report.verdict
    word = {"pass": "PASS", "fail": "FAIL", "error": "ERROR"}.get(v, v.upper())
    out = [
        f'<div class="verdict {esc(v)}" id="verdict" data-verdict="{esc(v)}"><span class="word">MLB gate: {esc(word)}</span>'
        f"{esc(report.verdict_reason)}</div>",
        "<h2>Gates</h2>",
        '<table id="gates"><thead><tr><th>gate</th><th>status</th><th class="num">observed</th>'
        '<th class="num">threshold</th><th class="num">baseline</th><th class="num">delta</th>'
        '<th class="num">p (Holm)</th><th>reason</th></tr></thead><tbody>',
    ]
    for g in report.gates:
        status = gate_status(g)
        css = "status-fail" if not g.passed else ("status-pass" if status == "pass" else "status-other")
        p = g.p_adjusted if g.p_adjusted is not None else g.p_value
        count = (
            ">=" not in g.name
            and ":drop" not in g.name
            and all(isinstance(x, float) and x.is_integer() for x in (g.observed, g.threshold))
        )
        fmt: Callable[[float | None], str] = (lambda x: esc(int(x or 0))) if count else num  # counts, not scores
        out.append(
            f'<tr class="gate-row" data-status="{esc(status)}"><td><code>{esc(g.name)}</code></td>'
            f'<td class="{css}">{esc(status)}</td><td class="num">{fmt(g.observed)}</td>'
            f'<td class="num">{fmt(g.threshold)}</td><td class="num">{num(g.baseline)}</td>'
            f'<td class="num">{num(g.delta, signed=True)}</td><td class="num">{p_text(p)}</td>'
            f"<td>{esc(g.reason)}</td></tr>"
        )
    out.append("</tbody></table>")
    robust = robustness_lines(report)
    if robust:
        out.append('<ul id="robustness">' + "".join(f"<li>{esc(line)}</li>" for line in robust) + "</ul>")
    return "\n".join(out)


def chart_svg(report: Report, baseline: Baseline | None, diffs: Mapping[str, Difference]) -> str:
    """Bars of the five dimension scores (this run, and the baseline beside it) with 95% whiskers.

    One ``rect.dim-bar`` per dimension of this run (height 0 when it has no score). Baseline bars
    use the baseline's stored scores and intervals, else the run's comparison on shared items.
    """
    dims = dimension_order(report)
    base_dims = baseline.dimensions if baseline else {}
    has_base = bool(base_dims) or any(d in diffs for d in dims)
    w, h, left, right, top, bottom = 720, 300, 44, 12, 28, 48
    plot_w, plot_h = w - left - right, h - top - bottom
    slot = plot_w / len(dims)
    bar = slot * (0.32 if has_base else 0.5)

    def y(v: float) -> float:
        return top + plot_h * (1 - max(0.0, min(1.0, v)))

    parts = [
        f'<svg class="chart" id="dimension-chart" viewBox="0 0 {w} {h}" width="100%" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="dimension scores with 95% intervals">'
    ]
    for t in (0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<line class="grid" x1="{left}" x2="{w - right}" y1="{y(t):.1f}" y2="{y(t):.1f}"/>'
            f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end">{t:.2f}</text>'
        )
    parts.append(
        f'<line class="axis" x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}"/>'
        f'<line class="axis" x1="{left}" x2="{w - right}" y1="{top + plot_h}" y2="{top + plot_h}"/>'
    )

    def whisker(cx: float, ci: Sequence[float | None] | None) -> str:
        if not ci or ci[0] is None or ci[1] is None:
            return ""
        lo, hi = y(ci[0]), y(ci[1])
        return (
            f'<line class="ci" x1="{cx:.1f}" x2="{cx:.1f}" y1="{lo:.1f}" y2="{hi:.1f}"/>'
            f'<line class="ci" x1="{cx - 5:.1f}" x2="{cx + 5:.1f}" y1="{lo:.1f}" y2="{lo:.1f}"/>'
            f'<line class="ci" x1="{cx - 5:.1f}" x2="{cx + 5:.1f}" y1="{hi:.1f}" y2="{hi:.1f}"/>'
        )

    for i, dim in enumerate(dims):
        x0 = left + i * slot
        cx = x0 + slot / 2
        parts.append(f'<text x="{cx:.1f}" y="{top + plot_h + 18}" text-anchor="middle">{esc(dim)}</text>')
        d = dimension(report, dim)
        bx = cx - bar - 2 if has_base else cx - bar / 2
        if d is None:
            parts.append(
                f'<text x="{cx:.1f}" y="{top + plot_h - 6}" text-anchor="middle" class="muted">not in this run</text>'
            )
        else:
            score = d.score
            top_y = y(score) if score is not None else y(0)
            tip = f"{dim}: {num(score)} (95% CI {interval(d.ci)}, n={d.n})"
            parts.append(
                f'<rect class="dim-bar" data-dimension="{esc(dim)}" data-score="{esc(score)}" x="{bx:.1f}" '
                f'y="{top_y:.1f}" width="{bar:.1f}" height="{top + plot_h - top_y:.1f}"><title>{esc(tip)}</title></rect>'
            )
            parts.append(whisker(bx + bar / 2, d.ci))
            label = num(score) if score is not None else "no score"
            ci = d.ci
            label_y = min(top_y, y(ci[1]) if ci else top_y) - 5
            parts.append(f'<text x="{bx + bar / 2:.1f}" y="{label_y:.1f}" text-anchor="middle">{esc(label)}</text>')
        if has_base:
            stored = base_dims.get(dim)
            bscore, bci = (stored.score, stored.ci) if stored else (None, None)
            if bscore is None and dim in diffs:
                bscore, bci = diffs[dim].baseline, None
            if bscore is not None:
                bx2 = cx + 2
                tip = f"{dim} baseline: {num(bscore)}" + (f" (95% CI {interval(bci)})" if bci else " (on shared items)")
                parts.append(
                    f'<rect class="base-bar" data-dimension="{esc(dim)}" x="{bx2:.1f}" y="{y(bscore):.1f}" '
                    f'width="{bar:.1f}" height="{top + plot_h - y(bscore):.1f}"><title>{esc(tip)}</title></rect>'
                )
                parts.append(whisker(bx2 + bar / 2, bci))
    ly = h - 12
    parts.append(
        f'<rect class="legend-run" x="{left}" y="{ly - 9}" width="10" height="10"/>'
        f'<text x="{left + 14}" y="{ly}">this run</text>'
    )
    if has_base:
        parts.append(
            f'<rect class="legend-base" x="{left + 90}" y="{ly - 9}" width="10" height="10"/>'
            f'<text x="{left + 104}" y="{ly}">baseline</text>'
        )
    parts.append(f'<text x="{left + 190}" y="{ly}" class="muted">whiskers: 95% intervals</text></svg>')
    return "".join(parts)


def dataset_table(report: Report, diffs: Mapping[str, Difference]) -> str:
    """Dimensions with their datasets, then overall: metric, n, score, interval, baseline, delta, p, gate."""
    head = (
        '<table id="datasets"><thead><tr><th>dimension / dataset</th><th>metric</th><th class="num">n</th>'
        '<th class="num">score</th><th class="num">95% CI</th><th class="num">baseline</th><th class="num">delta</th>'
        '<th class="num" title="paired test on the items both runs share (exact McNemar or randomisation), '
        'not adjusted; the gate column gives the Holm-adjusted p of gated targets">p</th><th>gate</th><th>note</th>'
        "</tr></thead><tbody>"
    )
    rows = [head]

    def cells(name: str, n: int | str, score: float | None, ci: Interval | None) -> str:
        d = diffs.get(name)
        delta = None if d is None or d.drop is None else -d.drop
        shared = f' title="on {d.n_shared} shared items"' if d is not None else ""
        return (
            f'<td class="num">{esc(n)}</td><td class="num">{num(score)}</td><td class="num">{interval(ci)}</td>'
            f'<td class="num"{shared}>{num(d.baseline if d else None)}</td><td class="num"{shared}>{num(delta, signed=True)}</td>'
            f'<td class="num">{p_text(d.p_value if d else None)}</td><td>{_gate_cell(name, report.gates)}</td>'
        )

    datasets = report.datasets
    for dim in dimension_order(report):
        d = dimension(report, dim)
        if d is None:
            continue
        rows.append(
            f'<tr class="dim-row" data-dimension="{esc(dim)}"><td>{esc(dim)}</td><td></td>'
            f"{cells(dim, d.n, d.score, d.ci)}<td></td></tr>"
        )
        for name in sorted(n for n, ds in datasets.items() if ds.dimension == dim):
            ds = datasets[name]
            note = dataset_notes(ds)
            if ds.judge_uncertain:
                note.append(f"{ds.judge_uncertain} uncertain judge verdicts")
            if ds.circular_n is not None:  # the run rotated this dataset's options (None: every rotation failed)
                if ds.circular is not None:
                    note.append(f"circular {num(ds.circular)}")
                else:
                    note.append(f"circular not scored ({ds.circular_errors or 0} rotations failed)")
            for pname, c in (ds.perturb or {}).items():
                if c.flip is not None:
                    note.append(f"{pname} flip {c.flip:.0%} ({c.flips}/{c.n})")
            if ds.spread is not None:
                note.append(f"K={ds.spread.k}: sd {num(ds.spread.sd)}, worst {num(ds.spread.worst)}")
            rows.append(
                f'<tr class="dataset-row" data-dataset="{esc(name)}" data-dimension="{esc(dim)}">'
                f"<td>&nbsp;&nbsp;{esc(name)}</td><td>{esc(ds.metric)}</td>"
                f"{cells(name, f'{ds.n}/{ds.n_items}', ds.score, ds.ci)}<td>{esc(', '.join(note))}</td></tr>"
            )
    others = sorted(n for n, ds in datasets.items() if ds.dimension not in report.dimensions)
    for name in others:  # datasets of a dimension without a dimension row (nothing scored there)
        ds = datasets[name]
        rows.append(
            f'<tr class="dataset-row" data-dataset="{esc(name)}" data-dimension="{esc(ds.dimension)}">'
            f'<td>{esc(name)} <span class="muted">({esc(ds.dimension)})</span></td><td>{esc(ds.metric)}</td>'
            f"{cells(name, ds.n, ds.score, ds.ci)}<td></td></tr>"
        )
    ov = report.overall
    partial = overall_note(ov)
    rows.append(
        f'<tr class="overall-row"><td>overall</td><td></td>{cells("overall", ov.n, ov.score, ov.ci)}'
        f"<td>{esc(partial)}</td></tr></tbody></table>"
    )
    return "\n".join(rows)
