"""The terminal summary: one table of dimensions and their datasets, then the verdict."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _fmt(x: float | None) -> str:
    return "  -  " if x is None else f"{x:.3f}"


def _ci(ci: Any) -> str:
    return "" if not ci else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def summary_lines(report: Mapping[str, Any]) -> list[str]:
    rows: list[tuple[str, ...]] = [("dimension", "dataset", "metric", "n", "score", "95% CI", "note")]
    datasets = report["datasets"]
    for dim, d in report["dimensions"].items():
        rows.append((dim, "", "", str(d["n"]), _fmt(d["score"]), _ci(d["ci"]), ""))
        for name, ds in sorted(datasets.items()):
            if ds["dimension"] != dim:
                continue
            note = []
            if ds["status"] == "needs_judge":
                note.append(f"needs a judge ({ds['needs_judge']} items)")
            elif ds["needs_judge"]:
                note.append(f"{ds['needs_judge']} need a judge")
            if ds["errors"]:
                note.append(f"{ds['errors']} errors")
            rows.append(("", name, ds["metric"], f"{ds['n']}/{ds['n_items']}", _fmt(ds["score"]), _ci(ds["ci"]),
                         ", ".join(note)))
    ov = report["overall"]
    rows.append(("overall", "", "", str(ov["n"]), _fmt(ov["score"]), _ci(ov["ci"]),
                 ("partial: " + ", ".join(ov["missing"]) + " unscored") if ov.get("missing") else
                 ("partial" if ov.get("partial") else "")))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    items = report["items"]
    counts: dict[str, int] = {}
    for it in items:
        counts[it["outcome"]] = counts.get(it["outcome"], 0) + 1
    lines.append("")
    lines.append(f"items: {len(items)} ({counts.get('pass', 0)} right, {counts.get('wrong', 0)} wrong, "
                 f"{counts.get('needs_judge', 0)} need a judge, {counts.get('error', 0)} errors)")
    gen = report["run"].get("generation") or {}
    if gen:
        lines.append(f"generation: {gen.get('requests', 0)} requests sent ({gen.get('sent', 0)} attempts), "
                     f"{gen.get('cached', 0)} from cache, {gen.get('errors', 0)} errors")
    for g in report["gates"]:
        if not g["passed"]:
            lines.append(f"gate failed: {g['name']}: {g['reason']}")
    lines.append(f"MLB verdict: {report['verdict'].upper()}" + (
        "" if report["verdict"] == "pass" else f" ({report['verdict_reason']})"))
    return lines
