"""``mlb stats``: what a suite holds, per dimension and dataset, and every critical item's red line."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from ..catalog import DIMENSIONS, Task
from ..schema import Item
from ..specialties import BY_KEY


def critical_entry(it: Item) -> dict[str, Any]:
    """One critical item's red line: its kind and how many of the item's options or risks it names."""
    if it.red_line_options:
        named: list[str] = list(it.red_line_options)
        of = len(it.options or {})
    else:
        named = [str(i) for i in it.red_line_risks or ()]
        of = len(it.risk_points or ())
    return {"id": it.id, "red_line": it.red_line_kind or "missing", "count": len(named), "of": of, "named": named}


def suite_stats(items: Sequence[Item]) -> dict[str, Any]:
    by_ds: dict[str, list[Item]] = {}
    for it in items:
        by_ds.setdefault(it.dataset, []).append(it)
    datasets = {}
    for name, group in sorted(by_ds.items()):
        choice = [it for it in group if it.task is Task.choice]
        datasets[name] = {
            "dimension": group[0].dimension.value,
            "mirrors": group[0].mirrors,
            "task": group[0].task.value,
            "items": len(group),
            "critical": sum(it.critical for it in group),
            "specialties": len({it.specialty for it in group if it.specialty}),
            "multi_answer_share": (sum(len(it.expected) > 1 for it in choice) / len(choice)) if choice else None,
            "red_lines": dict(Counter(it.red_line_kind or "missing" for it in group if it.critical)),
            "critical_items": [critical_entry(it) for it in group if it.critical],
        }
    choice_all = [it for it in items if it.task is Task.choice]
    specialties = {it.specialty for it in items if it.specialty in BY_KEY}
    return {
        "datasets": datasets,
        "dimensions": {d.value: sum(1 for it in items if it.dimension is d) for d in DIMENSIONS},
        "items": len(items),
        "specialties": len(specialties),
        "specialty_counts": dict(Counter(it.specialty for it in items if it.specialty).most_common()),
        "languages": dict(Counter(it.language for it in items)),
        "critical": sum(it.critical for it in items),
        "red_lines": dict(Counter(it.red_line_kind or "missing" for it in items if it.critical)),
        "multi_answer_share": (sum(len(it.expected) > 1 for it in choice_all) / len(choice_all))
        if choice_all
        else None,
    }


def stats_lines(stats: dict[str, Any]) -> list[str]:
    rows = [("dimension", "dataset", "mirrors", "task", "items", "critical", "specialties", "multi-answer")]
    for dim, n in stats["dimensions"].items():
        rows.append((dim, "", "", "", str(n), "", "", ""))
        for name, d in stats["datasets"].items():
            if d["dimension"] == dim:
                share = "" if d["multi_answer_share"] is None else f"{d['multi_answer_share']:.0%}"
                rows.append(
                    (
                        "",
                        name,
                        d["mirrors"] or "",
                        d["task"],
                        str(d["items"]),
                        str(d["critical"]),
                        str(d["specialties"]),
                        share,
                    )
                )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    share = stats["multi_answer_share"]
    lines += [
        "",
        f"datasets: {len(stats['datasets'])}   items: {stats['items']}   critical: {stats['critical']}   "
        f"specialties covered: {stats['specialties']} of {len(BY_KEY)}",
        "languages: " + ", ".join(f"{k} {v}" for k, v in stats["languages"].items()),
        "multi-answer share of choice items: " + ("-" if share is None else f"{share:.1%}"),
    ]
    return lines + red_line_lines(stats)


def _kinds(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {n}" for k, n in sorted(counts.items()))


def red_line_lines(stats: dict[str, Any]) -> list[str]:
    """Critical items per dataset with the kind of their red line and how much of the item it names."""
    lines = [
        "",
        "critical items and their red lines (only crossing one fails a run): " + (_kinds(stats["red_lines"]) or "none"),
    ]
    for name, d in stats["datasets"].items():
        if not d["critical_items"]:
            continue
        lines.append(f"  {name}: {len(d['critical_items'])} critical ({_kinds(d['red_lines'])})")
        for c in d["critical_items"]:
            if c["red_line"] == "missing":
                detail = "no red line stated"
            else:
                marks = c["named"] if c["red_line"] == "options" else [f"#{n}" for n in c["named"]]
                detail = f"{c['count']} of {c['of']}: {','.join(marks)}"
            lines.append(f"    {c['id']:<10} {c['red_line']:<8} {detail}")
    return lines
