"""The gate summary as Markdown, for pull-request comments and $GITHUB_STEP_SUMMARY."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .summary import VERDICT_WORD, _gate_cells, _short, _trust_lines, judge_uncertain_line


def _f(x: Any) -> str:
    return "–" if x is None else f"{x:.3f}"


def markdown_summary(report: Mapping[str, Any]) -> str:
    run = report["run"]
    word = VERDICT_WORD[report["verdict"]]
    icon = {"PASS": "✅", "FAIL": "❌", "ERROR": "⚠️"}[word]
    out = [f"## {icon} MLB gate: {word}", "",
           f"Model `{run['model']}` · suite `{run['suite_fingerprint']}` · {len(report['items'])} items", ""]
    if report["verdict"] != "pass":
        out += [f"> {report['verdict_reason']}", ""]
    trust = _trust_lines(run) + [line for line in (judge_uncertain_line(report),) if line]
    if trust:
        out += [f"- {line}" for line in trust] + [""]
    out += ["| dimension | n | score | 95% CI | baseline | delta | p | gate |", "|---|---:|---:|---|---:|---:|---:|---|"]
    for dim, d in report["dimensions"].items():
        base, delta, p, gate = _gate_cells(dim, report)
        ci = "" if not d["ci"] else f"{d['ci'][0]:.3f}–{d['ci'][1]:.3f}"
        out.append(f"| {dim} | {d['n']} | {_f(d['score'])} | {ci} | {base} | {delta} | {p} | {gate} |")
    ov = report["overall"]
    base, delta, p, gate = _gate_cells("overall", report)
    ci = "" if not ov["ci"] else f"{ov['ci'][0]:.3f}–{ov['ci'][1]:.3f}"
    out.append(f"| **overall** | {ov['n']} | {_f(ov['score'])} | {ci} | {base} | {delta} | {p} | {gate} |")
    out.append("")
    bad = [g for g in report["gates"] if g["status"] != "pass"]
    if bad:
        out += ["**Gates**", ""] + [f"- `{g['name']}` {g['status']}: {g['reason']}" for g in bad] + [""]
    regs = (report.get("comparison") or {}).get("regressions") or []
    if regs:
        out += [f"<details><summary>{len(regs)} regressed items</summary>", "",
                "| item | expected | got |", "|---|---|---|"]
        out += [f"| {r['key']} | {_short(r['expected'], 40)} | {_short(r['got'], 40)} |" for r in regs[:100]]
        out += ["", "</details>", ""]
    return "\n".join(out) + "\n"
