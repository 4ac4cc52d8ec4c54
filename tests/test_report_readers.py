"""The readers of a report (HTML page, Markdown summary, leaderboard) on reports built here by hand.

Each report is the smallest that shows one shape: a first-version schema_version 1 report (no gate
statuses, no token ledger, no comparison), a rubric dataset with an abstaining judge, a run with
errors and a malformed suite line, a run compared with its baseline. The readers parse the report
once (``report_model.py``) and read attributes; these tests pin what they print from each shape.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from report_builders import item_result

from mlb_pytest.html_report import html_report, item_outcomes
from mlb_pytest.leaderboard import LeaderboardError, compare_files, load_run, terminal_lines
from mlb_pytest.markdown import markdown_summary
from mlb_pytest.report_model import Gate, ReportSchemaError, validate_report
from mlb_pytest.report_text import gate_cells, gate_status, short, trust_lines


def _item(key: str, outcome: str = "pass", **kw: Any) -> dict[str, Any]:
    return item_result(key, outcome, **kw)


def _dataset(dimension: str = "MedKQA", **kw: Any) -> dict[str, Any]:
    ds: dict[str, Any] = {
        "dimension": dimension,
        "metric": "accuracy",
        "score": 0.5,
        "ci": [0.1, 0.9],
        "n": 2,
        "n_items": 2,
        "errors": 0,
        "needs_judge": 0,
        "status": "scored",
        "mirrors": "CMExam",
    }
    ds.update(kw)
    return ds


def first_version_report() -> dict[str, Any]:
    """Only the fields the first schema_version 1 report wrote: no gate status, usage or comparison."""
    return {
        "schema_version": 1,
        "run": {
            "run_id": "run-1",
            "model": "python:sim:answer",
            "judge": None,
            "suite_fingerprint": "sha256:abc",
            "options": {"model": "python:sim:answer", "judge": None, "limit": None},
            "started": "2025-01-01T10:00:00+00:00",
            "ended": "2025-01-01T10:03:00+00:00",
            "python": "3.11.7",
            "generation": {"processes": 1, "requests": 2, "sent": 3, "cached": 0, "errors": 0},
            "plugin_version": "0.1.0",
        },
        "items": [_item("KQA/q1"), _item("KQA/q2", "wrong")],
        "datasets": {"KQA": _dataset()},
        "dimensions": {"MedKQA": {"score": 0.5, "ci": [0.1, 0.9], "n": 2, "datasets": ["KQA"], "missing": []}},
        "overall": {
            "score": 0.5,
            "ci": [0.1, 0.9],
            "n": 2,
            "dimensions": ["MedKQA"],
            "missing": ["MedSE", "MedRU", "SmartServ", "SmartCare"],
            "partial": True,
        },
        "ci_method": {"dataset": "wilson", "dimension": "bootstrap"},
        "gates": [
            {
                "name": "MedKQA>=0.8",
                "passed": False,
                "reason": "MedKQA 0.500 < floor 0.80",
                "observed": 0.5,
                "threshold": 0.8,
                "baseline": None,
                "p_value": None,
            },
            {
                "name": "suite files",
                "passed": True,
                "reason": "no malformed lines",
                "observed": 0.0,
                "threshold": 0.0,
                "baseline": None,
                "p_value": None,
            },
        ],  # fmt: skip
        "verdict": "fail",
        "verdict_reason": "MedKQA>=0.8: MedKQA 0.500 < floor 0.80",
    }


def _row(page: str, cls: str, text: str) -> str:
    """The table row of class ``cls`` that holds ``text``."""
    return next(row for row in re.findall(rf'<tr class="{cls}".*?</tr>', page) if text in row)


def test_a_first_version_report_is_read_by_every_reader(tmp_path: Path) -> None:
    report = first_version_report()
    validate_report(report)
    page = html_report(report)
    # gates written before statuses existed: pass or fail by their flag, shown as such everywhere
    assert 'data-status="fail"' in _row(page, "gate-row", "<code>MedKQA&gt;=0.8</code>")
    assert '<td class="num">0</td><td class="num">0</td>' in _row(
        page, "gate-row", "<code>suite files</code>"
    )  # counts, not scores
    kqa = page.split('<tr class="dim-row" data-dimension="MedKQA">', 1)[1].split("</tr>", 1)[0]
    assert '<span class="status-fail" title="MedKQA&gt;=0.8: MedKQA 0.500 &lt; floor 0.80">FAIL</span>' in kqa
    assert "partial: MedSE, MedRU, SmartServ, SmartCare unscored" in page
    assert "not in this run" in page  # four dimensions without a bar
    run = page.split("<h2>Run</h2>", 1)[1]
    assert "<dt>duration</dt><dd>3.0 min</dd>" in run
    assert "<dt>items</dt><dd>2: 1 pass, 1 wrong</dd>" in run
    assert "2 requests (3 attempts), 0 from the cache, 0 errors, 1 process(es)" in run
    assert "completeness" not in run and 'id="tokens"' not in run and "<h3>Baseline</h3>" not in run
    assert "<dt>model</dt><dd><code>python:sim:answer</code></dd>" in run.split("options", 1)[1]

    md = markdown_summary(report)
    assert md.startswith("## ❌ MLB gate: FAIL\n\nModel `python:sim:answer` · suite `sha256:abc` · 2 items\n")
    assert "| MedKQA | 2 | 0.500 | 0.100–0.900 | - | - | - | FAIL |" in md
    assert "- `MedKQA>=0.8` fail: MedKQA 0.500 < floor 0.80" in md and "`suite files`" not in md
    assert "- run:" not in md  # no completeness block in the first version

    path = tmp_path / "first.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    run_ = load_run(path)
    assert run_.report.run.model == "python:sim:answer" and run_.revision is None and run_.complete
    assert run_.score("MedKQA") == (0.5, (0.1, 0.9)) and run_.score("MedSE") == (None, None)
    assert [r["key"] for r in run_.items] == ["KQA/q1", "KQA/q2"]  # JSON rows: the paired tests read them


def rubric_report() -> dict[str, Any]:
    """A rubric dataset judged by a judge that abstained on one criterion."""
    report = first_version_report()
    verdicts = [
        {"kind": "rubric", "criterion": "Advises <calling> emergency", "verdict": "yes", "judge1": "yes",
         "rationale1": "said so", "points": 6, "tags": ["axis:accuracy"], "source": "single"},
        {"kind": "rubric", "criterion": "Mentions sleep", "verdict": "uncertain", "judge1": "uncertain",
         "rationale1": "borderline", "points": 3, "leaning": "no", "p_yes": 0.4, "source": "uncertain",
         "if_yes": {"score": 1.0, "passed": True}, "if_no": {"score": 0.667, "passed": False}},
    ]  # fmt: skip
    hb = _item(
        "HB/a",
        "wrong",
        dimension="SmartServ",
        metric="rubric",
        task="open",
        mirrors=None,
        expected=None,
        response="Call emergency services now.",
        score=0.667,
        details={"verdicts": verdicts, "rubric": {"points": 6.0, "possible": 9, "tags": {"axis:accuracy": 1.0}}},
    )
    report["items"] = [hb]
    report["datasets"] = {
        "HB": _dataset(
            "SmartServ",
            metric="rubric",
            mirrors=None,
            score=0.667,
            ci=None,
            n=1,
            n_items=1,
            score_unclipped=0.667,
            tags={"axis:accuracy": {"score": 1.0, "n": 1}},
            judge_verdicts=2,
            judge_uncertain=1,
            judge_uncertain_share=0.5,
        )
    }
    report["dimensions"] = {"SmartServ": {"score": 0.667, "ci": None, "n": 1, "datasets": ["HB"], "missing": []}}
    report["overall"] = {
        "score": 0.667,
        "ci": None,
        "n": 1,
        "dimensions": ["SmartServ"],
        "missing": [],
        "partial": False,
    }
    report["gates"] = []
    report["verdict"], report["verdict_reason"] = "pass", "all gates passed"
    report["run"]["judge"] = "python:sim:judge"
    report["run"]["judge_uncertain"] = {"verdicts": 2, "uncertain": 1, "share": 0.5, "review_file": "review.jsonl"}
    return report


def test_a_rubric_dataset_with_an_abstaining_judge() -> None:
    report = rubric_report()
    validate_report(report)
    page = html_report(report)
    row = page.split('<tr class="dataset-row" data-dataset="HB"', 1)[1].split("</tr>", 1)[0]
    assert "<td>rubric</td>" in row and "1/1" in row and "0.667" in row and "1 uncertain judge verdicts" in row
    item = page.split('<tr class="item-row" data-key="HB/a"', 1)[1].split("</tr>", 1)[0]
    assert "<summary>judge: 2 verdicts</summary>" in item
    assert '<b>yes</b> <span class="muted">[rubric]</span> Advises &lt;calling&gt; emergency' in item
    assert "<i>judge1: borderline</i>" in item and "<b>uncertain</b>" in item
    assert "<dt>judge</dt><dd><code>python:sim:judge</code></dd>" in page
    assert "<dt>uncertain verdicts</dt><dd>1 of 2 verdicts uncertain, review file review.jsonl</dd>" in page

    md = markdown_summary(report)
    assert md.startswith("## ✅ MLB gate: PASS\n")
    assert "> all gates passed" not in md  # the reason is quoted only when the run did not pass
    assert (
        "- judge: 1 of 2 verdicts uncertain (50.0%): HB 1 — written to review.jsonl "
        '(set "decision" to yes/no there, then `mlb review apply`)'
    ) in md
    assert "| SmartServ | 1 | 0.667 |  | - | - | - |  |" in md


def errored_report() -> dict[str, Any]:
    """Answers that never came, a crossed red line and a malformed suite line: an infrastructure error."""
    report = first_version_report()
    report["items"] = [
        _item("KQA/q1"),
        _item("KQA/q2", "error", error="server said no <b>500</b>", explanation="no answer", latency_s=None),
        _item(
            "SE/q3",
            "wrong",
            dimension="MedSE",
            critical=True,
            red_line={"kind": "option", "crossed": ["B"], "description": "chose harmful option(s) B"},
        ),
        {"key": "suite:s/Bad.jsonl:4", "nodeid": "s/Bad.jsonl::line4", "outcome": "suite_error",
         "error": "line 4: not JSON", "location": "s/Bad.jsonl:4", "dataset": None},
    ]  # fmt: skip
    report["datasets"] = {
        "KQA": _dataset(score=1.0, ci=[0.2, 1.0], n=1, errors=1),
        "SE": _dataset("MedSE", score=0.0, ci=[0.0, 0.8], n=1, n_items=1, mirrors="MASafety"),
    }
    report["dimensions"]["MedSE"] = {"score": 0.0, "ci": [0.0, 0.8], "n": 1, "datasets": ["SE"], "missing": []}
    report["gates"] = [
        {"name": "errors", "passed": False, "reason": "1 of 3 items errored (33%) > 2%", "observed": 0.333,
         "threshold": 0.02, "status": "fail"},
        {"name": "red lines", "passed": False, "reason": "1 critical item crossed its red line", "observed": 1.0,
         "threshold": 0.0, "status": "fail"},
    ]  # fmt: skip
    report["verdict"], report["verdict_reason"] = "error", "1 of 3 items errored (33%) > 2%"
    report["run"].update(complete=False, incomplete_reason="2 of 3 items finished", items_collected=3)
    report["run"]["items_finished"] = 2
    return report


def test_a_run_with_errors_and_a_malformed_line() -> None:
    report = errored_report()
    validate_report(report)
    page = html_report(report)
    assert (
        '<div class="verdict error" id="verdict" data-verdict="error"><span class="word">MLB gate: ERROR</span>' in page
    )
    rows = {m[0]: m[1] for m in re.findall(r'<tr class="item-row" data-key="([^"]+)"[^>]*data-outcome="([^"]+)"', page)}
    assert rows == {"SE/q3": "red-line", "KQA/q2": "error", "suite:s/Bad.jsonl:4": "suite-error"}
    order = re.findall(r'<tr class="item-row" data-key="([^"]+)"', page)
    assert order == ["SE/q3", "KQA/q2", "suite:s/Bad.jsonl:4"]  # most serious first
    assert '<div class="status-fail">server said no &lt;b&gt;500&lt;/b&gt;</div>' in page
    assert '<div class="status-fail">red line: chose harmful option(s) B</div>' in page
    assert '<option value="None">None</option>' in page  # the suite line has no dataset
    assert "<dt>completeness</dt><dd>INCOMPLETE: 2 of 3 items finished</dd>" in page
    assert "<dt>items</dt><dd>4: 1 error, 1 pass, 1 suite_error, 1 wrong</dd>" in page
    assert "median 0.50 s, p95 0.50 s, max 0.50 s (2 answers)" in page  # errored and malformed: no latency
    ds = page.split('<tr class="dataset-row" data-dataset="KQA"', 1)[1].split("</tr>", 1)[0]
    assert "<td>1 errors</td>" in ds

    md = markdown_summary(report)
    assert md.startswith("## ⚠️ MLB gate: ERROR\n")
    assert "> 1 of 3 items errored (33%) > 2%\n" in md
    assert "- run: INCOMPLETE (2 of 3 items finished)" in md  # fewer finished than collected: cut short
    assert "- `errors` fail: 1 of 3 items errored (33%) > 2%" in md and "- `red lines` fail:" in md


def compared_report() -> dict[str, Any]:
    """A run compared with its baseline: a regression, a changed suite, paired tests and Holm p-values."""
    report = first_version_report()
    report["gates"] = [
        {"name": "MedKQA:drop<=0.05", "passed": False, "reason": "dropped 0.500 (p 0.01)", "baseline": 1.0,
         "observed": 0.5, "status": "fail", "delta": -0.5, "p_value": 0.01, "p_adjusted": 0.02, "n_shared": 2},
        {"name": "overall:drop<=0.05", "passed": True, "reason": "no significant drop", "status": "pass",
         "p_value": 0.3, "p_adjusted": 0.3},
    ]  # fmt: skip
    report["comparison"] = {
        "baseline": "baselines/sim-answer.json",
        "policy": ["MedKQA:drop<=0.05", "overall:drop<=0.05"],
        "policy_sources": ["default"],
        "alpha": 0.05,
        "min_shared": 1,
        "baseline_model": "python:sim:answer",
        "baseline_created": "2024-12-31T09:00:00+00:00",
        "baseline_selection": None,
        "fingerprint_match": False,
        "changes": {"added": {"count": 2, "keys": ["KQA/q8", "KQA/q9"]}, "removed": {"count": 1, "keys": ["KQA/q0"]}},
        "differences": {
            "MedKQA": {
                "n_shared": 2,
                "baseline": 1.0,
                "current": 0.5,
                "drop": 0.5,
                "p_value": 0.01,
                "ci": [-0.9, -0.1],
                "test": "exact McNemar",
            },
        },  # fmt: skip
        "regressions": [
            {
                "key": "KQA/q2",
                "dataset": "KQA",
                "id": "q2",
                "critical": False,
                "expected": ["A", "C"],
                "got": "B " + "very long answer " * 5,
                "baseline_got": "A,C",
                "explanation": "chose B",
            },
        ],  # fmt: skip
    }
    report["run"]["revision"] = {"model": {"revision": "ckpt-7", "source": "server", "system_fingerprints": ["fp1"]}}
    report["run"]["generation"].update(cached=2, cached_oldest=1735725600.0, cached_newest=1735725600.0)
    return report


def test_a_run_compared_with_its_baseline() -> None:
    report = compared_report()
    validate_report(report)
    page = html_report(report)
    kqa = page.split('<tr class="dim-row" data-dimension="MedKQA">', 1)[1].split("</tr>", 1)[0]
    assert '<td class="num" title="on 2 shared items">1.000</td>' in kqa
    assert '<td class="num" title="on 2 shared items">-0.500</td>' in kqa and '<td class="num">0.01</td>' in kqa
    assert '<span class="muted">Holm p 0.02</span>' in kqa
    bars = re.findall(r'<rect class="base-bar" data-dimension="([^"]+)"', page)
    assert bars == ["MedKQA"]  # the baseline's score on shared items, from the run's own comparison
    assert "MedKQA baseline: 1.000 (on shared items)" in page
    row = _row(page, "item-row", 'data-key="KQA/q2"')
    assert 'data-outcome="regressed"' in row and "baseline answered: A,C" in row
    base = page.split("<h3>Baseline</h3>", 1)[1].split("</dl>", 1)[0]
    assert "<dt>file</dt><dd><code>baselines/sim-answer.json</code></dd>" in base
    assert "<dt>suite</dt><dd>changed: 2 added, 1 removed, 0 changed</dd>" in base
    assert "<dt>policy</dt><dd>MedKQA:drop&lt;=0.05, overall:drop&lt;=0.05</dd>" in base
    assert '<code>ckpt-7</code> <span class="muted">(server · system_fingerprint fp1)</span>' in page

    md = markdown_summary(report)
    assert "| MedKQA | 2 | 0.500 | 0.100–0.900 | 1.000 | -0.500 | 0.02 | FAIL |" in md
    assert "| **overall** | 2 | 0.500 | 0.100–0.900 | - | - | 0.3 | pass |" in md
    assert "- model revision: ckpt-7 (from the adapter); system_fingerprint fp1" in md
    assert "- cache: 2 answers came from the cache (stored 2025-01-01 10:00 UTC)" in md
    assert "<details><summary>1 regressed items</summary>" in md
    assert "| KQA/q2 | A,C | B very long answer very long answer ver… |" in md


def test_a_baseline_file_given_to_the_page_is_compared_afresh() -> None:
    report = compared_report()
    baseline = {
        "mlb_baseline": 1,
        "model": "python:sim:older",
        "created": "2024-11-30T08:00:00+00:00",
        "dimensions": {"MedKQA": {"score": 1.0, "ci": [0.3, 1.0]}},
        "items": {
            "KQA/q1": {"dataset": "KQA", "dimension": "MedKQA", "metric": "accuracy", "score": 1.0, "passed": True,
                       "outcome": "pass", "weight": 1.0, "content_hash": "h-KQA/q1", "critical": False,
                       "expected": "A", "response": "A"},
            "KQA/q2": {"dataset": "KQA", "dimension": "MedKQA", "metric": "accuracy", "score": 1.0, "passed": True,
                       "outcome": "pass", "weight": 1.0, "content_hash": "h-KQA/q2", "critical": False,
                       "expected": "A", "response": "A"},
        },
    }  # fmt: skip
    page = html_report(report, baseline)
    assert "Compared with the baseline of python:sim:older (2024-11-30T08:00:00+00:00)" in page
    assert "MedKQA baseline: 1.000 (95% CI 0.300–1.000)" in page  # the file's stored score and interval
    ds = page.split('<tr class="dataset-row" data-dataset="KQA"', 1)[1].split("</tr>", 1)[0]
    assert '<td class="num" title="on 2 shared items">1.000</td>' in ds and "-0.500" in ds
    assert "baseline answered: A</div>" in page  # this file's answer, not the run's own comparison's "A,C"
    assert "baseline answered: A,C" not in page


def test_token_ledgers_and_what_breaks_the_contract() -> None:
    report = compared_report()
    report["run"]["usage"] = {
        "model": {"spec": "openai:m", "counting": "api", "requests": 2, "cached": 1, "prompt_tokens": 1234,
                  "completion_tokens": 56, "reasoning_tokens": 0, "cached_prompt_tokens": 10,
                  "cached_completion_tokens": 2, "cached_reasoning_tokens": 0, "no_usage": 0, "wall_s": 1.25},
        "judge": {"spec": "python:sim:judge", "counting": "not counted", "requests": 4, "cached": 0,
                  "prompt_tokens": None, "completion_tokens": None, "reasoning_tokens": None,
                  "cached_prompt_tokens": None, "cached_completion_tokens": None, "cached_reasoning_tokens": None,
                  "wall_s": 0.0},
    }  # fmt: skip
    validate_report(report)
    table = html_report(report).split('<table id="tokens">', 1)[1].split("</table>", 1)[0]
    heads = re.findall(r'<th class="num">([^<]+)</th>', table)
    assert heads[:4] == ["requests", "cached", "prompt_tokens", "completion_tokens"] and heads[-1] == "wall_s"
    assert "<td>model</td>" in table and '<td class="num">1,234</td>' in table and '<td class="num">1.2</td>' in table
    judge = table.split("<td>judge</td>", 1)[1].split("</tr>", 1)[0]
    assert judge.count("–") == len(heads) - 3  # not counted: only requests, cached and wall time

    hand_made = copy.deepcopy(report)
    hand_made["run"]["usage"] = {"model": {"prompt_tokens": 1200, "completion_tokens": 34}}
    assert '<td class="num">1,200</td>' in html_report(hand_made)  # the page shows a ledger as it is given
    with pytest.raises(ReportSchemaError, match=r"run\.usage\.model\.spec: Field required"):
        markdown_summary(hand_made)  # the Markdown summary is written from runs, which meet the contract
    broken = copy.deepcopy(report)
    broken["datasets"]["KQA"]["status"] = "done"
    with pytest.raises(ReportSchemaError, match=r"datasets\.KQA\.status: Input should be 'scored'"):
        html_report(broken)


def test_a_typed_report_reads_as_its_json() -> None:
    for build in (first_version_report, rubric_report, errored_report, compared_report):
        data = build()
        typed = validate_report(data)
        assert html_report(typed) == html_report(data)
        assert markdown_summary(typed) == markdown_summary(data)


def test_item_categories_from_typed_items_and_bare_dicts() -> None:
    typed = validate_report(errored_report())
    assert [item_outcomes(it, False) for it in typed.items] == [[], ["error"], ["red-line", "wrong"], ["suite-error"]]
    assert item_outcomes({"outcome": "wrong", "critical": True}, True) == ["regressed", "critical-wrong", "wrong"]
    assert item_outcomes({"outcome": "wrong", "critical": True, "red_line": {}}, False) == ["critical-wrong", "wrong"]


def test_shared_text_pieces() -> None:
    old = Gate(name="KQA>=0.5", passed=True, reason="ok")
    assert gate_status(old) == "pass" and gate_status(Gate(name="x", passed=False, reason="no")) == "fail"
    assert gate_status(Gate(name="x", passed=True, reason="-", status="no-baseline")) == "no-baseline"
    report = validate_report(compared_report())
    assert gate_cells("MedKQA", report) == ("1.000", "-0.500", "0.02", "FAIL")
    assert gate_cells("MedSE", report) == ("-", "-", "-", "")
    assert short(["A", "C"]) == "A,C" and short({"症状": ["发热"]}) == "{'症状': ['发热']}"
    assert short("a  b\nc" * 30, 10) == "a b ca b …"
    narrowed = validate_report(first_version_report()).run.model_copy(
        update={"complete": False, "incomplete_reason": "--mlb-limit=1", "items_collected": 1, "items_finished": 1}
    )
    assert trust_lines(narrowed) == ["run: narrowed (--mlb-limit=1)"]
    cached = narrowed.model_copy(update={"generation": narrowed.generation.model_copy(update={"cached": 3})})
    assert trust_lines(cached)[1].startswith("cache: 3 answers came from the cache (stored ?); the model's revision")


def test_the_leaderboard_reads_typed_reports(tmp_path: Path) -> None:
    paths = []
    for name, score in (("a", 0.9), ("b", 0.4)):
        report = first_version_report()
        report["run"]["model"] = f"python:sim:{name}"
        report["dimensions"]["MedKQA"]["score"] = report["overall"]["score"] = score
        if name == "b":
            report["run"]["revision"] = {"model": {"revision": "r2", "source": "option"}}
            report["run"].update(complete=False, incomplete_reason="--mlb-limit=2")
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(report), encoding="utf-8")
        paths.append(str(path))
    board = compare_files(list(reversed(paths)))
    assert [r.label for r in board.runs] == ["python:sim:a", "python:sim:b (r2)"]
    lines = terminal_lines(board)
    assert any(line.startswith(f"warning: {paths[1]}: incomplete run (--mlb-limit=2)") for line in lines)
    row = next(line for line in lines if line.startswith("1  python:sim:a"))
    assert "0.900 [0.100, 0.900]" in row and row.rstrip().endswith("0.900 [0.100, 0.900]")
    broken = json.loads(Path(paths[0]).read_text(encoding="utf-8"))
    broken["gates"][0]["status"] = "ok"  # passes the leaderboard's own checks, not the contract
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(LeaderboardError, match=rf"^{re.escape(str(bad))}: report does not match schema_version 1:"):
        load_run(bad)
