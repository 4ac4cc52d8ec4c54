"""The terminal summary: dimensions with their datasets, baseline comparison, gates, verdict."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from .usage import usage_lines

VERDICT_WORD = {"pass": "PASS", "fail": "FAIL", "error": "ERROR"}


def _fmt(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "-"
    x = round(x, 3) + 0.0  # no "-0.000"
    return f"{x:+.3f}" if signed else f"{x:.3f}"


def _ci(ci: Any) -> str:
    return "" if not ci or ci[0] is None else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def _gate_cells(target: str, report: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """baseline, delta, p, verdict of a target's gates."""
    gates = [g for g in report["gates"] if g["name"].split(":")[0].split(">=")[0] == target]
    diff = (report.get("comparison") or {}).get("differences", {}).get(target)
    base = _fmt(diff["baseline"]) if diff else "-"
    delta = _fmt(None if not diff or diff["drop"] is None else -diff["drop"], signed=True)
    ps = [g["p_adjusted"] if g.get("p_adjusted") is not None else g.get("p_value") for g in gates]
    p = next((f"{x:.3g}" for x in ps if x is not None), "-")
    statuses = [g["status"] for g in gates]
    word = "FAIL" if "fail" in statuses else ("pass" if "pass" in statuses else (statuses[0] if statuses else ""))
    return base, delta, p, word


def summary_lines(report: Mapping[str, Any]) -> list[str]:
    head = ("dimension", "dataset", "metric", "n", "score", "95% CI", "baseline", "delta", "p", "gate", "note")
    rows: list[tuple[str, ...]] = [head]
    datasets = report["datasets"]
    for dim, d in report["dimensions"].items():
        rows.append((dim, "", "", str(d["n"]), _fmt(d["score"]), _ci(d["ci"]), *_gate_cells(dim, report), ""))
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
            cells = _gate_cells(name, report) if any(g["name"].startswith(name) for g in report["gates"]) else ("", "", "", "")
            rows.append(("", name, ds["metric"], f"{ds['n']}/{ds['n_items']}", _fmt(ds["score"]), _ci(ds["ci"]),
                         *cells, ", ".join(note)))
    ov = report["overall"]
    overall_note = ("partial: " + ", ".join(ov["missing"]) + " unscored") if ov.get("missing") else ("partial" if ov.get("partial") else "")
    rows.append(("overall", "", "", str(ov["n"]), _fmt(ov["score"]), _ci(ov["ci"]), *_gate_cells("overall", report), overall_note))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines += rubric_tag_lines(report)

    items = report["items"]
    counts: dict[str, int] = {}
    for it in items:
        counts[it["outcome"]] = counts.get(it["outcome"], 0) + 1
    lines += ["", f"items: {len(items)} ({counts.get('pass', 0)} right, {counts.get('wrong', 0)} wrong, "
                  f"{counts.get('needs_judge', 0)} need a judge, {counts.get('error', 0)} errors"
                  + (f", {counts['suite_error']} malformed suite lines" if counts.get("suite_error") else "") + ")"]
    by_model = sum(1 for it in items if str((it.get("details") or {}).get("method", "")).startswith("model:"))
    if by_model:
        lines.append(f"extraction: {by_model} choice replies the rules could not read were read by the extractor "
                     f"model ({report['run'].get('extractor')}); their items say method model:…")
    gen = report["run"].get("generation") or {}
    if gen:
        lines.append(f"generation: {gen.get('requests', 0)} requests sent ({gen.get('sent', 0)} attempts), "
                     f"{gen.get('cached', 0)} from cache, {gen.get('errors', 0)} errors"
                     + (f"; model loaded in {gen['model_load_s']:.1f} s" if gen.get("model_load_s") else ""))
    conc = report["run"].get("concurrency") or {}
    if conc.get("backoffs"):  # only when the server pushed back: otherwise the configured value held
        lines.append(f"concurrency: {conc['configured']} in flight configured, ended at {conc['final']} "
                     f"(lowest {conc['lowest']}) after {conc['backoffs']} back-offs on timeouts or HTTP 429")
    lines += usage_lines(report["run"].get("usage"))
    lines += _trust_lines(report["run"])
    judges = report["run"].get("judges")
    if judges and judges.get("questions"):
        kappa = "-" if judges["kappa"] is None else f"{judges['kappa']:.3f}"
        lines.append(f"judges: {judges['questions']} questions judged twice, agreement {judges['agreement']:.1%}, "
                     f"Cohen's kappa {kappa}, {judges['disputed']} disputed")
    unsure = judge_uncertain_line(report)
    if unsure:
        lines.append(unsure)
    comp = report.get("comparison") or {}
    if comp.get("baseline"):
        ch = comp.get("changes", {})
        line = f"baseline: {comp['baseline']} ({comp.get('baseline_model')}, {comp.get('baseline_created')})"
        if comp.get("baseline_selection"):
            line += f"; the baseline covers a selection ({comp['baseline_selection']}): compared on the shared items"
        if not comp.get("fingerprint_match"):
            line += (f"; suite changed: compared on shared items, {ch['added']['count']} added, "
                     f"{ch['removed']['count']} removed, {ch['changed']['count']} edited")
        lines.append(line)
        regs = comp.get("regressions", [])
        if regs:
            lines.append(f"regressed items (right in the baseline, wrong now): {len(regs)}")
            for r in regs[:20]:
                lines.append(f"  {r['dataset']}/{r['id']}: expected {_short(r['expected'])}, got {_short(r['got'])}")
            if len(regs) > 20:
                lines.append(f"  ... {len(regs) - 20} more in the JSON report")
    nobase = [g for g in report["gates"] if g["status"] == "no-baseline"]
    if nobase:
        lines.append(f"drop gates not tested ({', '.join(g['name'] for g in nobase)}): {nobase[0]['reason']}")
    for g in report["gates"]:
        if g["status"] in ("fail", "insufficient", "inconclusive"):
            lines.append(f"gate {g['status'].upper() if g['status'] == 'fail' else g['status']}: {g['name']}: {g['reason']}")
    failed = [g for g in report["gates"] if not g["passed"]]
    word = VERDICT_WORD[report["verdict"]]
    tail = "" if report["verdict"] == "pass" else " (" + "; ".join(f"{g['name']}: {g['reason']}" for g in failed) + ")"
    if report["verdict"] == "error":
        tail = f" ({report['verdict_reason']})"
    lines.append(f"MLB gate: {word}{tail}")
    return lines


TAGS_SHOWN = 12
TAGS_PER_LINE = 4


def rubric_tag_lines(report: Mapping[str, Any]) -> list[str]:
    """Under the table: each rubric dataset's per-tag sub-scores (axis tags, then theme tags, then the rest)."""
    out = []
    for name, ds in sorted(report["datasets"].items()):
        tags = ds.get("tags") or {}
        if not tags:
            continue
        order = sorted(tags, key=lambda t: (0 if t.startswith("axis:") else 1 if t.startswith("theme:") else 2, t))
        cells = [f"{t} {_fmt(tags[t]['score'])} (n={tags[t]['n']})" for t in order[:TAGS_SHOWN]]
        if len(order) > TAGS_SHOWN:
            cells.append(f"… {len(order) - TAGS_SHOWN} more tags in the JSON report")
        for i in range(0, len(cells), TAGS_PER_LINE):
            lead = f"{name} tags:" if i == 0 else ""
            out.append(f"  {lead:<{len(name) + 6}} " + ", ".join(cells[i:i + TAGS_PER_LINE]))
    return out


def judge_uncertain_line(report: Mapping[str, Any]) -> str | None:
    """How many verdicts the judge abstained on, per dataset, and the file where a reviewer decides them."""
    info = report["run"].get("judge_uncertain") or {}
    if not info.get("uncertain"):
        return None
    per = ", ".join(f"{name} {ds['judge_uncertain']}" for name, ds in sorted(report["datasets"].items())
                    if ds.get("judge_uncertain"))
    return (f"judge: {info['uncertain']} of {info['verdicts']} verdicts uncertain ({info['share']:.1%}): {per} "
            f"— written to {info['review_file']} (set \"decision\" to yes/no there, then `mlb review apply`)")


def _when(ts: Any) -> str:
    if not isinstance(ts, (int, float)):
        return "?"
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _trust_lines(run: Mapping[str, Any]) -> list[str]:
    """Completeness, the revision that answered, and how much came from the cache (and from when)."""
    out = []
    if "complete" in run:
        cut_short = run.get("interrupted") or run.get("stopped") or \
            (run.get("items_finished") or 0) < (run.get("items_collected") or 0)
        if run["complete"]:
            out.append("run: complete")
        elif cut_short:
            out.append(f"run: INCOMPLETE ({run.get('incomplete_reason')})")
        else:  # narrowed on purpose: a smoke run, not a broken one
            out.append(f"run: narrowed ({run.get('incomplete_reason')})")
    gen = run.get("generation") or {}
    rev = (run.get("revision") or {}).get("model") or {}
    cached = gen.get("cached") or 0
    if rev.get("revision"):
        out.append(f"model revision: {rev['revision']} ({'stated' if rev.get('source') == 'option' else 'from the adapter'})"
                   + (f"; system_fingerprint {', '.join(rev['system_fingerprints'])}" if rev.get("system_fingerprints") else ""))
    if cached:
        span = _when(gen.get("cached_oldest"))
        if gen.get("cached_newest") and _when(gen.get("cached_newest")) != span:
            span += f" to {_when(gen.get('cached_newest'))}"
        line = f"cache: {cached} answers came from the cache (stored {span})"
        if not rev.get("revision"):
            line += ("; the model's revision is unknown, so they may come from an earlier deployment: "
                     "set --mlb-model-revision (or MLB_MODEL_REVISION), bound their age with --mlb-cache-max-age, "
                     "or use --mlb-no-cache")
        out.append(line)
    return out


def _short(value: Any, n: int = 60) -> str:
    text = value if isinstance(value, str) else ",".join(value) if isinstance(value, list) and all(
        isinstance(v, str) for v in value) else str(value)
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"
