"""MLB's release format is read as-is: our fixtures, and MLB's own example files when present."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import SHARED_RELEASE
from mlb_pytest.catalog import MLB_DATASETS, Task
from mlb_pytest.suites import load_suite_file
from mlb_pytest.suites.loader import iter_suite_files
from mlb_pytest.suites.render import format_options, split_options
from release_fixture import RELEASE_ITEMS


def test_every_fixture_file_loads_with_its_catalog_entry(release_dir: Path) -> None:
    files = iter_suite_files([release_dir])
    assert sorted(f.stem for f in files) == sorted(MLB_DATASETS)
    for f in files:
        res = load_suite_file(f)
        assert res.errors == [], f
        (item,) = res.items
        spec = MLB_DATASETS[f.stem]
        assert (item.dataset, item.dimension, item.task, item.metric) == (spec.name, spec.dimension, spec.task, spec.metric)
        assert item.location.endswith(":4")
        assert "${" not in item.messages[0]["content"]


def test_inline_options_are_split_into_the_options_slot(release_dir: Path) -> None:
    item = load_suite_file(release_dir / "MAExam.json").items[0]
    assert item.options == {"A": "美托洛尔", "B": "氨氯地平", "C": "比索洛尔", "D": "缬沙坦"}
    assert item.expected == ["A", "C"]
    assert "A.美托洛尔\nB.氨氯地平" in item.messages[0]["content"]
    guidance = load_suite_file(release_dir / "MAGuidance.json").items[0]
    assert guidance.options == {"A": "眼科", "B": "口腔科", "C": "皮肤科", "D": "骨科"}
    assert "['A 眼科', 'B 口腔科'" in guidance.messages[0]["content"]


def test_normalisation_candidates_and_smartcare_points(release_dir: Path) -> None:
    cdn = load_suite_file(release_dir / "CHIP-CDN.json").items[0]
    assert cdn.candidates == ("1型糖尿病", "2型糖尿病##高血压", "胃炎")
    assert cdn.question == "2型糖尿病伴高血压"
    dx = load_suite_file(release_dir / "MADiagnosis.json").items[0]
    assert dx.reference_points == ("诊断：糖尿病", "多饮多尿1月", "空腹血糖12mmol/L")
    rec = load_suite_file(release_dir / "MARecord.json").items[0]
    assert len(rec.reference_points or ()) == 8 and rec.reference_points[2] == "主诉：头痛2天"  # type: ignore[index]


def test_answer_outside_options_names_file_line_and_field(tmp_path: Path) -> None:
    f = tmp_path / "CMExam.json"
    f.write_text('{"system_prompt": "${question}\\n${options}",\n "examples": [\n  {"question": "问 A 甲 B 乙", "answer": "B"},\n'
                 '  {"question": "问 A 甲 B 乙", "answer": "E"}\n]}', encoding="utf-8")
    res = load_suite_file(f)
    assert len(res.items) == 1
    (err,) = res.errors
    assert (err.line, err.field) == (4, "answer") and "E is not among the options A,B" in str(err)
    assert str(err).startswith(f"{f}:4:")


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    f = tmp_path / "MAHalt.json"
    f.write_text('{"system_prompt": "${question}",\n "examples": [ {"question": "x",} ]}', encoding="utf-8")
    (err,) = load_suite_file(f).errors
    assert err.line == 2 and "invalid JSON" in str(err)


@pytest.mark.skipif(not SHARED_RELEASE.is_dir(), reason="MLB release examples not beside the repo")
def test_mlb_release_examples_load() -> None:
    items = [it for f in iter_suite_files([SHARED_RELEASE]) for it in load_suite_file(f).items]
    assert len(items) == 22
    by = {it.dataset: it for it in items}
    assert by["CMExam"].options == {"A": "射干", "B": "白头翁", "C": "马齿苋", "D": "穿心莲", "E": "白花蛇舌草"}
    assert by["MAReport"].expected == ["C"] and not by["MAReport"].question.endswith("选项：")
    assert sum(it.task is Task.open for it in items) == 6


_text = st.text(alphabet=st.characters(whitelist_categories=("Lo",)), min_size=1, max_size=12)


@given(stem=_text, texts=st.lists(_text, min_size=2, max_size=6, unique=True), style=st.sampled_from(["inline", "dot", "list"]))
def test_options_written_any_mlb_way_split_back(stem: str, texts: list[str], style: str) -> None:
    opts = {chr(65 + i): t for i, t in enumerate(texts)}
    if style == "list":
        question = stem + format_options(opts, "list")
    elif style == "dot":
        question = stem + "".join(f"{k}.{v}" for k, v in opts.items())
    else:
        question = stem + " " + " ".join(f"{k} {v}" for k, v in opts.items())
    split = split_options(question)
    assert split is not None
    assert split[1] == opts
    assert split[0].strip() == stem


def test_all_fixture_names_are_mlb_names() -> None:
    assert set(RELEASE_ITEMS) == set(MLB_DATASETS)
