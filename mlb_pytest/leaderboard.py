"""A leaderboard of several runs: scores per dimension and paired tests between every two runs.

Each pair of runs is compared only on the items both scored (same key, same content hash), with
the same tests a run uses against its baseline (``gates._group_compare``: exact McNemar for 0/1
items, paired randomisation test otherwise, stratified by dataset for the overall score). A
leaderboard has no "before" and "after", so the test is two-sided: twice the smaller of the two
one-sided p-values (exact for McNemar, whose null is symmetric, and for the swap test, whose null
is symmetric by construction). All pairs x dimensions (and overall) are one Holm family, so
ranking ten models does not turn noise into "significant" gaps.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import _jsonsafe
from .catalog import DIMENSIONS
from .comparison import PAIRED_RESAMPLES
from .errors import UsageError
from .gates import Policy, _group_compare
from .report import SCHEMA_VERSION
from .report_model import DimensionSummary, ItemResult, OverallSummary, Report, ReportSchemaError, validate_report
from .report_model import Run as RunBlock
from .statistics import holm_adjust

TARGETS: tuple[str, ...] = tuple(d.value for d in DIMENSIONS) + ("overall",)
MIN_SHARED = Policy([]).min_shared  # the same threshold drop gates use before they test anything
MARK = "*"


class LeaderboardError(UsageError, ValueError):
    """A report that cannot be ranked; the message names the file."""


@dataclass
class Run:
    """One loaded report and what the leaderboard reads from it.

    ``items`` and ``by_key`` stay the JSON rows: the paired tests of ``gates.py`` read those.
    """

    path: str
    report: Report
    model: str
    revision: str | None
    fingerprint: str | None
    complete: bool
    incomplete_reason: str | None
    items: list[dict[str, Any]] = field(repr=False)
    by_key: dict[str, dict[str, Any]] = field(repr=False)

    @property
    def label(self) -> str:
        return f"{self.model} ({self.revision})" if self.revision else self.model

    def score(self, target: str) -> tuple[float | None, tuple[float, float] | None]:
        """(score, 95% interval) as the run's own report states them, over all its items."""
        block: OverallSummary | DimensionSummary | None = self.report.overall
        if target != "overall":
            block = next((d for name, d in self.report.dimensions.items() if name == target), None)
        if block is None or block.score is None:
            return None, None
        ci = block.ci
        return float(block.score), (float(ci[0]), float(ci[1])) if ci else None

    def has(self, target: str) -> bool:
        return self.score(target)[0] is not None


@dataclass
class PairTest:
    """One pair of runs on one target; ``upper`` ranks above ``lower`` on the overall score."""

    upper: int
    lower: int
    target: str
    n_shared: int
    delta: float | None  # upper - lower on the shared items
    ci: tuple[float, float] | None  # 95% paired bootstrap interval of delta
    p_value: float | None  # two-sided, before adjustment; None when not tested
    test: str
    p_adjusted: float | None = None
    significant: bool = False

    @property
    def tested(self) -> bool:
        return self.p_value is not None


@dataclass
class Leaderboard:
    runs: list[Run]  # ranked: best overall first
    tests: list[PairTest]
    alpha: float
    min_shared: int
    warnings: list[str]

    def pair(self, i: int, j: int, target: str) -> PairTest | None:
        a, b = min(i, j), max(i, j)
        return next((t for t in self.tests if (t.upper, t.lower, t.target) == (a, b, target)), None)

    @property
    def fingerprints(self) -> dict[str | None, list[int]]:
        out: dict[str | None, list[int]] = {}
        for i, r in enumerate(self.runs):
            out.setdefault(r.fingerprint, []).append(i)
        return out

    @property
    def mixed_suites(self) -> bool:
        return len(self.fingerprints) > 1


# --- reading reports ---------------------------------------------------------------------------


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_block(path: str, where: str, block: Any) -> None:
    if not isinstance(block, dict):
        raise LeaderboardError(f"{path}: field '{where}' must be an object with score and ci")
    if block.get("score") is not None and not _number(block["score"]):
        raise LeaderboardError(f"{path}: field '{where}.score' must be a number or null")
    ci = block.get("ci")
    if ci is not None and not (isinstance(ci, list) and len(ci) == 2 and all(_number(x) for x in ci)):
        raise LeaderboardError(f"{path}: field '{where}.ci' must be [low, high] or null")


def _check_item(path: str, n: int, item: Any) -> None:
    if not isinstance(item, dict):
        raise LeaderboardError(f"{path}: items[{n}] is not an object")
    for k in ("key", "dataset", "dimension", "metric"):
        if not isinstance(item.get(k), str):
            raise LeaderboardError(f"{path}: items[{n}].{k} must be a string")
    if item.get("score") is not None and not _number(item["score"]):
        raise LeaderboardError(f"{path}: items[{n}].score must be a finite number or null")
    if item.get("weight") is not None and not (_number(item["weight"]) and item["weight"] > 0):
        raise LeaderboardError(f"{path}: items[{n}].weight must be a positive number")
    if item["metric"] == "micro_f1" and item.get("score") is not None:
        d = item.get("details")
        if not isinstance(d, dict) or not all(_number(d.get(k, 0)) and d.get(k, 0) >= 0 for k in ("tp", "fp", "fn")):
            raise LeaderboardError(f"{path}: items[{n}].details must hold tp/fp/fn counts for a micro_f1 item")


def _revision(run: RunBlock) -> str | None:
    model = (run.revision or {}).get("model")
    return model.revision if model and model.revision else None


def load_run(path: Path | str) -> Run:
    """Read a JSON report written by ``--mlb-report``; anything unusable names the file.

    Every field the leaderboard reads is checked here, so that a foreign or damaged file stops
    with its name rather than as a traceback inside the statistics: first what the statistics
    need beyond the contract (finite scores, positive weights, tp/fp/fn counts), in the JSON as
    read, then the contract itself (``report_model.py``), which gives the typed report read below.
    """
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise LeaderboardError(f"{name}: cannot read ({exc.strerror or exc})") from None
    try:
        data = _jsonsafe.loads(_jsonsafe.decode_utf8(raw), finite=False)
    except _jsonsafe.JSONInputError as exc:
        where = f"{name}:{exc.line}" if exc.line else name
        raise LeaderboardError(f"{where}: not a JSON report ({exc.message})") from None
    if not isinstance(data, dict) or "schema_version" not in data or not isinstance(data.get("run"), dict):
        raise LeaderboardError(
            f"{name}: not an mlb-pytest report (no 'schema_version' and 'run'; write one with pytest --mlb-report=PATH)"
        )
    if data["schema_version"] != SCHEMA_VERSION:
        raise LeaderboardError(
            f"{name}: report schema {data['schema_version']!r:.40}, this version reads {SCHEMA_VERSION}"
        )
    run = data["run"]
    if not isinstance(run.get("model"), str):
        raise LeaderboardError(f"{name}: field 'run.model' must be the model spec")
    items = data.get("items")
    if not isinstance(items, list):
        raise LeaderboardError(f"{name}: field 'items' must be a list of item results")
    for n, item in enumerate(items):
        if isinstance(item, dict) and item.get("outcome") == "suite_error":
            continue  # a malformed suite line: no item to compare (the contract checks its shape)
        _check_item(name, n, item)
    dims = data.get("dimensions")
    if not isinstance(dims, dict):
        raise LeaderboardError(f"{name}: field 'dimensions' must map dimension names to scores")
    for k, v in dims.items():
        _check_block(name, f"dimensions.{k}", v)
    _check_block(name, "overall", data.get("overall"))
    try:
        report = validate_report(data)
    except ReportSchemaError as exc:
        raise LeaderboardError(f"{name}: {exc}") from None
    scored = [(row, it) for row, it in zip(items, report.items) if isinstance(it, ItemResult)]
    return Run(
        name,
        report,
        report.run.model,
        _revision(report.run),
        report.run.suite_fingerprint,
        report.run.complete is not False,
        report.run.incomplete_reason,
        [row for row, _ in scored],
        {it.key: row for row, it in scored},
    )


# --- ranking and tests -------------------------------------------------------------------------


def rank(runs: Sequence[Run]) -> list[Run]:
    """Best overall first; unscored last; ties by label then file, so argument order never matters."""

    def key(r: Run) -> tuple[bool, float, str, str]:
        s = r.score("overall")[0]
        return (s is None, -(s or 0.0), r.label, r.path)

    return sorted(runs, key=key)


def pair_test(upper: Run, lower: Run, i: int, j: int, target: str, min_shared: int) -> PairTest:
    """Two-sided paired test of two runs on their shared items, from the baseline comparison.

    ``_group_compare(t, current, baseline)`` answers "did current drop below baseline"; asking
    it both ways and doubling the smaller p gives the two-sided p-value.
    """
    down = _group_compare(target, lower.items, upper.by_key)  # baseline = upper: drop = upper - lower
    delta = down.drop
    ci = None if down.ci is None else (-down.ci[1], -down.ci[0])
    if down.n_shared < min_shared or down.p_value is None:
        why = (
            "no shared items"
            if down.n_shared == 0
            else f"only {down.n_shared} shared items (at least {min_shared} needed)"
        )
        return PairTest(i, j, target, down.n_shared, delta, ci, None, f"{why}: not tested")
    up = _group_compare(target, upper.items, lower.by_key)
    assert up.p_value is not None
    p = min(1.0, 2 * min(down.p_value, up.p_value))
    test = re.sub(r"right->wrong", "upper right, lower wrong", down.test)
    test = re.sub(r"wrong->right", "upper wrong, lower right", test)
    return PairTest(i, j, target, down.n_shared, delta, ci, p, f"{test}; two-sided")


def build(runs: Sequence[Run], alpha: float = 0.05, min_shared: int = MIN_SHARED) -> Leaderboard:
    """Rank the runs, test every pair on every target either run scored, Holm-adjust them together."""
    ranked = rank(runs)
    warnings = [
        f"warning: {r.path}: incomplete run ({r.incomplete_reason or 'run.complete is false'}); "
        "compared on the items it scored"
        for r in ranked
        if not r.complete
    ]
    tests: list[PairTest] = []
    for i in range(len(ranked)):
        for j in range(i + 1, len(ranked)):
            for t in TARGETS:
                if ranked[i].has(t) or ranked[j].has(t):
                    tests.append(pair_test(ranked[i], ranked[j], i, j, t, min_shared))
    family = [t for t in tests if t.tested]
    for test, p_adj in zip(family, holm_adjust([t.p_value or 1.0 for t in family])):
        test.p_adjusted = p_adj
        test.significant = p_adj < alpha
    floor = 2 / (PAIRED_RESAMPLES + 1)  # smallest two-sided p a swap test with this many resamples can give
    if any("randomisation" in t.test for t in family) and len(family) * floor >= alpha:
        warnings.append(
            f"note: {len(family)} comparisons: a randomisation test ({PAIRED_RESAMPLES} swaps) cannot give "
            f"p below {floor:.2g}, so after Holm a gap on graded datasets or overall may not reach "
            f"{alpha:g} however large; compare fewer runs at a time"
        )
    return Leaderboard(ranked, tests, alpha, min_shared, warnings)


def compare_files(paths: Sequence[Path | str], alpha: float = 0.05, min_shared: int = MIN_SHARED) -> Leaderboard:
    return build([load_run(p) for p in paths], alpha, min_shared)


# --- rendering ---------------------------------------------------------------------------------


def _cell(run: Run, target: str) -> str:
    s, ci = run.score(target)
    if s is None:
        return "-"
    return f"{s:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else f"{s:.3f}"


def _marked(lb: Leaderboard, i: int, target: str) -> bool:
    """Does row i differ significantly from the row below it on this target?"""
    t = lb.pair(i, i + 1, target) if i + 1 < len(lb.runs) else None
    return bool(t and t.significant)


def _targets(lb: Leaderboard) -> list[str]:
    """Always the five dimensions and overall, so that every leaderboard has the same columns."""
    return list(TARGETS)


def _name(lb: Leaderboard, i: int) -> str:
    return f"#{i + 1} {lb.runs[i].label}"


def _p(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"


def _signed(x: float | None) -> str:
    return "-" if x is None else f"{round(x, 3) + 0.0:+.3f}"


def _delta_text(t: PairTest) -> str:
    ci = f" [{_signed(t.ci[0])}, {_signed(t.ci[1])}]" if t.ci else ""
    return f"{_signed(t.delta)}{ci}"


def _legend(lb: Leaderboard) -> str:
    n = sum(t.tested for t in lb.tests)
    return (
        f"{MARK} differs significantly from the row below (two-sided paired test on the items both runs scored, "
        f"Holm-adjusted over {n} comparisons, alpha {lb.alpha:g})"
    )


def _suite_lines(lb: Leaderboard) -> list[str]:
    """Say when runs are on different suites, and how many items each such pair shares."""
    if not lb.mixed_suites:
        return []
    groups = "; ".join(
        f"{fp or 'unknown'}: {', '.join(lb.runs[i].path for i in idx)}" for fp, idx in lb.fingerprints.items()
    )
    out = [
        f"note: the runs are on different suites ({groups}); each pair is compared on the items both "
        "scored with the same content only"
    ]
    for i in range(len(lb.runs)):
        for j in range(i + 1, len(lb.runs)):
            if lb.runs[i].fingerprint == lb.runs[j].fingerprint:
                continue
            counts = ", ".join(f"{t.target} {t.n_shared}" for t in lb.tests if (t.upper, t.lower) == (i, j))
            out.append(f"  shared items, {lb.runs[i].path} vs {lb.runs[j].path}: {counts}")
    return out


def _untested(lb: Leaderboard) -> list[PairTest]:
    return [t for t in lb.tests if not t.tested]


def terminal_lines(lb: Leaderboard) -> list[str]:
    """The table and the significant pairs, as printed by ``mlb compare``."""
    targets = _targets(lb)
    head = ["#", "model", "run", *targets]
    rows = [head]
    for i, r in enumerate(lb.runs):
        label = r.label + ("" if r.complete else " [incomplete]")
        rows.append([str(i + 1), label, r.path, *[_cell(r, t) + (MARK if _marked(lb, i, t) else "") for t in targets]])
    widths = [max(len(row[k]) for row in rows) for k in range(len(head))]
    out = [f"MLB leaderboard: {len(lb.runs)} runs, sorted by overall score", *lb.warnings, *_suite_lines(lb)]
    out += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    out.append(_legend(lb))
    sig = [t for t in lb.tests if t.significant]
    out.append("")
    out.append(f"significant differences (Holm-adjusted p < {lb.alpha:g}): {len(sig) or 'none'}")
    for t in sig:
        out.append(
            f"  {t.target}: {_name(lb, t.upper)} {'>' if (t.delta or 0) > 0 else '<'} {_name(lb, t.lower)}: "
            f"delta {_delta_text(t)} on {t.n_shared} shared items, p_adj {_p(t.p_adjusted)} ({t.test})"
        )
    untested = _untested(lb)
    if untested:
        out.append(f"not tested (fewer than {lb.min_shared} shared items, no p-value):")
        for target in TARGETS:
            ts = [t for t in untested if t.target == target]
            if ts:
                lo, hi = min(t.n_shared for t in ts), max(t.n_shared for t in ts)
                shared = f"{lo}" if lo == hi else f"{lo}-{hi}"
                out.append(f"  {target}: {len(ts)} pair(s) with {shared} shared items")
    return out


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|<>~&])")


def md_escape(text: str) -> str:
    """Text safe inside a Markdown table cell: no markup, no HTML, no cell breaks."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def markdown(lb: Leaderboard) -> str:
    targets = _targets(lb)
    out = ["## MLB leaderboard", ""]
    notes = lb.warnings + _suite_lines(lb)
    if notes:
        out += [f"- {md_escape(n.strip())}" for n in notes] + [""]
    out += ["| # | model | run | " + " | ".join(targets) + " |", "|---:|---|---|" + "---:|" * len(targets)]
    for i, r in enumerate(lb.runs):
        label = md_escape(r.label) + ("" if r.complete else " *\\(incomplete\\)*")
        cells = [md_escape(_cell(r, t)) + (" \\*" if _marked(lb, i, t) else "") for t in targets]
        out.append(f"| {i + 1} | {label} | {md_escape(r.path)} | " + " | ".join(cells) + " |")
    out += [
        "",
        md_escape(_legend(lb)),
        "",
        f"### Pairwise tests ({sum(t.tested for t in lb.tests)} tested)",
        "",
        "| target | higher-ranked run | lower-ranked run | shared items | delta [95% CI] | p (Holm) | significant |",
        "|---|---|---|---:|---|---:|---|",
    ]
    for t in lb.tests:
        verdict = "**yes**" if t.significant else ("no" if t.tested else md_escape(t.test))
        out.append(
            f"| {t.target} | {md_escape(_name(lb, t.upper))} | {md_escape(_name(lb, t.lower))} "
            f"| {t.n_shared} | {md_escape(_delta_text(t))} | {_p(t.p_adjusted)} | {verdict} |"
        )
    return "\n".join(out) + "\n"


_CSS = (
    "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}"
    "th{background:#f3f3f3}td.l,th.l{text-align:left}.sig{font-weight:bold;color:#0a5}"
    ".note{color:#a60}caption{text-align:left;font-weight:bold;padding:.3em 0}"
)


def html_page(lb: Leaderboard) -> str:
    """One self-contained page: an embedded style sheet, no scripts, every text escaped."""
    e = html.escape
    targets = _targets(lb)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>MLB leaderboard</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>MLB leaderboard</h1>",
    ]
    for n in lb.warnings + _suite_lines(lb):
        parts.append(f'<p class="note">{e(n.strip())}</p>')
    parts.append(
        "<table><caption>Scores with 95% intervals, sorted by overall</caption><thead><tr>"
        + '<th>#</th><th class="l">model</th><th class="l">run</th>'
        + "".join(f"<th>{e(t)}</th>" for t in targets)
        + "</tr></thead><tbody>"
    )
    for i, r in enumerate(lb.runs):
        label = e(r.label) + ("" if r.complete else ' <span class="note">(incomplete)</span>')
        cells = "".join(
            f'<td class="sig">{e(_cell(r, t) + MARK)}</td>' if _marked(lb, i, t) else f"<td>{e(_cell(r, t))}</td>"
            for t in targets
        )
        parts.append(f'<tr><td>{i + 1}</td><td class="l">{label}</td><td class="l">{e(r.path)}</td>{cells}</tr>')
    parts.append(f"</tbody></table><p>{e(_legend(lb))}</p>")
    parts.append(
        "<table><caption>Pairwise tests</caption><thead><tr>"
        '<th class="l">target</th><th class="l">higher-ranked run</th><th class="l">lower-ranked run</th>'
        '<th>shared items</th><th>delta [95% CI]</th><th>p (Holm)</th><th class="l">result</th><th class="l">test</th>'
        "</tr></thead><tbody>"
    )
    for t in lb.tests:
        result = "significant" if t.significant else ("not significant" if t.tested else "not tested")
        parts.append(
            f'<tr><td class="l">{e(t.target)}</td><td class="l">{e(_name(lb, t.upper))}</td>'
            f'<td class="l">{e(_name(lb, t.lower))}</td><td>{t.n_shared}</td><td>{e(_delta_text(t))}</td>'
            f'<td>{_p(t.p_adjusted)}</td><td class="l{" sig" if t.significant else ""}">{result}</td>'
            f'<td class="l">{e(t.test)}</td></tr>'
        )
    parts.append("</tbody></table></body></html>")
    return "\n".join(parts) + "\n"
