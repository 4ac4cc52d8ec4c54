"""--mlb-rescore-baseline: a judge change must never show up as a model regression.

A baseline is written with one judge; the same model's answers are then judged by another. Without
re-scoring, the drop gate sees the judge's difference as the model's (and the summary says why);
with it, the baseline's stored answers are judged again by the current judge before comparing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from release_fixture import native_header

from conftest import load_report
from mlb_pytest.baselines import judge_of, rescored_items

N = 40
OPEN_HEADER = native_header(
    dataset="DemoCare",
    mirrors="MADiagnosis",
    dimension="SmartCare",
    task="open",
    metric="judge",
    judge="points",
    prompt="请回答：\n${question}",
)


def _suite(pytester: pytest.Pytester) -> None:
    path = pytester.path / "s" / "care.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [OPEN_HEADER]
    for i in range(N):
        item = {"id": f"c{i:03d}", "question": f"病例{i}：发热咳嗽三天，如何处理？", "reference_points": [f"要点{i}"]}
        lines.append(json.dumps(item, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _run(pytester: pytest.Pytester, judge: str, *extra: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    r = pytester.runpytest(
        "s",
        "--mlb-model=mock:oracle",
        f"--mlb-judge={judge}",
        "--mlb-cache=c.sqlite",
        "--mlb-report=r.json",
        "--mlb-gate=SmartCare:drop<=0.02",
        "-p",
        "no:cacheprovider",
        *extra,
    )
    return r, load_report(pytester.path / "r.json")


def test_a_judge_change_is_a_regression_only_until_the_baseline_is_rescored(pytester: pytest.Pytester) -> None:
    _suite(pytester)
    r0, first = _run(pytester, "mock:judge-yes", "--mlb-update-baseline")
    assert first["datasets"]["DemoCare"]["score"] == 1.0 and first["baseline_update"]["written"]

    # the same model, a stricter judge: without re-scoring, the judge's change reads as a drop
    r1, plain = _run(pytester, "mock:judge-no")
    gate = next(g for g in plain["gates"] if g["name"] == "SmartCare:drop<=0.02")
    assert gate["status"] == "fail" and gate["delta"] == pytest.approx(-1.0)
    changed = plain["comparison"]["judge_changed"]
    assert (changed["baseline"], changed["current"]) == ("mock:judge-yes", "mock:judge-no")
    r1.stdout.fnmatch_lines(["*the baseline was judged by mock:judge-yes*add --mlb-rescore-baseline*"])
    assert r1.ret == 1

    # re-scored: the baseline's stored answers are judged by judge-no too, and nothing regressed
    r2, fair = _run(pytester, "mock:judge-no", "--mlb-rescore-baseline")
    gate = next(g for g in fair["gates"] if g["name"] == "SmartCare:drop<=0.02")
    assert gate["status"] != "fail" and gate["delta"] == pytest.approx(0.0) and gate["baseline"] == 0.0
    assert fair["comparison"]["rescored"] == {"items": N, "changed_verdicts": N, "errors": 0}
    assert "judge_changed" not in fair["comparison"]
    item = fair["items"][0]
    assert item["baseline_rescore"] == {"score": 0.0, "passed": False, "error": None}
    assert fair["run"]["usage"]["judge"]["requests"] > 0
    r2.stdout.fnmatch_lines(["*baseline re-scored with this run's rules and judge: 40 stored answers, 40 changed*"])
    assert r2.ret == 0
    # the baseline file itself is untouched by a re-scored comparison
    stored = json.loads((pytester.path / "baselines" / "oracle.json").read_text(encoding="utf-8"))
    assert all(v["score"] == 1.0 for v in stored["items"].values())


def test_rescored_items_keep_what_could_not_be_rescored() -> None:
    base = {"D/a": {"score": 1.0, "passed": True}, "D/b": {"score": 1.0, "passed": True}, "D/c": {"score": 0.0}}
    results = [
        {"key": "D/a", "baseline_rescore": {"score": 0.0, "passed": False, "error": None}},
        {"key": "D/b", "baseline_rescore": {"score": None, "passed": None, "error": "judge timed out"}},
        {"key": "D/z", "baseline_rescore": {"score": 1.0, "passed": True, "error": None}},  # not in the baseline
    ]
    items, summary = rescored_items(base, results)
    assert items["D/a"]["score"] == 0.0 and items["D/a"]["rescored_from"] == 1.0
    assert items["D/b"]["score"] == 1.0 and items["D/c"] == {"score": 0.0}
    assert summary == {"items": 1, "changed_verdicts": 1, "errors": 1}
    assert base["D/a"]["score"] == 1.0  # the loaded baseline is not changed in place
    assert judge_of({"judge": "builtin", "revision": {"judge": {"revision": "r1"}}}) == ("builtin", "r1")
    assert judge_of({}) == (None, None)


def test_a_baseline_asked_in_another_prompt_style_is_flagged(pytester: pytest.Pytester) -> None:
    _suite(pytester)
    _run(pytester, "mock:judge-yes", "--mlb-update-baseline")
    path = pytester.path / "baselines" / "oracle.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["prompt_style"] == "chat"  # the baseline records how its items were put to the model
    data["prompt_style"] = "completion"
    path.write_text(json.dumps(data), encoding="utf-8")
    r, report = _run(pytester, "mock:judge-yes")
    assert report["comparison"]["prompt_style_changed"] == {"baseline": "completion", "current": "chat"}
    r.stdout.fnmatch_lines(["*the baseline's items were put to the model as completion prompts, this run's as chat*"])
    _run(pytester, "mock:judge-yes", "--mlb-update-baseline", "--mlb-force-baseline")
    _, again = _run(pytester, "mock:judge-yes")
    assert "prompt_style_changed" not in again["comparison"]
