"""--mlb-sequential in whole runs: a broken candidate stops early on a regression, an unchanged one
stops early on futility, both with the gate verdicts and exit codes of a full run, in one process
and under xdist. The decision rules themselves are tested in test_sequential.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from release_fixture import native_header

from conftest import load_report

N = 300
READER = """import re

def answer(messages, **params):
    return re.search(r"^([A-Z])\\.正确说法", messages[-1]["content"], re.M).group(1)
"""
FIRST = "def answer(messages, **params):\n    return 'A'\n"


def _suite(pytester: pytest.Pytester) -> None:
    path = pytester.path / "s" / "demo.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [native_header()]
    for i in range(N):
        answer = "ABC"[i % 3]
        options = {"A": f"说法甲{i}", "B": f"说法乙{i}", "C": f"说法丙{i}"}
        options[answer] = f"正确说法{i}"
        item = {"id": f"q{i:04d}", "question": f"第{i}题：下列哪项正确？", "options": options, "answer": answer}
        lines.append(json.dumps(item, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _run(pytester: pytest.Pytester, body: str, *extra: str, xdist: bool = False) -> tuple[Any, dict[str, Any]]:
    pytester.makepyfile(scripted=body)
    args = ["s", "--mlb-model=python:scripted:answer", "--mlb-report=r.json", "-p", "no:cacheprovider", *extra]
    r = pytester.runpytest_subprocess(*args, "-n", "2") if xdist else pytester.runpytest(*args, "--mlb-no-cache")
    return r, load_report(pytester.path / "r.json")


def _baseline(pytester: pytest.Pytester) -> None:
    _suite(pytester)
    r, report = _run(pytester, READER, "--mlb-update-baseline", "--mlb-baseline=base.json")
    assert report["baseline_update"]["written"] and report["overall"]["score"] == 1.0


def test_a_broken_candidate_stops_early_on_a_regression(pytester: pytest.Pytester) -> None:
    _baseline(pytester)
    r, report = _run(pytester, FIRST, "--mlb-sequential", "--mlb-baseline=base.json")
    seq = report["sequential"]
    assert seq["stopped"] and seq["items_run"] < N / 3
    assert {g["decision"] for g in seq["gates"].values()} == {"regression"}
    assert set(seq["gates"]) == {"MedKQA:drop<=0.02", "overall:drop<=0.02"}
    gate = next(g for g in report["gates"] if g["name"] == "MedKQA:drop<=0.02")
    assert gate["status"] == "fail" and "sequential" in gate["reason"] and gate["n_shared"] == seq["items_run"]
    run = report["run"]
    assert not run["interrupted"] and run["stopped"] is None and run["selection"]["sequential"]
    assert run["items_finished"] == seq["items_run"] == len(report["items"])
    completeness = next(g for g in report["gates"] if g["name"] == "run completeness")
    assert completeness["passed"]
    assert r.ret == 1 and report["verdict"] == "fail"
    r.stdout.fnmatch_lines(["mlb sequential: stopped after * items; MedKQA:drop<=0.02 regression (sequential*"])
    from mlb_pytest.markdown import markdown_summary

    assert f"- sequential gates: stopped after {seq['items_run']} items; MedKQA:drop<=0.02 regression" in (
        markdown_summary(report)
    )
    # the order is the seeded shuffle, not the file's: the items run are spread over the whole suite
    ids = [int(i["id"][1:]) for i in report["items"]]
    assert max(ids) > N // 2 and min(ids) < N // 4


def test_an_unchanged_candidate_stops_early_on_futility_and_passes(pytester: pytest.Pytester) -> None:
    _baseline(pytester)
    r, report = _run(pytester, READER, "--mlb-sequential", "--mlb-baseline=base.json")
    seq = report["sequential"]
    assert seq["stopped"] and seq["items_run"] < N / 2
    assert {(g["decision"], g["rule"]) for g in seq["gates"].values()} == {("no regression", "futility")}
    gates = {g["name"]: g for g in report["gates"]}
    assert gates["MedKQA:drop<=0.02"]["status"] == "pass" and gates["overall:drop<=0.02"]["status"] == "pass"
    assert r.ret == 0 and report["verdict"] == "pass"


def test_without_a_baseline_every_item_runs(pytester: pytest.Pytester) -> None:
    _suite(pytester)
    r, report = _run(pytester, READER, "--mlb-sequential")
    assert len(report["items"]) == N and "sequential" not in report
    r.stdout.fnmatch_lines(["*--mlb-sequential: no baseline to compare with, so every item was run*"])


def test_xdist_workers_stop_when_the_controller_decides(pytester: pytest.Pytester) -> None:
    _baseline(pytester)
    r, report = _run(pytester, FIRST, "--mlb-sequential", "--mlb-baseline=base.json", "--mlb-no-cache", xdist=True)
    seq = report["sequential"]
    assert seq["stopped"] and len(report["items"]) < N
    assert report["run"]["selection"]["sequential"] and not report["run"]["interrupted"]
    assert r.ret == 1 and report["verdict"] == "fail"


def test_the_dry_run_states_each_drop_gates_power(pytester: pytest.Pytester) -> None:
    from mlb_pytest.sequential import min_detectable_drop

    _baseline(pytester)
    r = pytester.runpytest("s", "--mlb-model=python:scripted:answer", "--mlb-baseline=base.json", "--mlb-dry-run")
    mde = min_detectable_drop(N, 0.05 / 2, 0.8, 0.25)  # two drop gates (MedKQA and overall) share alpha
    r.stdout.fnmatch_lines(
        [
            f"power: MedKQA:drop<=0.02 on {N} shared items detects a drop of {mde:.3f} or more with 80% power at "
            "alpha 0.025, assuming 25% of items change (a pass would read inconclusive)",
            "power: overall:drop<=0.02 on 300 shared items*",
        ]
    )
    assert r.ret == 0
