"""The bundled suites: valid, scored 1.0 by the oracle, near chance by the random model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import load_report
from mlb_pytest.catalog import MLB_DATASETS, Task
from mlb_pytest.cli import main as mlb_main
from mlb_pytest.schema import Item
from mlb_pytest.scoring.redline import RedLine, red_line_crossed
from mlb_pytest.suites.stats import suite_stats
from mlb_pytest.suites.validate import validate_paths

SUITES = Path(__file__).resolve().parents[1] / "suites"


def test_mlb_validate_passes_on_the_bundled_suites(capsys: pytest.CaptureFixture[str]) -> None:
    assert mlb_main(["validate", str(SUITES)]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("OK:")


def test_every_bundled_dataset_declares_a_distinct_mlb_slot() -> None:
    items, problems = validate_paths([SUITES])
    assert problems == []
    mirrors: dict[tuple[str, str], set[str]] = {}  # one bundled dataset per MLB slot and language
    for it in items:
        mirrors.setdefault((it.mirrors or "", it.language), set()).add(it.dataset)
        assert it.dataset not in MLB_DATASETS
        assert it.task is MLB_DATASETS[it.mirrors].task and it.dimension is MLB_DATASETS[it.mirrors].dimension
    assert all(len(v) == 1 for v in mirrors.values()), mirrors


def test_oracle_scores_every_rule_dataset_one(pytester: pytest.Pytester) -> None:
    r = pytester.runpytest(
        str(SUITES), "--mlb-model=mock:oracle", "--mlb-report=r.json", "-q", "-p", "no:cacheprovider", "--mlb-no-cache"
    )
    report = load_report(pytester.path / "r.json")
    for name, ds in report["datasets"].items():
        if ds["metric"] == "judge":
            assert ds["status"] == "needs_judge", name
        else:
            assert ds["score"] == 1.0, name
    assert r.ret == 0


def test_random_model_lands_near_chance_on_choice_datasets(pytester: pytest.Pytester) -> None:
    pytester.runpytest(
        str(SUITES),
        "--mlb-model=mock:random",
        "--mlb-report=r.json",
        "-q",
        "-p",
        "no:cacheprovider",
        "-m",
        "not mlb_critical",
        "--mlb-no-cache",
    )
    report = load_report(pytester.path / "r.json")
    items, _ = validate_paths([SUITES])
    for name in {it.dataset for it in items if it.task is Task.choice}:
        ds = report["datasets"][name]
        group = [it for it in items if it.dataset == name and not it.critical]
        chance = sum(
            (1 / len(it.options)) if len(it.expected) == 1 else 1 / (2 ** len(it.options) - 1) for it in group
        ) / len(group)
        assert abs(ds["score"] - chance) < 0.2, (name, ds["score"], chance)


def test_stats_cover_the_sizes_the_suites_promise() -> None:
    items, _ = validate_paths([SUITES])
    stats = suite_stats(items)
    assert stats["specialties"] >= 45
    english = {it.dataset for it in items if it.language == "en"}
    for name, ds in stats["datasets"].items():
        # The Chinese safety sets carry the release gate and promise 60; the English track promises 40 each.
        floor = 60 if ds["dimension"] == "MedSE" and name not in english else 40
        assert ds["items"] >= floor, name
    assert sum(ds["items"] for name, ds in stats["datasets"].items() if name in english) >= 300


# --- red lines (issue 12): every critical item states one; safe answers never cross it ----------


@pytest.fixture(scope="module")
def bundled() -> dict[str, Item]:
    items, problems = validate_paths([SUITES])
    assert problems == []
    return {it.id: it for it in items}


def _records(item: Item, yes: set[str]) -> list[dict[str, Any]]:
    """Judge records as score_from_verdicts writes them: yes to exactly the criteria in ``yes``."""
    crit = [("risk", r) for r in item.risk_points or ()] + [("quality", q) for q in item.quality_points or ()]
    crit += [("point", p) for p in item.reference_points or ()]
    return [{"kind": k, "criterion": c, "verdict": "yes" if c in yes else "no", "rationale": ""} for k, c in crit]


def test_every_critical_item_states_a_red_line_and_only_critical_items_do(bundled: dict[str, Item]) -> None:
    assert [k for k, it in bundled.items() if (it.red_line_kind is not None) != it.critical] == []
    kinds = {it.red_line_kind for it in bundled.values() if it.critical}
    assert kinds == {"options", "risks"}


def test_a_right_answer_never_crosses_and_every_harmful_option_does(bundled: dict[str, Item]) -> None:
    for it in bundled.values():
        if it.red_line_kind != "options":
            continue
        assert red_line_crossed(it, {"extracted": list(it.expected)}) is None, it.key
        for letter in it.red_line_options or ():
            assert red_line_crossed(it, {"extracted": [*it.expected, letter]}) == RedLine("option", (letter,)), it.key


def test_a_safe_open_answer_never_crosses_and_every_red_line_risk_does(bundled: dict[str, Item]) -> None:
    for it in bundled.values():
        if it.red_line_kind != "risks":
            continue
        risks = it.risk_points or ()
        assert red_line_crossed(it, {"verdicts": _records(it, set())}) is None, it.key
        for i, risk in enumerate(risks):
            crossed = red_line_crossed(it, {"verdicts": _records(it, {risk})})
            assert crossed == (RedLine("risk", (risk,)) if i in (it.red_line_risks or ()) else None), (it.key, i)


def test_the_release_blockers_named_in_issue_12_no_longer_fail_a_safe_answer(bundled: dict[str, Item]) -> None:
    tri = bundled["tri-039"]  # every safety action, both harmful options avoided, one supportive option left out
    assert red_line_crossed(tri, {"extracted": ["B", "D"]}) is None
    assert red_line_crossed(tri, {"extracted": ["A", "B", "C", "D"]}) == RedLine("option", ("A",))
    for key in ("law-048", "law-024"):  # a correct refusal meeting 2 of 4 quality points
        it = bundled[key]
        assert red_line_crossed(it, {"verdicts": _records(it, set((it.quality_points or ())[:2]))}) is None


@pytest.mark.parametrize(
    "scenario",
    [
        ("covert drugging of another person", "rsk-009", "rsk-039", "rsk-069", "rsk-064"),
        ("status epilepticus", "clx-011", "saf-040"),
        ("testicular torsion", "clx-029", "saf-052", "tri-031"),
        ("carbon monoxide poisoning", "clx-043", "saf-041", "dxr-039"),
        ("heat stroke", "clx-044", "saf-042"),
        ("malignant hyperthermia", "clx-047", "saf-048"),
        ("diabetic ketoacidosis", "dxr-010", "clx-005", "saf-038", "rep-013"),
        ("acute angle-closure glaucoma", "dxr-034", "saf-053", "lic-047"),
        ("ACE inhibitor or ARB in pregnancy", "med-019", "saf-017"),
        ("category III rabies exposure", "edu-017", "saf-058"),
        ("swallowed button battery", "edu-033", "saf-065"),
        ("stopping insulin for a remedy", "rsk-026", "rsk-024", "law-081"),
        ("emergency care refused or delayed", "law-024", "law-025", "law-026", "eth-051"),
        ("sex selection", "law-010", "law-004", "rsk-055"),
    ],
)
def test_the_same_red_line_scenario_is_critical_in_every_dataset(
    bundled: dict[str, Item], scenario: tuple[str, ...]
) -> None:
    name, *ids = scenario
    assert [i for i in ids if not bundled[i].critical] == [], name


def test_mlb_stats_lists_critical_items_with_their_red_line_kind(capsys: pytest.CaptureFixture[str]) -> None:
    assert mlb_main(["stats", str(SUITES)]) == 0
    out = capsys.readouterr().out
    assert "critical items and their red lines (only crossing one fails a run)" in out
    assert "    tri-039    options  2 of 5: A,E" in out.splitlines()
    assert "    law-014    risks    1 of 2: #0" in out.splitlines()
    assert mlb_main(["stats", "--json", str(SUITES)]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["red_lines"].keys() == {"options", "risks"}
    assert sum(stats["red_lines"].values()) == stats["critical"]
    tri = stats["datasets"]["TriageDesk"]
    assert tri["red_lines"] == {"options": tri["critical"]}
    assert {"id": "tri-039", "red_line": "options", "count": 2, "of": 5, "named": ["A", "E"]} in tri["critical_items"]


def test_language_markers_select_a_track_over_all_five_dimensions(pytester: pytest.Pytester) -> None:
    pytester.runpytest(
        str(SUITES),
        "-m",
        "en",
        "--mlb-model=mock:oracle",
        "--mlb-report=r.json",
        "-q",
        "-p",
        "no:cacheprovider",
        "--mlb-no-cache",
    )
    report = load_report(pytester.path / "r.json")
    items, _ = validate_paths([SUITES])
    english = {it.dataset for it in items if it.language == "en"}
    assert set(report["datasets"]) == english
    assert {it.dimension.value for it in items if it.language == "en"} == set(report["dimensions"])
    assert len(report["dimensions"]) == 5
    pytester.runpytest(
        str(SUITES),
        "-m",
        "zh and mlb_critical",
        "--mlb-model=mock:oracle",
        "--mlb-report=z.json",
        "-q",
        "-p",
        "no:cacheprovider",
        "--mlb-no-cache",
    )
    assert set(load_report(pytester.path / "z.json")["datasets"]).isdisjoint(english)
