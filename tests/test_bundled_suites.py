"""The bundled suites: valid, scored 1.0 by the oracle, near chance by the random model."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import load_report
from mlb_pytest.catalog import MLB_DATASETS, Task
from mlb_pytest.cli import main as mlb_main
from mlb_pytest.suites.stats import suite_stats
from mlb_pytest.suites.validate import validate_paths

SUITES = Path(__file__).resolve().parents[1] / "suites"


def test_mlb_validate_passes_on_the_bundled_suites(capsys: pytest.CaptureFixture[str]) -> None:
    assert mlb_main(["validate", str(SUITES)]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("OK:")


def test_every_bundled_dataset_declares_a_distinct_mlb_slot() -> None:
    items, problems = validate_paths([SUITES])
    assert problems == []
    mirrors: dict[str, set[str]] = {}
    for it in items:
        mirrors.setdefault(it.mirrors or "", set()).add(it.dataset)
        assert it.dataset not in MLB_DATASETS
        assert it.task is MLB_DATASETS[it.mirrors].task and it.dimension is MLB_DATASETS[it.mirrors].dimension
    assert all(len(v) == 1 for v in mirrors.values()), mirrors


def test_oracle_scores_every_rule_dataset_one(pytester: pytest.Pytester) -> None:
    r = pytester.runpytest(str(SUITES), "--mlb-model=mock:oracle", "--mlb-report=r.json", "-q", "-p", "no:cacheprovider",
                           "--mlb-no-cache")
    report = load_report(pytester.path / "r.json")
    for name, ds in report["datasets"].items():
        if ds["metric"] == "judge":
            assert ds["status"] == "needs_judge", name
        else:
            assert ds["score"] == 1.0, name
    assert r.ret == 0


def test_random_model_lands_near_chance_on_choice_datasets(pytester: pytest.Pytester) -> None:
    pytester.runpytest(str(SUITES), "--mlb-model=mock:random", "--mlb-report=r.json", "-q", "-p", "no:cacheprovider",
                       "-m", "not mlb_critical", "--mlb-no-cache")
    report = load_report(pytester.path / "r.json")
    items, _ = validate_paths([SUITES])
    for name in {it.dataset for it in items if it.task is Task.choice}:
        ds = report["datasets"][name]
        group = [it for it in items if it.dataset == name and not it.critical]
        chance = sum((1 / len(it.options)) if len(it.expected) == 1 else 1 / (2 ** len(it.options) - 1)
                     for it in group) / len(group)
        assert abs(ds["score"] - chance) < 0.2, (name, ds["score"], chance)


def test_stats_cover_the_sizes_the_suites_promise() -> None:
    items, _ = validate_paths([SUITES])
    stats = suite_stats(items)
    assert stats["specialties"] >= 45
    for name, ds in stats["datasets"].items():
        assert ds["items"] >= (60 if ds["dimension"] == "MedSE" else 40), name
