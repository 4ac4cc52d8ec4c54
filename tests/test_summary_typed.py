"""The terminal summary (``summary_lines``) on reports built here by hand.

It reads the report typed, through a view without the items (``report_text.summary_view``), and
counts the items in one pass over the raw rows (``report_text.outcome_counts``), because it runs
at the end of every run, including runs of 100,000 items. These tests pin its lines for a passing
run, a failing drop gate against a baseline, a run with errors, one waiting for a judge and a
first-version schema_version 1 report, and check that the items are counted, never validated.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from report_builders import item_result

from mlb_pytest.report_model import ReportSchemaError, validate_report
from mlb_pytest.report_text import REGRESSIONS_SHOWN, gate_cells, outcome_counts, summary_view
from mlb_pytest.summary import rubric_tag_lines, summary_lines

HEAD = "dimension  dataset  metric    n    score  95% CI          baseline  delta   p       gate  note"


def _item(key: str, outcome: str = "pass", **kw: Any) -> dict[str, Any]:
    return item_result(
        key, outcome, **{"specialty": None, **({} if outcome == "pass" else {"explanation": "no"}), **kw}
    )


def _gate(name: str, status: str, reason: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, "passed": status not in ("fail", "insufficient"), "reason": reason, "status": status, **kw}


def passing_report() -> dict[str, Any]:
    """Four right answers, complete, one floor gate passed and a drop gate without a baseline."""
    return {
        "schema_version": 1,
        "run": {
            "run_id": "run-1",
            "model": "python:sim:answer",
            "judge": None,
            "suite_fingerprint": "sha256:abc",
            "options": {"model": "python:sim:answer"},
            "started": "2025-01-01T10:00:00+00:00",
            "ended": "2025-01-01T10:03:00+00:00",
            "python": "3.11.7",
            "generation": {"processes": 1, "requests": 4, "sent": 5, "cached": 0, "errors": 0},
            "plugin_version": "0.1.0",
            "complete": True,
            "incomplete_reason": None,
            "items_collected": 4,
            "items_finished": 4,
        },
        "items": [_item(f"KQA/q{i}") for i in range(4)],
        "datasets": {
            "KQA": {
                "dimension": "MedKQA",
                "metric": "accuracy",
                "score": 1.0,
                "ci": (0.51, 1.0),  # in process, before the JSON is written: a tuple
                "n": 4,
                "n_items": 4,
                "errors": 0,
                "needs_judge": 0,
                "status": "scored",
                "mirrors": "CMExam",
            }
        },
        "dimensions": {"MedKQA": {"score": 1.0, "ci": [1.0, 1.0], "n": 4, "datasets": ["KQA"], "missing": []}},
        "overall": {
            "score": 1.0,
            "ci": [1.0, 1.0],
            "n": 4,
            "dimensions": ["MedKQA"],
            "missing": ["MedSE", "MedRU", "SmartServ", "SmartCare"],
            "partial": True,
        },
        "ci_method": {"dataset": "wilson", "dimension": "bootstrap"},
        "gates": [
            _gate("MedKQA>=0.8", "pass", "MedKQA 1.000 >= floor 0.80", observed=1.0, threshold=0.8),
            _gate("MedKQA:drop<=0.02", "no-baseline", "no baseline: run with --mlb-update-baseline"),
        ],
        "verdict": "pass",
        "verdict_reason": "all gates passed",
    }


def test_a_passing_run() -> None:
    report = passing_report()
    assert summary_lines(report) == [
        "dimension  dataset  metric    n    score  95% CI          baseline  delta  p  gate  note",
        "MedKQA                        4    1.000  [1.000, 1.000]  -         -      -  pass",
        "           KQA      accuracy  4/4  1.000  [0.510, 1.000]",  # no gate names the dataset
        "overall                       4    1.000  [1.000, 1.000]  -         -      -        "
        "partial: MedSE, MedRU, SmartServ, SmartCare unscored",
        "",
        "items: 4 (4 right, 0 wrong, 0 need a judge, 0 errors)",
        "generation: 4 requests sent (5 attempts), 0 from cache, 0 errors",
        "run: complete",
        "drop gates not tested (MedKQA:drop<=0.02): no baseline: run with --mlb-update-baseline",
        "MLB gate: PASS",
    ]


def compared_report(regressed: int = 22) -> dict[str, Any]:
    """Compared with a baseline: MedKQA dropped significantly, ``regressed`` items right before and wrong now."""
    report = passing_report()
    report["items"] = [_item("KQA/q0")] + [_item(f"KQA/r{i:02d}", "wrong") for i in range(regressed)]
    n = len(report["items"])
    report["run"]["generation"].update(requests=n, sent=n, cached=2, cached_oldest=1735725600.0)
    report["run"]["revision"] = {"model": {"revision": "ckpt-7", "source": "option", "system_fingerprints": ["fp_1"]}}
    report["run"].update(items_collected=n, items_finished=n)
    report["datasets"]["KQA"].update(score=1 / n, ci=[0.01, 0.2], n=n, n_items=n)
    report["dimensions"]["MedKQA"].update(score=1 / n, ci=[0.0, 0.15], n=n)
    report["overall"].update(score=1 / n, ci=[0.0, 0.15], n=n)
    report["gates"] = [
        _gate("MedKQA>=0.8", "fail", f"MedKQA {1 / n:.3f} < floor 0.80", observed=1 / n, threshold=0.8),
        _gate("MedKQA:drop<=0.02", "fail", "regression: dropped 0.957", p_value=0.0001, p_adjusted=0.0002),
        _gate("KQA:drop<=0.05", "pass", "dropped 0.957, allowed", p_value=0.0001, p_adjusted=0.0003),
        _gate("overall:drop<=0.02", "inconclusive", "cannot detect a 0.02 drop", p_value=0.3),
    ]
    report["verdict"] = "fail"
    report["verdict_reason"] = "gates failed"
    report["comparison"] = {
        "baseline": "baselines/sim.json",
        "policy": ["MedKQA:drop<=0.02"],
        "policy_sources": ["default"],
        "alpha": 0.05,
        "min_shared": 30,
        "baseline_model": "python:sim:answer",
        "baseline_created": "2024-12-01T09:00:00+00:00",
        "baseline_selection": None,
        "fingerprint_match": False,
        "changes": {
            "added": {"count": 1, "keys": ["KQA/new"]},
            "removed": {"count": 0, "keys": []},
            "changed": {"count": 2, "keys": ["KQA/r00", "KQA/r01"]},
        },
        "differences": {
            "MedKQA": {
                "n_shared": n,
                "baseline": 1.0,
                "current": 1 / n,
                "drop": 1 - 1 / n,
                "p_value": 0.0001,
                "ci": [0.9, 1.0],
                "test": "exact McNemar",
            },
            "KQA": {
                "n_shared": n,
                "baseline": 0.5,
                "current": 1 / n,
                "drop": 0.5 - 1 / n,
                "p_value": 0.0001,
                "ci": [0.3, 0.6],
                "test": "exact McNemar",
            },
        },
        "regressions": [
            {
                "key": f"KQA/r{i:02d}",
                "dataset": "KQA",
                "id": f"r{i:02d}",
                "critical": False,
                "expected": ["A", "C"] if i == 0 else "A",
                "got": "B  because\nthe guideline says so " * (3 if i == 1 else 1),
                "baseline_got": "A",
                "explanation": "chose B",
            }
            for i in range(regressed)
        ],
    }
    return report


def test_a_failing_drop_gate_against_a_baseline() -> None:
    lines = summary_lines(compared_report())
    assert lines[:4] == [
        "dimension  dataset  metric    n      score  95% CI          baseline  delta   p       gate          note",
        "MedKQA                        23     0.043  [0.000, 0.150]  1.000     -0.957  0.0002  FAIL",
        "           KQA      accuracy  23/23  0.043  [0.010, 0.200]  0.500     -0.457  0.0003  pass",
        "overall                       23     0.043  [0.000, 0.150]  -         -       0.3     inconclusive  "
        "partial: MedSE, MedRU, SmartServ, SmartCare unscored",
    ]
    tail = lines[lines.index("run: complete") :]
    assert tail == [
        "run: complete",
        "model revision: ckpt-7 (stated); system_fingerprint fp_1",
        "cache: 2 answers came from the cache (stored 2025-01-01 10:00 UTC)",
        "baseline: baselines/sim.json (python:sim:answer, 2024-12-01T09:00:00+00:00); suite changed: compared on "
        "shared items, 1 added, 0 removed, 2 edited",
        "regressed items (right in the baseline, wrong now): 22",
        "  KQA/r00: expected A,C, got B because the guideline says so",
        "  KQA/r01: expected A, got B because the guideline says so B because the guideline say…",
        *[f"  KQA/r{i:02d}: expected A, got B because the guideline says so" for i in range(2, REGRESSIONS_SHOWN)],
        "  ... 2 more in the JSON report",
        "gate FAIL: MedKQA>=0.8: MedKQA 0.043 < floor 0.80",
        "gate FAIL: MedKQA:drop<=0.02: regression: dropped 0.957",
        "gate inconclusive: overall:drop<=0.02: cannot detect a 0.02 drop",
        "MLB gate: FAIL (MedKQA>=0.8: MedKQA 0.043 < floor 0.80; MedKQA:drop<=0.02: regression: dropped 0.957)",
    ]


def test_exactly_the_shown_regressions_need_no_more_line() -> None:
    lines = summary_lines(compared_report(regressed=REGRESSIONS_SHOWN))
    assert f"regressed items (right in the baseline, wrong now): {REGRESSIONS_SHOWN}" in lines
    assert not any(line.startswith("  ... ") for line in lines)
    assert not any(line.startswith("regressed items") for line in summary_lines(compared_report(regressed=0)))


def errored_report() -> dict[str, Any]:
    """Two of five items not answered: the error gate makes the verdict an error."""
    report = passing_report()
    report["items"] = [_item("KQA/q0"), _item("KQA/q1"), _item("KQA/q2", "wrong")]
    report["items"] += [_item("KQA/q3", "error"), _item("KQA/q4", "error")]
    report["run"]["generation"].update(requests=5, sent=7, errors=2)
    report["run"]["concurrency"] = {
        "configured": 8,
        "final": 2,
        "lowest": 1,
        "backoffs": 3,
        "overloads": 0,
        "adaptive": True,
        "processes": 1,
    }
    report["datasets"]["KQA"].update(score=2 / 3, ci=[0.2, 0.94], n=3, n_items=5, errors=2)
    report["dimensions"]["MedKQA"].update(score=2 / 3, ci=[0.2, 0.94], n=3)
    report["overall"].update(score=2 / 3, ci=[0.2, 0.94], n=3)
    report["gates"] = [
        _gate("infrastructure errors", "fail", "2 of 5 items could not be answered (40.0%, allowed 2%)"),
        _gate("KQA>=0.8", "fail", "KQA 0.667 < floor 0.80", observed=2 / 3, threshold=0.8),
    ]
    report["verdict"] = "error"
    report["verdict_reason"] = "2 of 5 items could not be answered (40.0%, allowed 2%)"
    return report


def test_a_run_with_errors() -> None:
    lines = summary_lines(errored_report())
    assert lines[1:3] == [
        "MedKQA                        3    0.667  [0.200, 0.940]  -         -      -",
        "           KQA      accuracy  3/5  0.667  [0.200, 0.940]  -         -      -  FAIL  2 errors",
    ]
    assert lines[5:] == [
        "items: 5 (2 right, 1 wrong, 0 need a judge, 2 errors)",
        "generation: 5 requests sent (7 attempts), 0 from cache, 2 errors",
        "concurrency: settled at 2 (started 8, lowest 1; 3 back-offs on 0 timeouts or rate limits)",
        "run: complete",
        "gate FAIL: infrastructure errors: 2 of 5 items could not be answered (40.0%, allowed 2%)",
        "gate FAIL: KQA>=0.8: KQA 0.667 < floor 0.80",
        "MLB gate: ERROR (2 of 5 items could not be answered (40.0%, allowed 2%))",
    ]


def needs_judge_report() -> dict[str, Any]:
    """An open dataset run without a judge, a choice dataset beside it, and a malformed suite line."""
    report = passing_report()
    report["items"] += [
        _item(f"Open/o{i}", "needs_judge", task="open", metric="judge", score=None, response="Rest.") for i in range(3)
    ]
    report["items"].append(
        {
            "key": "s/Open.jsonl:7",
            "nodeid": "s/Open.jsonl::line7",
            "outcome": "suite_error",
            "error": "line 7: not JSON",
            "location": "s/Open.jsonl:7",
            "dataset": None,
        }
    )
    report["datasets"]["Open"] = {
        "dimension": "MedKQA",
        "metric": "judge",
        "score": None,
        "ci": None,
        "n": 0,
        "n_items": 3,
        "errors": 0,
        "needs_judge": 3,
        "status": "needs_judge",
        "mirrors": None,
    }
    report["datasets"]["KQA"]["needs_judge"] = 1
    report["run"]["judge_uncertain"] = {"verdicts": 8, "uncertain": 2, "share": 0.25, "review_file": "review.jsonl"}
    report["datasets"]["KQA"]["judge_uncertain"] = 2
    report["gates"] = [_gate("suite files", "fail", "1 malformed suite line")]
    report["verdict"] = "fail"
    report["verdict_reason"] = "suite files: 1 malformed suite line"
    return report


def test_a_run_waiting_for_a_judge_with_a_malformed_line() -> None:
    lines = summary_lines(needs_judge_report())
    assert lines[:4] == [
        "dimension  dataset  metric    n    score  95% CI          baseline  delta  p  gate  note",
        "MedKQA                        4    1.000  [1.000, 1.000]  -         -      -",
        "           KQA      accuracy  4/4  1.000  [0.510, 1.000]                            1 need a judge",
        "           Open     judge     0/3  -                                                needs a judge (3 items)",
    ]
    assert lines[6:] == [
        "items: 8 (4 right, 0 wrong, 3 need a judge, 0 errors, 1 malformed suite lines)",
        "generation: 4 requests sent (5 attempts), 0 from cache, 0 errors",
        "run: complete",
        "judge: 2 of 8 verdicts uncertain (25.0%): KQA 2 — written to review.jsonl "
        '(set "decision" to yes/no there, then `mlb review apply`)',
        "gate FAIL: suite files: 1 malformed suite line",
        "MLB gate: FAIL (suite files: 1 malformed suite line)",
    ]


def first_version_report() -> dict[str, Any]:
    """Only what the first schema_version 1 report wrote: no gate status, completeness, usage or comparison."""
    report = passing_report()
    for key in ("complete", "incomplete_reason", "items_collected", "items_finished"):
        del report["run"][key]
    report["items"][1].update(outcome="wrong", passed=False, score=0.0, response="B")
    report["datasets"]["KQA"].update(score=0.75)
    report["gates"] = [
        {"name": "KQA>=0.8", "passed": False, "reason": "KQA 0.750 < floor 0.80", "observed": 0.75,
         "threshold": 0.8, "baseline": None, "p_value": None},
        {"name": "suite files", "passed": True, "reason": "no malformed lines", "observed": 0.0,
         "threshold": 0.0, "baseline": None, "p_value": None},
    ]  # fmt: skip
    report["verdict"] = "fail"
    report["verdict_reason"] = "KQA>=0.8: KQA 0.750 < floor 0.80"
    return report


def test_a_first_version_report_without_gate_statuses() -> None:
    report = first_version_report()
    validate_report(report)
    # gates written before statuses existed are pass or fail by their flag (the dict-reading summary raised KeyError)
    assert summary_lines(report) == [
        "dimension  dataset  metric    n    score  95% CI          baseline  delta  p  gate  note",
        "MedKQA                        4    1.000  [1.000, 1.000]  -         -      -",
        "           KQA      accuracy  4/4  0.750  [0.510, 1.000]  -         -      -  FAIL",
        "overall                       4    1.000  [1.000, 1.000]  -         -      -        "
        "partial: MedSE, MedRU, SmartServ, SmartCare unscored",
        "",
        "items: 4 (3 right, 1 wrong, 0 need a judge, 0 errors)",
        "generation: 4 requests sent (5 attempts), 0 from cache, 0 errors",
        "gate FAIL: KQA>=0.8: KQA 0.750 < floor 0.80",
        "MLB gate: FAIL (KQA>=0.8: KQA 0.750 < floor 0.80)",
    ]


# --- the view and the counts ----------------------------------------------------------------------


def test_the_items_are_counted_never_validated() -> None:
    report = passing_report()
    # rows that are no ItemResult: the summary reads only their outcome (and details.method)
    report["items"] = [{"outcome": "pass"}] * 99_999 + [
        {"outcome": "wrong", "details": {"method": "model:mock:extractor"}}
    ]
    report["run"]["extractor"] = "mock:extractor"
    lines = summary_lines(report)
    assert "items: 100000 (99999 right, 1 wrong, 0 need a judge, 0 errors)" in lines
    assert (
        "extraction: 1 choice replies the rules could not read were read by the extractor model (mock:extractor); "
        "their items say method model:…"
    ) in lines
    view = summary_view(report)
    assert not hasattr(view, "items") and view.run.extractor == "mock:extractor"


def test_the_view_keeps_only_the_regressions_it_shows() -> None:
    report = compared_report(regressed=REGRESSIONS_SHOWN + 30)
    before = copy.deepcopy(report)
    view = summary_view(report)
    assert report == before  # the report dict is read, never changed
    assert [r.id for r in view.first_regressions] == [f"r{i:02d}" for i in range(REGRESSIONS_SHOWN)]
    assert view.comparison is not None and view.comparison.regressions is None
    counts = outcome_counts(report)
    assert (counts.items, counts.regressed, counts.outcomes["wrong"], counts.outcomes["error"]) == (51, 50, 50, 0)
    typed = validate_report(report)
    for target in ("MedKQA", "KQA", "overall", "MedSE"):
        assert gate_cells(target, view) == gate_cells(target, typed)


def test_a_report_off_the_contract_is_refused_by_field() -> None:
    report = compared_report()
    report["comparison"]["regressions"][3]["dataset"] = 7
    with pytest.raises(ReportSchemaError, match=r"comparison\.regressions\.3\.dataset: Input should be a valid string"):
        summary_lines(report)
    report = passing_report()
    report["datasets"]["KQA"]["score"] = "1.0"
    with pytest.raises(ReportSchemaError, match=r"datasets\.KQA\.score: Input should be a valid number"):
        summary_lines(report)


def test_rubric_tags_read_the_same_from_the_view_and_the_report() -> None:
    report = passing_report()
    report["datasets"]["KQA"]["tags"] = {
        **{f"theme:t{i}": {"score": 0.5, "n": 2} for i in range(3)},
        **{f"axis:a{i}": {"score": 1 - i / 10, "n": 3} for i in range(11)},
        "other": {"score": 0.0, "n": 1},
    }
    lines = rubric_tag_lines(summary_view(report))
    assert lines == rubric_tag_lines(validate_report(report))
    assert lines[0] == "  KQA tags: axis:a0 1.000 (n=3), axis:a1 0.900 (n=3), axis:a10 0.000 (n=3), axis:a2 0.800 (n=3)"
    assert lines[-1] == "            … 3 more tags in the JSON report"
    assert lines == summary_lines(report)[4 : 4 + len(lines)]
