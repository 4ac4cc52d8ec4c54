"""Baselines and gates through pytest: update, compare, refuse, and every exit status."""

from __future__ import annotations

import json

import pytest
from release_fixture import native_header

from conftest import load_report

MODEL = """
import os

def answer(messages, **params):
    wrong = set(os.environ.get("SIM_WRONG", "").split(","))
    content = messages[0]["content"]
    qid = content.split("题号", 1)[1].split("：", 1)[0]
    return "B" if qid in wrong else "A"
"""


def _suite(pytester: pytest.Pytester, n: int = 60) -> None:
    for dim, name in (("MedKQA", "KQA"), ("MedSE", "SE")):
        folder = pytester.path / "s"
        folder.mkdir(exist_ok=True)
        lines = [native_header(dataset=name, dimension=dim, mirrors="CMExam")]
        for i in range(n):
            lines.append(
                json.dumps(
                    {
                        "id": f"q{i:03d}",
                        "specialty": "cardiology",
                        "question": f"题号{name}{i}：哪项对？",
                        "options": {"A": "对", "B": "错", "C": "无关"},
                        "answer": "A",
                    },
                    ensure_ascii=False,
                )
            )
        (folder / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    pytester.makepyfile(sim=MODEL)


def _run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, wrong: list[str], *args: str) -> pytest.RunResult:
    monkeypatch.setenv("SIM_WRONG", ",".join(wrong))
    return pytester.runpytest("s", "--mlb-model=python:sim:answer", "--mlb-no-cache", "--mlb-report=r.json", *args)


def test_update_then_compare_then_regress(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    _suite(pytester)
    r = _run(pytester, monkeypatch, ["KQA1"], "--mlb-update-baseline")
    assert r.ret == 0
    r.stdout.fnmatch_lines(
        [
            "*drop gates not tested*no baseline at baselines/sim-answer.json*--mlb-update-baseline*",
            "*baseline written to *baselines/sim-answer.json*",
        ]
    )
    base = json.loads((pytester.path / "baselines" / "sim-answer.json").read_text(encoding="utf-8"))
    assert base["mlb_baseline"] == 1 and base["items"]["KQA/q001"]["passed"] is False
    assert base["suite_fingerprint"] == load_report(pytester.path / "r.json")["run"]["suite_fingerprint"]

    same = _run(pytester, monkeypatch, ["KQA1"])
    assert same.ret == 0
    same.stdout.fnmatch_lines(["MLB gate: PASS"])

    # 12 of 60 MedKQA items go wrong: a drop of 0.2, significant; MedSE untouched
    wrong = [f"KQA{i}" for i in range(2, 14)]
    bad = _run(pytester, monkeypatch, ["KQA1", *wrong])
    assert bad.ret == pytest.ExitCode.TESTS_FAILED
    bad.stdout.fnmatch_lines(
        [
            "MedKQA*0.783*0.983*-0.200*FAIL*",
            "regressed items (right in the baseline, wrong now): 12",
            "*KQA/q002: expected A, got B*",
            "MLB gate: FAIL (MedKQA:drop<=0.02: regression*",
        ]
    )
    report = load_report(pytester.path / "r.json")
    assert report["verdict"] == "fail" and len(report["comparison"]["regressions"]) == 12
    g = next(g for g in report["gates"] if g["name"] == "MedKQA:drop<=0.02")
    assert g["status"] == "fail" and g["p_value"] < 0.001 and g["n_shared"] == 60 and g["delta"] == pytest.approx(-0.2)

    strict = _run(pytester, monkeypatch, ["KQA1", "KQA2"], "--mlb-strict-regressions")
    strict.assert_outcomes(passed=118, xfailed=1, failed=1)
    strict.stdout.fnmatch_lines(["*regression (right in the baseline, wrong now)*"])


def test_small_drops_and_noise_pass(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    _suite(pytester)
    _run(pytester, monkeypatch, ["KQA1", "KQA2"], "--mlb-update-baseline")
    r = _run(pytester, monkeypatch, ["KQA3", "KQA4"])  # two swapped items: no drop
    assert r.ret == 0


def test_floor_gates_and_adhoc_gates(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    _suite(pytester)
    r = _run(pytester, monkeypatch, [f"SE{i}" for i in range(8)])  # MedSE 52/60 = 0.867 < 0.90
    assert r.ret == pytest.ExitCode.TESTS_FAILED
    r.stdout.fnmatch_lines(["MLB gate: FAIL (MedSE>=0.9: MedSE 0.867 < floor 0.90)"])
    r = _run(pytester, monkeypatch, [], "--mlb-gate=overall>=0.99", "--mlb-gate=KQA>=1")
    assert r.ret == 0
    r = _run(pytester, monkeypatch, ["KQA0"], "--mlb-gate=KQA>=1")
    assert r.ret == pytest.ExitCode.TESTS_FAILED
    r = _run(pytester, monkeypatch, [], "--mlb-gate=MedSE>0.9")
    assert r.ret == pytest.ExitCode.USAGE_ERROR
    r.stderr.fnmatch_lines(["*bad gate 'MedSE>0.9'*"])


def test_too_few_shared_items_is_said(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    _suite(pytester, n=10)
    _run(pytester, monkeypatch, [], "--mlb-update-baseline")
    r = _run(pytester, monkeypatch, ["KQA1", "KQA2", "KQA3"])
    assert r.ret == 0
    r.stdout.fnmatch_lines(["*gate insufficient: MedKQA:drop<=0.02: only 10 items shared*at least 30 needed*"])


def test_changed_suite_is_compared_on_shared_items(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    _suite(pytester)
    _run(pytester, monkeypatch, [], "--mlb-update-baseline")
    path = pytester.path / "s" / "KQA.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines[:-2] + [lines[-1].replace("q059", "q999")]) + "\n", encoding="utf-8")
    r = _run(pytester, monkeypatch, [])
    assert r.ret == 0
    r.stdout.fnmatch_lines(["*suite changed: compared on shared items, 1 added, 2 removed, 0 edited*"])
    comp = load_report(pytester.path / "r.json")["comparison"]
    assert comp["changes"]["added"]["keys"] == ["KQA/q999"] and comp["fingerprint_match"] is False


def test_corrupt_or_foreign_baseline_is_named_and_kept(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _suite(pytester)
    path = pytester.path / "baselines" / "sim-answer.json"
    path.parent.mkdir()
    path.write_text('{"items": {', encoding="utf-8")
    r = _run(pytester, monkeypatch, [])
    assert r.ret == pytest.ExitCode.USAGE_ERROR
    r.stderr.fnmatch_lines(["*baseline *sim-answer.json:1: corrupt JSON*"])
    r = _run(pytester, monkeypatch, [], "--mlb-update-baseline")
    assert r.ret == pytest.ExitCode.USAGE_ERROR and path.read_text(encoding="utf-8") == '{"items": {'
    path.write_text('{"something": "else"}', encoding="utf-8")
    r = _run(pytester, monkeypatch, [])
    r.stderr.fnmatch_lines(["*not an mlb-pytest baseline*"])
    r = _run(pytester, monkeypatch, [], "--mlb-update-baseline", "--mlb-force-baseline")
    assert r.ret == 0 and json.loads(path.read_text(encoding="utf-8"))["mlb_baseline"] == 1


def test_no_baseline_written_from_a_broken_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    _suite(pytester, n=5)
    pytester.makepyfile(down="def answer(messages, **params):\n    raise TimeoutError('gateway timeout')\n")
    r = pytester.runpytest("s", "--mlb-model=python:down:answer", "--mlb-update-baseline", "--mlb-no-cache")
    assert r.ret == pytest.ExitCode.TESTS_FAILED
    r.stdout.fnmatch_lines(
        [
            "*baseline NOT written*could not be answered*--mlb-force-baseline*",
            "MLB gate: ERROR (*infrastructure failure, not a regression*",
        ]
    )
    assert not (pytester.path / "baselines" / "down-answer.json").exists()


def test_same_verdict_and_baseline_with_xdist(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    _suite(pytester)
    monkeypatch.setenv("SIM_WRONG", "KQA1,SE2")
    args = ["s", "--mlb-model=python:sim:answer", "--mlb-no-cache", "--mlb-update-baseline", "-p", "no:cacheprovider"]
    assert pytester.runpytest_subprocess(*args, "--mlb-baseline=one.json").ret == 0
    assert pytester.runpytest_subprocess(*args, "--mlb-baseline=two.json", "-n", "2").ret == 0
    one = json.loads((pytester.path / "one.json").read_text(encoding="utf-8"))
    two = json.loads((pytester.path / "two.json").read_text(encoding="utf-8"))
    for k in ("created",):
        one.pop(k), two.pop(k)
    assert one == two
    monkeypatch.setenv("SIM_WRONG", ",".join(f"KQA{i}" for i in range(20)))
    cmp = ["s", "--mlb-model=python:sim:answer", "--mlb-no-cache", "--mlb-baseline=one.json", "-p", "no:cacheprovider"]
    a, b = pytester.runpytest_subprocess(*cmp), pytester.runpytest_subprocess(*cmp, "-n", "2")
    assert a.ret == b.ret == pytest.ExitCode.TESTS_FAILED
    line = lambda r: next(l for l in r.outlines if l.startswith("MLB gate:"))  # noqa: E731
    assert line(a) == line(b)


def test_markdown_summary_for_pull_requests(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    _suite(pytester)
    step = pytester.path / "step.md"
    step.write_text("# earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    r = _run(pytester, monkeypatch, [f"SE{i}" for i in range(8)], "--mlb-markdown=gate.md")
    assert r.ret == 1
    md = (pytester.path / "gate.md").read_text(encoding="utf-8")
    assert md.startswith("## ❌ MLB gate: FAIL") and "| MedSE | 60 | 0.867 |" in md
    assert step.read_text(encoding="utf-8") == "# earlier step\n" + md


def test_exit_status_no_tests(pytester: pytest.Pytester) -> None:
    pytester.mkdir("empty")
    assert pytester.runpytest("empty", "--mlb-model=mock:oracle").ret == pytest.ExitCode.NO_TESTS_COLLECTED
