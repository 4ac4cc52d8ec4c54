"""The run as one self-contained HTML page (``--mlb-html``, ``mlb report html``).

Plain functions from a report (schema_version 1) to a string. The report is checked against
the contract once (``report_page/inputs.py``) and the sections (``report_page/``) read the typed
report. The page needs nothing from the network: CSS, the filter script and the SVG chart are
written inline, and a Content-Security-Policy allows no fetch at all and only the page's own
script (by its hash), so a response that carries ``<script>`` is shown as text and could not run
even if it slipped through. Every value from the report is HTML-escaped.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._atomic import write_text_atomic
from .report_model import Report
from .report_page.assets import CSS, JS
from .report_page.fmt import esc
from .report_page.inputs import differences, read_baseline, read_report, regressed
from .report_page.items import MAX_ITEM_ROWS, OUTCOMES, item_outcomes, item_section
from .report_page.overview import chart_svg, dataset_table, verdict_section
from .report_page.run_facts import run_section

__all__ = ["MAX_ITEM_ROWS", "OUTCOMES", "html_report", "item_outcomes", "write_html"]


def html_report(
    report: Report | Mapping[str, Any], baseline: Mapping[str, Any] | None = None, title: str | None = None
) -> str:
    """The whole page. ``baseline``: a baseline file's data or another JSON report to compare with
    (by default, only the comparison the report itself holds)."""
    page = read_report(report)
    base = read_baseline(baseline)
    r = page.report
    diffs = differences(page, base)
    digest = base64.b64encode(hashlib.sha256(JS.encode("utf-8")).digest()).decode("ascii")
    csp = f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{digest}'"
    word = {"pass": "PASS", "fail": "FAIL", "error": "ERROR"}.get(r.verdict, "?")
    title = title or f"MLB {word}: {r.run.model}"
    base_note = ""
    if base is not None:
        base_model, created = base.label
        base_note = (
            f'<p class="muted">Compared with the baseline of {esc(base_model)} '
            f"({esc(created)}) on the items both runs share.</p>"
        )
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">',  # our own text: no double quote in it
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            '<link rel="icon" href="data:,">',
            f"<title>{esc(title)}</title>",
            f"<style>{CSS}</style>",
            "</head>",
            "<body>",
            f"<h1>MLB report · <code>{esc(r.run.model)}</code></h1>",
            verdict_section(r),
            "<h2>Dimensions</h2>",
            base_note,
            chart_svg(r, base, diffs),
            "<h2>Datasets</h2>",
            dataset_table(r, diffs),
            item_section(r, regressed(page, base)),
            run_section(r),
            f'<p class="muted">mlb-pytest {esc(r.run.plugin_version)} · report schema {esc(r.schema_version)}'
            f" · intervals: {esc(r.ci_method.dataset)}</p>",
            f"<script>{JS}</script>",
            "</body>",
            "</html>",
            "",
        ]
    )


def write_html(path: Path, report: Report | Mapping[str, Any], baseline: Mapping[str, Any] | None = None) -> None:
    """Write the page atomically (parent folders created), readable by others as a plain file would be."""
    write_text_atomic(path, html_report(report, baseline))
    path.chmod(0o644)  # the atomic write's temp file is private (0600); a report page is meant to be shared
