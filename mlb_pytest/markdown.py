"""The gate summary as Markdown, for pull-request comments and $GITHUB_STEP_SUMMARY."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .report_model import Report, validate_report
from .report_text import (
    VERDICT_WORD,
    gate_cells,
    gate_status,
    judge_uncertain_line,
    robustness_lines,
    short,
    trust_lines,
)


def _f(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def _ci(ci: list[float] | None) -> str:
    return "" if not ci else f"{ci[0]:.3f}–{ci[1]:.3f}"


def markdown_summary(report: Report | Mapping[str, Any]) -> str:
    """The summary of one run; a report given as JSON data is checked against the contract first."""
    r = report if isinstance(report, Report) else validate_report(report)
    run = r.run
    word = VERDICT_WORD[r.verdict]
    icon = {"PASS": "✅", "FAIL": "❌", "ERROR": "⚠️"}[word]
    out = [
        f"## {icon} MLB gate: {word}",
        "",
        f"Model `{run.model}` · suite `{run.suite_fingerprint}` · {len(r.items)} items",
        "",
    ]
    if r.verdict != "pass":
        out += [f"> {r.verdict_reason}", ""]
    trust = trust_lines(run) + [line for line in (judge_uncertain_line(r),) if line]
    if trust:
        out += [f"- {line}" for line in trust] + [""]
    out += [
        "| dimension | n | score | 95% CI | baseline | delta | p | gate |",
        "|---|---:|---:|---|---:|---:|---:|---|",
    ]
    for dim, d in r.dimensions.items():
        base, delta, p, gate = gate_cells(dim, r)
        out.append(f"| {dim} | {d.n} | {_f(d.score)} | {_ci(d.ci)} | {base} | {delta} | {p} | {gate} |")
    ov = r.overall
    base, delta, p, gate = gate_cells("overall", r)
    out.append(f"| **overall** | {ov.n} | {_f(ov.score)} | {_ci(ov.ci)} | {base} | {delta} | {p} | {gate} |")
    out.append("")
    robust = robustness_lines(r)
    if robust:
        out += ["**Robustness**", ""] + [f"- {line}" for line in robust] + [""]
    bad = [g for g in r.gates if gate_status(g) != "pass"]
    if bad:
        out += ["**Gates**", ""] + [f"- `{g.name}` {gate_status(g)}: {g.reason}" for g in bad] + [""]
    regs = (r.comparison.regressions if r.comparison else None) or []
    if regs:
        out += [
            f"<details><summary>{len(regs)} regressed items</summary>",
            "",
            "| item | expected | got |",
            "|---|---|---|",
        ]
        out += [f"| {x.key} | {short(x.expected, 40)} | {short(x.got, 40)} |" for x in regs[:100]]
        out += ["", "</details>", ""]
    return "\n".join(out) + "\n"
