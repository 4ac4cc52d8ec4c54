"""The JSON report's typed contract (mlb_pytest/report_model.py) and ``mlb report schema``.

Every report the other tests read through ``conftest.load_report`` (or write in-process) is
checked against the contract too; this file checks the contract itself: it accepts what real
runs write, refuses what they never write, and keeps older schema_version 1 reports readable.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import typing
from pathlib import Path
from typing import Any

import pytest
from release_fixture import choice_line, native_header, write_release

from conftest import load_report
from mlb_pytest import catalog, report_model
from mlb_pytest.cli import main
from mlb_pytest.config import Settings
from mlb_pytest.report_model import Report, ReportSchemaError, validate_report

PACKAGE = Path(report_model.__file__).parent


def _suite(pytester: pytest.Pytester) -> None:
    """Our 22 release files, plus a native file with a critical item, a rotatable one and a broken line."""
    folder = write_release(pytester.path / "s")
    lines = [
        native_header(dataset="Triage", dimension="SmartServ", mirrors="MAGuidance"),
        choice_line(0, critical=True, red_line_options=["C"]),
        choice_line(1, answer="B"),
        "{not json",
    ]
    (folder / "Triage.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _run(pytester: pytest.Pytester, model: str, report: str, *extra: str) -> dict[str, Any]:
    pytester.runpytest(
        "s",
        f"--mlb-model={model}",
        "--mlb-no-cache",
        f"--mlb-report={report}",
        "--mlb-baseline=base.json",
        "--mlb-circular",
        "--mlb-samples=2",
        "-p",
        "no:cacheprovider",
        *extra,
    )
    return json.loads((pytester.path / report).read_text(encoding="utf-8"))


@pytest.fixture
def reports(pytester: pytest.Pytester) -> tuple[dict[str, Any], dict[str, Any]]:
    """A first run that writes the baseline, and a second, different one compared with it (a test double
    that always answers C: wrong, and across the critical item's red line)."""
    _suite(pytester)
    pytester.makepyfile(always_c="def model(messages, **params):\n    return 'C'\n")
    first = _run(pytester, "mock:oracle", "one.json", "--mlb-update-baseline")
    second = _run(pytester, "python:always_c:model", "two.json")
    return first, second


def _schema(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["report", "schema", *args]) == 0
    return json.loads(capsys.readouterr().out)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return ([node["$ref"]] if "$ref" in node else []) + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_the_schema_command_prints_a_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    schema = _schema(capsys)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert {"schema_version", "run", "items", "datasets", "dimensions", "overall", "gates", "verdict"} <= set(
        schema["required"]
    )
    assert schema["properties"]["schema_version"]["const"] == 1
    for ref in _refs(schema):  # every reference resolves inside the document
        assert ref.startswith("#/$defs/") and ref.removeprefix("#/$defs/") in schema["$defs"], ref
    item = schema["$defs"]["ItemResult"]["properties"]
    assert item["outcome"]["enum"] == ["pass", "wrong", "error", "needs_judge"]
    assert schema["$defs"]["ItemDetails"]["additionalProperties"] is True  # open by design
    status = schema["$defs"]["Gate"]["properties"]["status"]["anyOf"][0]["enum"]
    assert set(status) == {"pass", "fail", "n/a", "no-baseline", "insufficient", "inconclusive"}
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator.check_schema(schema)


def test_the_schema_command_writes_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    printed = _schema(capsys)
    out = tmp_path / "deep" / "report.schema.json"
    assert main(["report", "schema", "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"written: {out}"
    assert json.loads(out.read_text(encoding="utf-8")) == printed
    assert main(["report", "schema", "-o", str(tmp_path)]) == 4  # a folder: an error naming it, no traceback
    assert str(tmp_path) in capsys.readouterr().err


def test_real_reports_meet_the_contract(
    reports: tuple[dict[str, Any], dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = reports
    for report in reports:
        parsed = validate_report(report)
        assert parsed.schema_version == 1 and len(parsed.items) == len(report["items"])
    # the run covered the optional shapes: circular blocks, samples, a suite error, a red line, a comparison
    items = first["items"] + second["items"]
    assert {r["outcome"] for r in items} >= {"pass", "wrong", "needs_judge", "suite_error"}
    assert any(r.get("circular") for r in items) and any(r.get("samples") for r in items)
    assert any(r.get("red_line") for r in second["items"])
    assert first["baseline_update"]["written"] is True
    assert second["comparison"]["baseline"] and "differences" in second["comparison"]
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(_schema(capsys))
    for report in reports:  # the printed schema accepts what the model accepts
        assert not list(validator.iter_errors(report))


def _errors(report: dict[str, Any]) -> str:
    with pytest.raises(ReportSchemaError) as exc:
        validate_report(report)
    return str(exc.value)


def test_a_wrong_outcome_or_a_missing_field_is_refused_naming_the_field(
    reports: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    report, _ = reports
    n = next(i for i, r in enumerate(report["items"]) if r["outcome"] == "pass")
    bad = copy.deepcopy(report)
    bad["items"][n]["outcome"] = "passed"
    message = _errors(bad)
    assert f"items.{n}" in message and "'outcome'" in message and "'passed'" in message
    bad = copy.deepcopy(report)
    del bad["run"]["model"]
    assert re.search(r"^  run\.model: Field required$", _errors(bad), re.M)
    bad = copy.deepcopy(report)
    del bad["items"][n]["content_hash"]
    assert f"items.{n}.pass.content_hash: Field required" in _errors(bad)
    bad = copy.deepcopy(report)
    bad["gates"][0]["status"] = "ok"
    assert "gates.0.status: Input should be 'pass', 'fail', 'n/a'" in _errors(bad)
    bad = copy.deepcopy(report)
    bad["verdict"] = "PASS"
    assert "verdict: Input should be 'pass', 'fail' or 'error'" in _errors(bad)


def test_values_are_strict_and_objects_closed_except_where_open_by_design(
    reports: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    report, _ = reports
    n = next(i for i, r in enumerate(report["items"]) if r["outcome"] == "pass")
    for path, value in (
        (("items", n, "score"), "1.0"),
        (("items", n, "passed"), 1),
        (("overall", "partial"), "no"),
        (("run", "items_collected"), 3.5),
        (("items", n, "dimension"), "MedXYZ"),
    ):
        bad = copy.deepcopy(report)
        target = bad
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
        assert ".".join(str(p) for p in path[:2]) in _errors(bad), path
    for where in (lambda r: r, lambda r: r["run"], lambda r: r["gates"][0], lambda r: r["items"][n]):
        bad = copy.deepcopy(report)
        where(bad)["surprise"] = 1
        assert "surprise: Extra inputs are not permitted" in _errors(bad)
    fine = copy.deepcopy(report)
    fine["items"][n]["details"]["a_new_scorer_field"] = {"any": ["shape"]}
    validate_report(fine)
    wrong_version = copy.deepcopy(report)
    wrong_version["schema_version"] = 2
    assert "schema_version: Input should be 1" in _errors(wrong_version)


# What the first schema_version 1 report already wrote; every other field came later and is optional.
FIRST_REPORT = {
    "schema_version",
    "run",
    "items",
    "datasets",
    "dimensions",
    "overall",
    "ci_method",
    "gates",
    "verdict",
    "verdict_reason",
}
FIRST_RUN = {
    "run_id",
    "model",
    "judge",
    "suite_fingerprint",
    "options",
    "started",
    "ended",
    "python",
    "generation",
    "plugin_version",
}
FIRST_ITEM = {
    "key",
    "id",
    "dataset",
    "dimension",
    "metric",
    "task",
    "mirrors",
    "specialty",
    "critical",
    "weight",
    "location",
    "content_hash",
    "nodeid",
    "messages",
    "expected",
    "response",
    "raw_response",
    "score",
    "passed",
    "outcome",
    "explanation",
    "details",
    "error",
    "latency_s",
    "origin",
}
FIRST_DATASET = {"dimension", "metric", "score", "ci", "n", "n_items", "errors", "needs_judge", "status", "mirrors"}
FIRST_DIMENSION = {"score", "ci", "n", "datasets", "missing"}
FIRST_GATE = {"name", "passed", "reason", "observed", "threshold", "baseline", "p_value"}


def _keep(body: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k in keys}


def test_older_schema_version_1_reports_stay_readable(reports: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """A report as the first version wrote it (the later fields stripped from a real one) still validates,
    and each of those first fields is required."""
    report = reports[1]
    old = _keep(report, FIRST_REPORT)
    old["run"] = _keep(report["run"], FIRST_RUN)
    old["run"]["options"] = {k: v for k, v in report["run"]["options"].items() if k in ("model", "judge", "limit")}
    old["items"] = [_keep(r, FIRST_ITEM) if r["outcome"] != "suite_error" else r for r in report["items"]]
    old["datasets"] = {k: _keep(v, FIRST_DATASET) for k, v in report["datasets"].items()}
    old["dimensions"] = {k: _keep(v, FIRST_DIMENSION) for k, v in report["dimensions"].items()}
    old["overall"] = _keep(report["overall"], FIRST_DIMENSION - {"datasets"} | {"dimensions", "partial"})
    old["gates"] = [_keep(g, FIRST_GATE) for g in report["gates"]]
    validate_report(old)
    assert Report.model_fields.keys() - FIRST_REPORT == {"comparison", "baseline_update", "sequential"}
    required = {name for name, f in Report.model_fields.items() if f.is_required()}
    assert required == FIRST_REPORT
    assert {n for n, f in report_model.Run.model_fields.items() if f.is_required()} == FIRST_RUN
    assert {n for n, f in report_model.ItemResult.model_fields.items() if f.is_required()} == FIRST_ITEM
    assert {n for n, f in report_model.DatasetSummary.model_fields.items() if f.is_required()} == FIRST_DATASET
    assert {n for n, f in report_model.Gate.model_fields.items() if f.is_required()} == {"name", "passed", "reason"}


def test_load_report_checks_what_the_tests_read(reports: tuple[dict[str, Any], dict[str, Any]], tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(reports[0]), encoding="utf-8")
    assert load_report(path) == reports[0]
    broken = copy.deepcopy(reports[0])
    broken["datasets"]["CMExam"]["status"] = "done"
    path.write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(ReportSchemaError, match=r"datasets\.CMExam\.status: Input should be 'scored'"):
        load_report(path)


# --- the enums follow the code -------------------------------------------------------------------


def _literal(alias: Any) -> set[str]:
    return set(typing.get_args(alias))


def _written(pattern: str) -> set[str]:
    """Every value a regex's group captures anywhere in the package source."""
    return {m for p in PACKAGE.rglob("*.py") for m in re.findall(pattern, p.read_text(encoding="utf-8"))}


def test_the_enums_name_every_value_the_code_writes() -> None:
    outcomes = _literal(report_model.ItemOutcome) | _literal(report_model.SuiteErrorOutcome)
    written = _written(r"""(?:\boutcome=|["']outcome["']\]?\s*[:=]\s*)["']([a-z_]+)["']""")
    assert written and written <= outcomes
    statuses = _written(r"""\bstatus\s*=\s*["']([a-z/_-]+)["']""")  # gates' and datasets'
    assert {"n/a", "no-baseline", "insufficient", "inconclusive"} <= statuses
    assert statuses <= _literal(report_model.GateStatus) | _literal(report_model.DatasetStatus)
    assert _literal(report_model.DimensionName) == {d.value for d in catalog.Dimension}
    assert _literal(report_model.TaskName) == {t.value for t in catalog.Task}
    assert _literal(report_model.MetricName) == {m.value for m in catalog.Metric}
    assert {f.name for f in dataclasses.fields(Settings)} - {"extra"} == set(report_model.RunOptions.model_fields)
