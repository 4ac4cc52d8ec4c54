"""MLB's release format is read as-is: our fixtures, and MLB's own example files when present."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from release_fixture import RELEASE_ITEMS, write_release

from conftest import SHARED_RELEASE
from mlb_pytest.catalog import MLB_DATASETS, Task
from mlb_pytest.schema import ItemRecord
from mlb_pytest.suites import LoadResult, is_suite_file, load_suite_file
from mlb_pytest.suites.loader import iter_suite_files
from mlb_pytest.suites.release import ID_PATTERN, SOURCE_ID_TAG
from mlb_pytest.suites.render import format_options, split_options


def test_every_fixture_file_loads_with_its_catalog_entry(release_dir: Path) -> None:
    files = iter_suite_files([release_dir])
    assert sorted(f.stem for f in files) == sorted(MLB_DATASETS)
    for f in files:
        res = load_suite_file(f)
        assert res.errors == [], f
        (item,) = res.items
        spec = MLB_DATASETS[f.stem]
        assert (item.dataset, item.dimension, item.task, item.metric) == (
            spec.name,
            spec.dimension,
            spec.task,
            spec.metric,
        )
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
    f.write_text(
        '{"system_prompt": "${question}\\n${options}",\n "examples": [\n  {"question": "问 A 甲 B 乙", "answer": "B"},\n'
        '  {"question": "问 A 甲 B 乙", "answer": "E"}\n]}',
        encoding="utf-8",
    )
    res = load_suite_file(f)
    assert len(res.items) == 1
    (err,) = res.errors
    assert (err.line, err.field) == (4, "examples[1].answer") and "E is not among the options A,B" in str(err)
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


@given(
    stem=_text,
    texts=st.lists(_text, min_size=2, max_size=6, unique=True),
    style=st.sampled_from(["inline", "dot", "list"]),
)
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


# --- bad files named like a dataset: naming is the contract (issue 11) --------------------------

_PROMPT = "${question}\n${options}"
_GOOD = {"question": "问 A 甲 B 乙", "answer": "A"}


def _write(folder: Path, name: str, data: bytes | str) -> Path:
    f = folder / f"{name}.json"
    f.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return f


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "empty file: MLB's CMExam dataset has no items here"),
        (b" \n\t\n", "empty file"),
        (b'{"system_prompt": "\xff\xfe", "examples": []}', "not UTF-8 text (byte 0xff at column 20)"),
        (b'{"system_prompt": "${question}", "examples": [\n  {"question": "q', "invalid JSON"),
        (b"[1, 2]", "not in MLB's release format (found a JSON list)"),
        (b'{"model": "x", "results": []}', "no 'system_prompt' or 'examples'"),
        (b'{"system_prompt": "${question}", "examples": []}', "is empty: the file has no items"),
        (b'{"system_prompt": "${question}", "examples": {}}', "must be a list"),
        (b'{"system_prompt": 3, "examples": []}', "must be a string containing ${question}"),
        (b'{"system_prompt": "x", "examples": ' + b"[" * 5000 + b"]" * 5000 + b"}", "nested deeper than 100 levels"),
    ],
)
def test_a_broken_file_named_like_a_dataset_is_one_error_naming_it(tmp_path: Path, data: bytes, says: str) -> None:
    f = _write(tmp_path, "CMExam", data)
    assert is_suite_file(f)
    res = load_suite_file(f, "release/CMExam.json")
    assert res.items == []
    (err,) = res.errors
    assert err.path == "release/CMExam.json" and str(err).startswith("release/CMExam.json")
    assert says in str(err)


def test_a_foreign_file_under_a_dataset_name_says_how_to_get_it_out_of_the_way(tmp_path: Path) -> None:
    f = _write(tmp_path, "MAHalt", '{"accuracy": 0.8, "predictions": []}')
    (err,) = load_suite_file(f, "out/MAHalt.json").errors
    assert "a file named MAHalt.json is read as MLB's MAHalt dataset" in str(err) and "--ignore" in str(err)


def test_only_mlb_names_with_json_suffix_are_release_files(tmp_path: Path) -> None:
    for name in ("cmexam.json", "CMExam.json.bak", "CMExam.txt", "Results.json"):
        (tmp_path / name).write_text("", encoding="utf-8")
        assert not is_suite_file(tmp_path / name), name


def test_an_unreadable_file_is_an_error_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = _write(tmp_path, "CMExam", json.dumps({"system_prompt": _PROMPT, "examples": [_GOOD]}))

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    (err,) = load_suite_file(f, "release/CMExam.json").errors
    assert str(err) == "release/CMExam.json: cannot read: Permission denied"


def test_a_bom_and_crlf_written_file_loads(tmp_path: Path) -> None:
    text = json.dumps({"system_prompt": _PROMPT, "examples": [_GOOD]}, ensure_ascii=False, indent=1)
    f = _write(tmp_path, "CMExam", b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    res = load_suite_file(f)
    assert res.errors == [] and [it.id for it in res.items] == ["q0000"]


def test_a_broken_file_beside_good_ones_is_an_error_in_the_run(pytester: pytest.Pytester) -> None:
    folder = write_release(pytester.path / "release")
    (folder / "CMExam.json").write_bytes(b"")
    (folder / "MAHalt.json").write_bytes(b"\xff\xfe\x00")
    result = pytester.runpytest("release", "--mlb-model=mock:oracle", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=14, skipped=6, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*malformed suite: release/CMExam.json: empty file*",
            "*malformed suite: release/MAHalt.json:1: not UTF-8 text*",
        ]
    )
    assert result.ret != 0


def test_example_lines_are_found_past_lookalike_keys(tmp_path: Path) -> None:
    doc = (
        '{"system_prompt": "say \\"examples\\": [ ${question}\\n${options}",\n'
        ' "meta": {"examples": [1, 2, 3]},\n'
        ' "examples": [\n'
        '  {"question": "问 A 甲 B 乙", "answer": "A"},\n'
        "\n"
        '  {"question": "问 A 甲 B 乙", "answer": "Z"}\n'
        "]}"
    )
    res = load_suite_file(_write(tmp_path, "CMExam", doc))
    assert [it.location.rsplit(":", 1)[1] for it in res.items] == ["4"]
    (err,) = res.errors
    assert (err.line, err.field) == (6, "examples[1].answer")


def test_compact_files_name_the_example_in_the_field(tmp_path: Path) -> None:
    doc = json.dumps({"system_prompt": _PROMPT, "examples": [dict(_GOOD, answer="Z"), _GOOD, {"question": ""}]})
    res = load_suite_file(_write(tmp_path, "CMExam", doc))
    assert [(e.line, e.field) for e in res.errors] == [(1, "examples[0].answer"), (1, "examples[2].question")]


# --- release ids: the native id rule, slugified when broken, duplicates named -------------------


def _ids_file(tmp_path: Path, ids: list[Any]) -> LoadResult:
    """One example per line, example i on line i + 3; ``...`` leaves the id out."""
    examples = [json.dumps(dict(_GOOD, id=i) if i is not ... else _GOOD, ensure_ascii=False) for i in ids]
    text = '{"system_prompt": ' + json.dumps(_PROMPT) + ',\n "examples": [\n' + ",\n".join(examples) + "\n]}"
    return load_suite_file(_write(tmp_path, "CMExam", text), "CMExam.json")


def test_release_id_rule_is_the_native_one() -> None:
    assert ItemRecord.model_json_schema()["properties"]["id"]["pattern"] == f"^{ID_PATTERN}$"


def test_good_ids_are_kept_and_missing_ones_are_positional(tmp_path: Path) -> None:
    res = _ids_file(tmp_path, ["cm-001", ..., 17, None, "a.b_c"])
    assert [it.id for it in res.items] == ["cm-001", "q0001", "17", "q0003", "a.b_c"]
    assert all(it.tags == () for it in res.items)


@pytest.mark.parametrize("original", ["a::b", "x[1]", "two\nlines", "", " ", "病例1", "-lead", "ok\n", "a" * 300 + "!"])
def test_broken_ids_are_slugified_and_the_original_kept(tmp_path: Path, original: str) -> None:
    (item,) = _ids_file(tmp_path, [original]).items
    assert re.fullmatch(ID_PATTERN, item.id) and len(item.id) <= 60
    assert not any(bad in item.id for bad in ("::", "[", "\n", " "))
    assert item.tags == (SOURCE_ID_TAG + original,)
    assert _ids_file(tmp_path, [original]).items[0].id == item.id  # the same on every run


def test_slugs_of_distinct_ids_stay_distinct(tmp_path: Path) -> None:
    res = _ids_file(tmp_path, ["a::b", "a:b", "a b", "a/b"])
    assert res.errors == [] and len({it.id for it in res.items}) == 4
    assert res.items[0].id.startswith("a-b-")


@pytest.mark.parametrize("bad", [True, 1.5, [1], {"x": 1}])
def test_ids_that_are_not_strings_or_integers_are_errors(tmp_path: Path, bad: Any) -> None:
    res = _ids_file(tmp_path, ["first", bad])
    assert [it.id for it in res.items] == ["first"]
    (err,) = res.errors
    assert (err.line, err.field) == (4, "examples[1].id") and "must be a string or an integer" in str(err)


def test_duplicate_ids_are_errors_naming_line_and_field_and_the_first_is_kept(tmp_path: Path) -> None:
    res = _ids_file(tmp_path, ["dup", "other", "dup", 5, "5", "a::b", "a::b"])
    assert [it.id for it in res.items] == ["dup", "other", "5", res.items[3].id]
    got = [(e.line, e.field, e.message) for e in res.errors]
    assert got == [
        (5, "examples[2].id", "duplicate id 'dup' (first on line 3)"),
        (7, "examples[4].id", "duplicate id '5' (first on line 6)"),
        (9, "examples[6].id", f"duplicate id {res.items[3].id!r} (first on line 8)"),
    ]


def test_error_node_ids_are_unique_for_a_compact_release_file(pytester: pytest.Pytester) -> None:
    folder = pytester.path / "release"
    folder.mkdir()
    doc = {"system_prompt": _PROMPT, "examples": [dict(_GOOD, answer="Y"), dict(_GOOD, answer="Z"), _GOOD]}
    (folder / "CMExam.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    result = pytester.runpytest("release", "--mlb-model=mock:oracle", "--collect-only", "-q", "-p", "no:cacheprovider")
    ids = [line for line in result.stdout.lines if "::" in line]
    assert len(ids) == 3 and len(set(ids)) == 3


def test_a_lone_surrogate_escape_is_an_error_naming_the_example(tmp_path: Path) -> None:
    text = (
        '{"system_prompt": "${question}\\n${options}", "examples": [\n'
        '{"question": "问\\udc00 A 甲 B 乙", "answer": "A"},\n'
        '{"question": "问\\ud83d\\ude00 A 甲 B 乙", "answer": "A"}\n]}'
    )
    res = load_suite_file(_write(tmp_path, "CMExam", text), "CMExam.json")
    assert [it.question for it in res.items] == ["问😀"]
    (err,) = res.errors
    assert (err.line, err.field) == (2, "examples[0].question") and "lone UTF-16 surrogate" in str(err)


@pytest.mark.parametrize("number", ["NaN", "-Infinity", "1e999"])
def test_a_non_finite_number_is_the_error_of_its_example_only(tmp_path: Path, number: str) -> None:
    text = (
        '{"system_prompt": "${question}\\n${options}", "examples": [\n'
        '{"question": "问 A 甲 B 乙", "answer": "A", "score": [1, ' + number + "]},\n"
        '{"question": "问 A 甲 B 乙", "answer": "B"}\n]}'
    )
    res = load_suite_file(_write(tmp_path, "CMExam", text), "CMExam.json")
    assert [it.id for it in res.items] == ["q0001"]
    (err,) = res.errors
    assert (err.line, err.field) == (2, "examples[0].score[1]") and "not a finite number" in str(err)
