"""The run section: who answered, how completely, how fast, at what token cost, against which baseline."""

from __future__ import annotations

import datetime as dt
import statistics
from typing import Any

from ..report_model import ItemResult, Report
from .fmt import count, esc, kv


def _duration(started: str, ended: str) -> str | None:
    try:
        s = (dt.datetime.fromisoformat(ended) - dt.datetime.fromisoformat(started)).total_seconds()
    except ValueError:
        return None
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min"


def _numbers(counts: dict[str, Any]) -> dict[str, float]:
    return {k: v for k, v in counts.items() if isinstance(v, (int, float))}


def token_usage(report: Report) -> dict[str, dict[str, float]]:
    """Token use per role (model, judges): ``run.usage`` as the report holds it, else summed from the items'."""
    if report.run.usage:
        return {role: _numbers(u.model_dump()) for role, u in report.run.usage.items()}
    out: dict[str, dict[str, float]] = {}
    for it in report.items:
        if not isinstance(it, ItemResult) or not it.usage:
            continue
        for role, u in it.usage.items():
            row = out.setdefault(role, {})
            for k, v in _numbers(u.model_dump()).items():
                row[k] = row.get(k, 0) + v
    return out


def _token_table(report: Report) -> str:
    usage = token_usage(report)
    if not usage:
        return ""
    keys = list(dict.fromkeys(k for counts in usage.values() for k in counts))  # the report's order
    return (
        '<h3>Token use</h3><table id="tokens"><thead><tr><th>role</th>'
        + "".join(f'<th class="num">{esc(k)}</th>' for k in keys)
        + "</tr></thead><tbody>"
        + "".join(
            f"<tr><td>{esc(role)}</td>"
            + "".join(f'<td class="num">{esc(count(c[k]) if k in c else "–")}</td>' for k in keys)
            + "</tr>"
            for role, c in usage.items()
        )
        + "</tbody></table>"
    )


def _baseline_block(report: Report) -> str:
    comp = report.comparison
    if comp is None or not comp.baseline:
        return ""
    changes = comp.changes or {}
    counts = ", ".join(
        f"{c.count if c else 0} {k}" for k, c in ((k, changes.get(k)) for k in ("added", "removed", "changed"))
    )
    return "<h3>Baseline</h3>" + kv(
        [
            ("file", f"<code>{esc(comp.baseline)}</code>"),
            ("model", esc(comp.baseline_model)),
            ("created", esc(comp.baseline_created)),
            ("suite", esc("same fingerprint" if comp.fingerprint_match else f"changed: {counts}")),
            ("selection", esc(comp.baseline_selection)),
            ("policy", esc(", ".join(comp.policy))),
            ("alpha", esc(comp.alpha)),
        ]
    )


def _latency(report: Report) -> str | None:
    lat = sorted(it.latency_s for it in report.items if isinstance(it, ItemResult) and it.latency_s is not None)
    if not lat:
        return None
    p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))]
    return f"median {statistics.median(lat):.2f} s, p95 {p95:.2f} s, max {lat[-1]:.2f} s ({len(lat)} answers)"


def run_section(report: Report) -> str:
    """Model, revision, judges, suite fingerprint, completeness, timings, generation and token use."""
    run = report.run

    def revision(role: str) -> str | None:
        r = (run.revision or {}).get(role)
        if r is None or not r.revision:
            return None
        fp = f" · system_fingerprint {', '.join(r.system_fingerprints)}" if r.system_fingerprints else ""
        return f'<code>{esc(r.revision)}</code> <span class="muted">({esc(r.source)}{esc(fp)})</span>'

    completeness = None
    if run.complete is not None:
        completeness = "complete" if run.complete else f"INCOMPLETE: {run.incomplete_reason}"
    latency = _latency(report)
    gen = run.generation
    generation = (
        f"{gen.requests or 0} requests ({gen.sent or 0} attempts), {gen.cached or 0} from the cache, "
        f"{gen.errors or 0} errors, {gen.processes} process(es)"
        + (f"; model loaded in {gen.model_load_s:.1f} s" if gen.model_load_s else "")
    )
    judges = run.judges
    agreement = None
    if judges is not None and judges.questions:
        kappa = "–" if judges.kappa is None else f"{judges.kappa:.3f}"
        agreement = (
            f"{judges.questions} questions judged twice, agreement {judges.agreement or 0:.1%}, "
            f"Cohen's kappa {kappa}, {judges.disputed} disputed"
        )
    unsure = run.judge_uncertain
    uncertain = None
    if unsure is not None and unsure.uncertain:
        uncertain = f"{unsure.uncertain} of {unsure.verdicts} verdicts uncertain, review file {unsure.review_file}"
    outcomes: dict[str, int] = {}
    for it in report.items:
        outcomes[it.outcome] = outcomes.get(it.outcome, 0) + 1
    pairs: list[tuple[str, Any]] = [
        ("model", f"<code>{esc(run.model)}</code>"),
        ("model revision", revision("model")),
        ("judge", f"<code>{esc(run.judge)}</code>" if run.judge else '<span class="muted">none</span>'),
        ("judge revision", revision("judge")),
        ("second judge", f"<code>{esc(run.judge2)}</code>" if run.judge2 else None),
        ("second judge revision", revision("judge2")),
        ("extractor", f"<code>{esc(run.extractor)}</code>" if run.extractor else None),
        ("judge agreement", esc(agreement) if agreement else None),
        ("uncertain verdicts", esc(uncertain) if uncertain else None),
        ("suite fingerprint", f"<code>{esc(run.suite_fingerprint)}</code>"),
        ("completeness", esc(completeness) if completeness else None),
        ("items", esc(f"{len(report.items)}: " + ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items())))),
        ("started", esc(run.started)),
        ("ended", esc(run.ended)),
        ("duration", esc(_duration(run.started, run.ended))),
        ("latency", esc(latency) if latency else None),
        ("generation", esc(generation)),
        ("run id", esc(run.run_id)),
        ("plugin version", esc(run.plugin_version)),
        ("python", esc(run.python)),
    ]
    options = run.options.model_dump(exclude_unset=True)  # the contract's order
    opts = ""
    if options:
        shown = ((k, f"<code>{esc(v)}</code>") for k, v in options.items() if v not in (None, False, [], ""))
        opts = "<details><summary>options</summary>" + kv(shown) + "</details>"
    return "<h2>Run</h2>" + kv(pairs) + _token_table(report) + _baseline_block(report) + opts
