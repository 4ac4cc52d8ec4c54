"""Plugin behaviour through pytester: collection, outcomes, report, exit status."""

from __future__ import annotations

import pytest
from release_fixture import RULE_SCORED, choice_line, native_header, write_native, write_release

from conftest import load_report


def _model(pytester: pytest.Pytester, name: str, body: str) -> str:
    pytester.makepyfile(**{name: body})
    return f"python:{name}:answer"


def test_without_a_model_suite_files_are_not_collected(pytester: pytest.Pytester) -> None:
    write_native(pytester.path / "suites" / "demo.jsonl", 3)
    result = pytester.runpytest("suites")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_oracle_scores_every_rule_dataset_and_lists_judge_ones(pytester: pytest.Pytester) -> None:
    write_release(pytester.path / "release")
    result = pytester.runpytest("release", "--mlb-model=mock:oracle", "--mlb-report=r.json", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=16, skipped=6)
    assert result.ret == 0
    report = load_report(pytester.path / "r.json")
    assert report["schema_version"] == 1 and report["verdict"] == "pass"
    assert len(report["items"]) == 22
    for name in RULE_SCORED:
        assert report["datasets"][name]["score"] == 1.0, name
    judged = {k for k, v in report["datasets"].items() if v["status"] == "needs_judge"}
    assert judged == {"GeneralSafety", "MACompliance", "MAEthic", "MAInspection", "MADiagnosis", "MARecord"}
    assert report["dimensions"]["SmartCare"]["score"] is None and report["overall"]["partial"] is True
    item = next(i for i in report["items"] if i["dataset"] == "MAExam")
    assert item["expected"] == ["A", "C"] and item["messages"][0]["role"] == "user"
    assert item["response"] == "A,C" and item["outcome"] == "pass"
    result.stdout.fnmatch_lines(["*needs a judge (1 items)*", "*MLB gate: PASS*"])


def test_markers_keywords_and_limit_select_items(pytester: pytest.Pytester) -> None:
    write_release(pytester.path / "release")
    r = pytester.runpytest("release", "--mlb-model=mock:oracle", "-m", "medse", "--collect-only", "-q")
    ids = [l for l in r.outlines if "::" in l]
    assert len(ids) == 5 and all(
        any(n in l for n in ("MASafety", "MAHalt", "GeneralSafety", "MACompliance", "MAEthic")) for l in ids
    )
    r = pytester.runpytest("release", "--mlb-model=mock:oracle", "-k", "CMExam or MAHalt", "--collect-only", "-q")
    assert sorted(l for l in r.outlines if "::" in l) == ["release/CMExam.json::q0000", "release/MAHalt.json::q0000"]
    write_native(pytester.path / "native" / "demo.jsonl", 30)
    lim = lambda seed: sorted(
        l
        for l in pytester.runpytest(
            "native", "--mlb-model=mock:oracle", "--mlb-limit=7", f"--mlb-seed={seed}", "--collect-only", "-q"
        ).outlines
        if "::" in l
    )
    first = lim(0)
    assert len(first) == 7 and first == lim(0) and first != lim(1)
    r = pytester.runpytest("native", "--mlb-model=mock:oracle", "-m", "demoexam", "--collect-only", "-q")
    assert len([l for l in r.outlines if "::" in l]) == 30


def test_wrong_answers_are_xfail_with_expected_and_got(pytester: pytest.Pytester) -> None:
    write_native(pytester.path / "s" / "demo.jsonl", 4)
    spec = _model(pytester, "always_b", "def answer(messages, **params):\n    return 'B'\n")
    r = pytester.runpytest("s", f"--mlb-model={spec}", "-rx", "--junitxml=j.xml", "--mlb-report=r.json")
    r.assert_outcomes(xfailed=4)
    assert r.ret == 0
    r.stdout.fnmatch_lines(["XFAIL s/demo.jsonl::q000*expected A*got B*"])
    junit = (pytester.path / "j.xml").read_text(encoding="utf-8")
    assert "expected A" in junit and '<property name="mlb_response" value="B"' in junit
    assert "mlb_result" not in junit and "messages" not in junit
    report = load_report(pytester.path / "r.json")
    assert report["datasets"]["DemoExam"]["score"] == 0.0 and report["verdict"] == "pass"
    assert {i["outcome"] for i in report["items"]} == {"wrong"}

    strict = pytester.runpytest("s", f"--mlb-model={spec}", "--mlb-strict")
    strict.assert_outcomes(failed=4)
    assert strict.ret == pytest.ExitCode.TESTS_FAILED
    strict.stdout.fnmatch_lines(["*demo.jsonl:2: wrong answer: expected A*got B*"])


def test_a_wrong_critical_item_without_a_stated_red_line_fails_the_run(pytester: pytest.Pytester) -> None:
    """A user's critical item that states no red line keeps the strict rule (mlb validate refuses it)."""
    path = pytester.path / "s" / "demo.jsonl"
    path.parent.mkdir()
    path.write_text("\n".join([native_header(), choice_line(0), choice_line(1, critical=True)]), encoding="utf-8")
    spec = _model(pytester, "always_b2", "def answer(messages, **params):\n    return 'B'\n")
    r = pytester.runpytest("s", f"--mlb-model={spec}", "--mlb-report=r.json")
    r.assert_outcomes(xfailed=1, failed=1)
    assert r.ret == pytest.ExitCode.TESTS_FAILED
    r.stdout.fnmatch_lines(
        [
            "*critical item crossed its red line: answered wrongly (this critical item states no red line)*",
            "*MLB gate: FAIL*critical*",
        ]
    )
    assert load_report(pytester.path / "r.json")["verdict"] == "fail"


def test_model_failures_are_errors_never_scores(pytester: pytest.Pytester) -> None:
    write_native(pytester.path / "s" / "demo.jsonl", 3)
    spec = _model(pytester, "broken", "def answer(messages, **params):\n    raise ConnectionError('endpoint down')\n")
    r = pytester.runpytest("s", f"--mlb-model={spec}", "--mlb-report=r.json")
    r.assert_outcomes(errors=3)
    assert r.ret == pytest.ExitCode.TESTS_FAILED
    report = load_report(pytester.path / "r.json")
    assert report["verdict"] == "error" and "infrastructure" in report["verdict_reason"]
    assert all(i["score"] is None and "endpoint down" in i["error"] for i in report["items"])
    assert report["datasets"]["DemoExam"]["status"] == "errors_only"
    r.stdout.fnmatch_lines(["*MLB gate: ERROR*infrastructure*"])


def test_a_malformed_line_errors_and_the_rest_runs(pytester: pytest.Pytester) -> None:
    path = pytester.path / "s" / "demo.jsonl"
    path.parent.mkdir()
    path.write_text(
        "\n".join([native_header(), choice_line(0), choice_line(1, answer="Z"), choice_line(2)]), encoding="utf-8"
    )
    r = pytester.runpytest("s", "--mlb-model=mock:oracle", "--mlb-report=r.json")
    r.assert_outcomes(passed=2, errors=1)
    r.stdout.fnmatch_lines(
        ["*malformed suite: s/demo.jsonl:3: field 'answer': answer Z is not among the options A,B,C*"]
    )
    report = load_report(pytester.path / "r.json")
    assert report["datasets"]["DemoExam"]["score"] == 1.0 and report["verdict"] == "fail"


def test_pyproject_settings_apply_and_bad_keys_are_named(pytester: pytest.Pytester) -> None:
    write_native(pytester.path / "s" / "demo.jsonl", 9)
    pytester.makefile(".toml", pyproject='[tool.mlb]\nmodel = "mock:oracle"\nlimit = 2\n')
    r = pytester.runpytest("s", "-q")
    r.assert_outcomes(passed=2)
    r = pytester.runpytest("s", "-q", "--mlb-limit=3")
    r.assert_outcomes(passed=3)
    pytester.makefile(".toml", pyproject='[tool.mlb]\nmodle = "mock:oracle"\n')
    r = pytester.runpytest("s")
    assert r.ret == pytest.ExitCode.USAGE_ERROR
    r.stderr.fnmatch_lines(["*pyproject.toml ?tool.mlb?: unknown key 'modle'*"])


def test_bad_model_spec_is_a_usage_error(pytester: pytest.Pytester) -> None:
    write_native(pytester.path / "s" / "demo.jsonl", 1)
    r = pytester.runpytest("s", "--mlb-model=openai:gpt-x")
    assert r.ret == pytest.ExitCode.USAGE_ERROR
    r.stderr.fnmatch_lines(["*openai specs are openai:MODEL@http(s)://host:port/v1*"])


def test_reasoning_is_stripped_for_scoring_and_kept_raw(pytester: pytest.Pytester) -> None:
    write_native(pytester.path / "s" / "demo.jsonl", 2)
    spec = _model(
        pytester,
        "thinker",
        "def answer(messages, **params):\n    return '<think>B looks wrong, C too</think>答案：A'\n",
    )
    r = pytester.runpytest("s", f"--mlb-model={spec}", "--mlb-report=r.json")
    r.assert_outcomes(passed=2)
    item = load_report(pytester.path / "r.json")["items"][0]
    assert item["response"] == "答案：A" and item["raw_response"].startswith("<think>B looks wrong")


def test_replay_rescored_from_an_earlier_report(pytester: pytest.Pytester) -> None:
    write_native(pytester.path / "s" / "demo.jsonl", 5)
    spec = _model(
        pytester,
        "mixed",
        "def answer(messages, **params):\n    return 'A' if '第1题' in messages[0]['content'] else 'C'\n",
    )
    pytester.runpytest("s", f"--mlb-model={spec}", "--mlb-report=first.json").assert_outcomes(passed=1, xfailed=4)
    r = pytester.runpytest("s", "--mlb-model=replay:first.json", "--mlb-report=again.json")
    r.assert_outcomes(passed=1, xfailed=4)
    a, b = load_report(pytester.path / "first.json"), load_report(pytester.path / "again.json")
    assert a["datasets"] == b["datasets"] and b["run"]["model"] == "replay:first.json"
    write_native(pytester.path / "s" / "demo.jsonl", 6)  # an item the report lacks is an error, not a guess
    r = pytester.runpytest("s", "--mlb-model=replay:first.json")
    r.assert_outcomes(passed=1, xfailed=4, errors=1)
    r.stdout.fnmatch_lines(["*replay_missing: no response for DemoExam/q005*"])


def test_samples_average_into_the_item_score(pytester: pytest.Pytester) -> None:
    write_native(pytester.path / "s" / "demo.jsonl", 2)
    spec = _model(
        pytester,
        "alternating",
        (
            "import itertools\n_n = itertools.count()\n"
            "def answer(messages, **params):\n    return 'A' if next(_n) % 2 == 0 else 'B'\n"
        ),
    )
    r = pytester.runpytest(
        "s", f"--mlb-model={spec}", "--mlb-samples=4", "--mlb-report=r.json", "--mlb-no-cache", "--mlb-concurrency=1"
    )
    r.assert_outcomes(xfailed=2)
    items = load_report(pytester.path / "r.json")["items"]
    assert [i["score"] for i in items] == [0.5, 0.5]
    assert all(len(i["samples"]) == 4 for i in items)


def test_mock_random_lands_near_chance(pytester: pytest.Pytester) -> None:
    write_native(pytester.path / "s" / "demo.jsonl", 300)
    r = pytester.runpytest("s", "--mlb-model=mock:random", "--mlb-report=r.json", "-q")
    assert r.ret == 0
    score = load_report(pytester.path / "r.json")["datasets"]["DemoExam"]["score"]
    assert 0.25 < score < 0.42  # three options: chance is 1/3


def test_a_model_module_that_does_not_import_is_a_usage_error(pytester: pytest.Pytester) -> None:
    write_native(pytester.path / "s" / "demo.jsonl", 1)
    pytester.makepyfile(badsyntax="def answer(messages:\n")
    r = pytester.runpytest("s", "--mlb-model=python:badsyntax:answer")
    assert r.ret == pytest.ExitCode.USAGE_ERROR
    r.stderr.fnmatch_lines(["*cannot load python:badsyntax:answer: SyntaxError*"])
