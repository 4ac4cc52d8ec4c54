"""Item results kept in a spool file (issue 17): the compact rows read like the full results, and the
report streamed from the spool has the bytes ``json.dumps`` gives for the results in memory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from release_fixture import write_native

from conftest import load_report
from mlb_pytest._atomic import write_json_atomic
from mlb_pytest.run.finishing import SPOOLED_ONLY, Collected, ItemRow, ResultSpool, SpooledItems


def _result(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "key": f"ds/{i:03d}",
        "id": f"{i:03d}",
        "dataset": "ds",
        "nodeid": f"s.jsonl::{i}",
        "messages": [{"role": "user", "content": f'问题 {i}\n换行 "引号" \\ \u2028 \U0001f600'}],
        "expected": ["A"],
        "response": "A" if i % 2 else None,
        "score": 1.0 if i % 2 else float("nan"),
        "passed": bool(i % 2),
        "outcome": "pass" if i % 2 else "wrong",
        "details": {"tp": 1, "verdicts": [{"verdict": "yes"}], "extracted": ("A",)},
        "samples": [{"response": "A", "raw": "A", "score": 1.0, "tp": 1}],
        "usage": {"model": {"requests": 1, "sent_at": (1.5, 2.5)}},
        "weight": 1e-7,
        "empty": {},
        "none_list": [],
        **extra,
    }


def test_a_row_keeps_the_small_fields_and_reads_the_rest_back() -> None:
    spool = ResultSpool()
    full = _result(1)
    row = ItemRow(dict(full), spool)
    assert not SPOOLED_ONLY & set(row.keys())
    assert row["response"] == "A" and row.get("expected") == ["A"] and "messages" in row
    assert row.get("error", "none") == "none" and "error" not in row
    with pytest.raises(KeyError):
        row["error"]
    assert row.get("not a field") is None and "not a field" not in row  # no spool read for unknown keys
    assert row["details"] == {"tp": 1, "extracted": ("A",)}  # verdicts only in the spool
    assert row["samples"] == [{"score": 1.0, "tp": 1}]
    assert row.full()["details"]["verdicts"] == [{"verdict": "yes"}]


def test_the_streamed_report_has_the_bytes_of_the_report_in_memory(tmp_path: Path) -> None:
    c = Collected()
    results = [_result(i) for i in (3, 1, 2)] + [_result(1, response="B")]  # a later result for a node wins
    for r in results:
        c.record(dict(r))
    rows = sorted(c.results.values(), key=lambda r: str(r["key"]))
    items = SpooledItems(rows)
    report: dict[str, Any] = {"schema_version": 1, "run": {"a": [1, {"b": None}]}, "items": items, "tail": []}
    write_json_atomic(tmp_path / "streamed.json", report)
    latest = {r["nodeid"]: r for r in results}
    whole = {**report, "items": sorted(latest.values(), key=lambda r: str(r["key"]))}
    expected = json.dumps(whole, ensure_ascii=False, indent=1, default=str) + "\n"
    assert (tmp_path / "streamed.json").read_text(encoding="utf-8") == expected
    assert len(items) == 3 and items[0]["response"] == "B"

    write_json_atomic(tmp_path / "empty.json", {**report, "items": SpooledItems([])})
    assert (tmp_path / "empty.json").read_text() == json.dumps({**report, "items": []}, indent=1) + "\n"


def test_a_run_streams_its_report_and_keeps_the_answers(pytester: pytest.Pytester) -> None:
    write_native(pytester.path / "s" / "demo.jsonl", 4)
    r = pytester.runpytest("s", "--mlb-model=mock:oracle", "--mlb-report=r.json", "-p", "no:cacheprovider")
    assert r.ret == 0
    report = load_report(pytester.path / "r.json")
    assert len(report["items"]) == 4
    assert all(it["response"] and it["messages"] and it["nodeid"] for it in report["items"])
