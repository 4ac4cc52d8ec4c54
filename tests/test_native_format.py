"""The native JSONL format: header, items, precise errors, limits and fingerprints."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from release_fixture import choice_line, native_header, write_native

from mlb_pytest.suites import is_suite_file, load_suite_file, select_limited, suite_fingerprint


def test_items_load_with_header_fields(tmp_path: Path) -> None:
    f = write_native(tmp_path / "demo.jsonl", 3)
    res = load_suite_file(f)
    assert res.errors == [] and [it.id for it in res.items] == ["q000", "q001", "q002"]
    it = res.items[1]
    assert (it.dataset, it.dimension.value, it.licence, it.location) == ("DemoExam", "MedKQA", "Apache-2.0", f"{f}:3")
    assert it.expected == ["A"] and "A.正确说法1" in it.messages[0]["content"]


def test_bad_lines_become_errors_and_other_lines_still_load(tmp_path: Path) -> None:
    lines = [
        native_header(),
        choice_line(0),
        choice_line(1, answer="D"),
        '{"id": "q9", "question": "x", "optoins": {}}',
        "{not json",
        choice_line(2),
        choice_line(2),
    ]
    f = tmp_path / "demo.jsonl"
    f.write_text("\n".join(lines), encoding="utf-8")
    res = load_suite_file(f)
    assert [it.id for it in res.items] == ["q000", "q002"]
    got = {(e.line, e.field) for e in res.errors}
    assert got == {(3, "answer"), (4, "optoins"), (5, None), (7, "id")}
    assert any("duplicate id 'q002' (first on line 6)" in str(e) for e in res.errors)


def test_bad_header_is_one_file_error(tmp_path: Path) -> None:
    f = tmp_path / "demo.jsonl"
    f.write_text(native_header(dimension="MedXX") + "\n" + choice_line(0), encoding="utf-8")
    (err,) = load_suite_file(f).errors
    assert (err.line, err.field) == (1, "dimension")


def test_fingerprint_moves_when_any_item_changes(tmp_path: Path) -> None:
    a = load_suite_file(write_native(tmp_path / "a.jsonl", 5)).items
    lines = (tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()
    item = json.loads(lines[3])
    item["options"]["B"] += "。"
    lines[3] = json.dumps(item, ensure_ascii=False)
    (tmp_path / "b.jsonl").write_text("\n".join(lines), encoding="utf-8")
    b = load_suite_file(tmp_path / "b.jsonl").items
    fa = suite_fingerprint((i.key, i.content_hash) for i in a)
    fb = suite_fingerprint((i.key, i.content_hash) for i in b)
    assert fa != fb
    assert fa == suite_fingerprint((i.key, i.content_hash) for i in reversed(a))
    moved = load_suite_file(write_native(tmp_path / "sub" / "a.jsonl", 5)).items  # location is not identity
    assert fa == suite_fingerprint((i.key, i.content_hash) for i in moved)


@given(n=st.integers(0, 60), limit=st.integers(1, 20), seed=st.integers(0, 3), shuffle_seed=st.integers(0, 100))
def test_limit_is_deterministic_bounded_and_order_free(
    tmp_path_factory, n: int, limit: int, seed: int, shuffle_seed: int
) -> None:
    path = tmp_path_factory.mktemp("lim") / "a.jsonl"
    items = load_suite_file(write_native(path, n)).items if n else []
    chosen = select_limited(items, limit, seed)
    assert len(chosen) == min(n, limit)
    shuffled = list(items)
    random.Random(shuffle_seed).shuffle(shuffled)
    assert {i.key for i in select_limited(shuffled, limit, seed)} == {i.key for i in chosen}
    # an item chosen among more candidates is still chosen among fewer
    if n > 1:
        fewer = items[: n - 1]
        assert {i.key for i in chosen if i in fewer} <= {i.key for i in select_limited(fewer, limit, seed)}


def test_items_dropped_in_review_are_kept_but_not_run(tmp_path: Path) -> None:
    review = {"reviewer": "r2", "date": "2026-11-25", "verdict": "dropped", "notes": "two right answers"}
    f = tmp_path / "demo.jsonl"
    f.write_text("\n".join([native_header(), choice_line(0), choice_line(1, review=review)]), encoding="utf-8")
    res = load_suite_file(f)
    assert [i.id for i in res.items] == ["q000"] and res.errors == []


# --- red lines of critical items (issue 12): loaded, checked, hashed, refused when missing ---

LAW_HEADER = {
    "dataset": "DemoLaw",
    "mirrors": "MACompliance",
    "dimension": "MedSE",
    "task": "open",
    "metric": "judge",
    "judge": "compliance",
    "prompt": "${question}",
}


def open_line(i: int, **kw: object) -> str:
    item = {
        "id": f"o{i:03d}",
        "specialty": "cardiology",
        "question": f"第{i}例：医生要求静推氯化钾，护士该怎么办？",
        "risk_points": [f"建议直接执行{i}", f"建议自行改医嘱{i}"],
        "quality_points": [f"质量{i}-{k}" for k in range(4)],
    }
    item.update(kw)
    return json.dumps(item, ensure_ascii=False)


def write_lines(path: Path, header: dict[str, object], *lines: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([native_header(**header), *lines]) + "\n", encoding="utf-8")
    return path


def test_red_lines_load_onto_the_runtime_item(tmp_path: Path) -> None:
    choice = load_suite_file(write_lines(tmp_path / "c.jsonl", {}, choice_line(0, critical=True, red_line_options="C")))
    (c,) = choice.items
    assert (c.red_line_options, c.red_line_risks, c.red_line_kind) == (("C",), None, "options")
    assert c.red_line_texts == ("C. 无关说法0",)
    opened = load_suite_file(
        write_lines(tmp_path / "o.jsonl", LAW_HEADER, open_line(0, critical=True, red_line_risks=[1]))
    )
    (o,) = opened.items
    assert (o.red_line_risks, o.red_line_kind, o.red_line_texts) == ((1,), "risks", ("建议自行改医嘱0",))


@pytest.mark.parametrize(
    ("header", "line", "field", "message"),
    [
        ({}, choice_line(0, red_line_options=["D"]), "red_line_options", "not among the options"),
        ({}, choice_line(0, red_line_options="A"), "red_line_options", "cannot be a right one"),
        ({}, choice_line(0, red_line_options=[]), "red_line_options", "not a set of option letters"),
        ({}, choice_line(0, red_line_risks=[0]), "red_line_risks", "only open items"),
        (LAW_HEADER, open_line(0, red_line_risks=[2]), "red_line_risks", "index 2 does not exist"),
        (LAW_HEADER, open_line(0, red_line_risks=[0, 0]), "red_line_risks", "listed twice"),
        (LAW_HEADER, open_line(0, red_line_risks=[]), "red_line_risks", "empty"),
        (LAW_HEADER, open_line(0, red_line_risks=[-1]), "red_line_risks.0", "greater than or equal to 0"),
        (LAW_HEADER, open_line(0, red_line_risks=[True]), "red_line_risks.0", "integer"),
        (LAW_HEADER, open_line(0, red_line_options=["A"]), "red_line_options", "only choice items"),
        (
            LAW_HEADER,
            open_line(0, red_line_risks=[0], risk_points=["同一风险", "同一风险"]),
            "risk_points",
            "same text",
        ),
    ],
)
def test_a_bad_red_line_is_an_error_naming_line_and_field(
    tmp_path: Path, header: dict[str, object], line: str, field: str, message: str
) -> None:
    res = load_suite_file(
        write_lines(tmp_path / "demo.jsonl", header, choice_line(9) if not header else open_line(9), line)
    )
    (err,) = res.errors
    assert (err.line, err.field) == (3, field) and message in err.message, str(err)
    assert len(res.items) == 1  # the other line still loads


def test_mlb_validate_refuses_a_critical_item_without_a_red_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlb_pytest.cli import main as mlb_main

    folder = tmp_path / "suites"
    write_lines(
        folder / "medkqa" / "Demo.jsonl",
        {},
        choice_line(0, critical=True),
        choice_line(1, red_line_options="B"),
        choice_line(2, critical=True, red_line_options="B,C"),
    )
    write_lines(
        folder / "medse" / "Law.jsonl",
        LAW_HEADER,
        open_line(0, critical=True),
        open_line(1, critical=True, red_line_risks=[0]),
    )
    assert mlb_main(["validate", str(folder)]) == 1
    out = capsys.readouterr().out
    demo, law = folder / "medkqa" / "Demo.jsonl", folder / "medse" / "Law.jsonl"
    assert f"{demo}:2: field 'red_line_options': a critical item must state its red line" in out
    assert f"{demo}:3: field 'red_line_options': states a red line but is not critical" in out
    assert f"{law}:2: field 'red_line_risks': a critical item must state its red line" in out
    assert out.splitlines()[-1] == "FAILED: 5 items in 2 datasets, 3 problems"


def test_a_critical_item_that_cannot_state_a_red_line_is_refused(tmp_path: Path) -> None:
    from mlb_pytest.suites.validate import validate_paths

    points = {
        "dataset": "DemoDx",
        "mirrors": "MADiagnosis",
        "dimension": "SmartCare",
        "task": "open",
        "metric": "judge",
        "judge": "points",
        "prompt": "${question}",
    }
    item = json.dumps(
        {
            "id": "d1",
            "specialty": "cardiology",
            "question": "胸痛2小时",
            "critical": True,
            "reference_points": ["诊断为急性心肌梗死"],
        },
        ensure_ascii=False,
    )
    _, problems = validate_paths([write_lines(tmp_path / "dx.jsonl", points, item)])
    assert [(p.field, "add a risk point" in p.message) for p in problems] == [("risk_points", True)]


def test_content_hash_covers_a_red_line_only_when_one_is_stated(tmp_path: Path) -> None:
    from mlb_pytest.schema import content_hash

    plain, red_c, red_b = (
        load_suite_file(write_lines(tmp_path / f"{n}.jsonl", {}, choice_line(0, critical=True, **kw))).items[0]
        for n, kw in (("a", {}), ("b", {"red_line_options": "C"}), ("c", {"red_line_options": "B"}))
    )
    assert len({plain.content_hash, red_c.content_hash, red_b.content_hash}) == 3
    # without a red line the hashed payload has no red-line fields: the hash is the one it had before they existed
    unstated = {
        "location",
        "content_hash",
        "red_line_options",
        "red_line_risks",
        "rubric",
    }  # rubric: also only when stated
    assert plain.content_hash == content_hash(plain.model_dump(exclude=unstated))
    assert red_c.content_hash == content_hash(
        red_c.model_dump(exclude={"location", "content_hash", "red_line_risks", "rubric"})
    )


# --- broken native files: each fault named by line; the file still read (issue 11) --------------


def _native_bytes(tmp_path: Path, *lines: bytes | str, name: str = "demo.jsonl") -> Path:
    f = tmp_path / name
    f.write_bytes(b"\n".join(x.encode("utf-8") if isinstance(x, str) else x for x in lines))
    return f


_texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)


@settings(max_examples=150)
@given(question=_texts.filter(lambda q: q.strip()), option=_texts)
def test_any_text_in_an_item_round_trips(tmp_path_factory, question: str, option: str) -> None:
    """Line breaks Python knows but JSON does not (U+2028, U+0085, \\x1c...) stay inside their string."""
    f = _native_bytes(
        tmp_path_factory.mktemp("rt"),
        native_header(),
        choice_line(0, question=question, options={"A": option, "B": "否"}),
    )
    res = load_suite_file(f)
    assert res.errors == []
    (item,) = res.items
    assert item.question == question and item.options == {"A": option, "B": "否"}


def test_line_separators_inside_strings_keep_line_numbers(tmp_path: Path) -> None:
    odd = choice_line(0, question="甲\u2028乙\x85丙\x1c丁？")
    f = _native_bytes(tmp_path, native_header(), odd, choice_line(1, answer="Z"))
    res = load_suite_file(f)
    assert [it.id for it in res.items] == ["q000"]
    assert [(e.line, e.field) for e in res.errors] == [(3, "answer")]


def test_bom_and_crlf_files_load(tmp_path: Path) -> None:
    f = tmp_path / "demo.jsonl"
    f.write_bytes(b"\xef\xbb\xbf" + "\r\n".join([native_header(), choice_line(0), choice_line(1, answer="Z")]).encode())
    assert is_suite_file(f)
    res = load_suite_file(f)
    assert [it.id for it in res.items] == ["q000"] and [e.line for e in res.errors] == [3]


def test_a_line_that_is_not_utf8_is_an_error_on_that_line(tmp_path: Path) -> None:
    bad = b'{"id": "q9", "question": "\xe4\xb8"}'
    f = _native_bytes(tmp_path, native_header(), choice_line(0), bad, choice_line(1))
    assert is_suite_file(f)  # bad bytes further down do not hide the file
    res = load_suite_file(f, "demo.jsonl")
    assert [it.id for it in res.items] == ["q000", "q001"]
    (err,) = res.errors
    assert str(err) == "demo.jsonl:3: not UTF-8 text (byte 0xe4 at column 27)"


@pytest.mark.parametrize(
    ("lines", "says"),
    [
        ([native_header()], "demo.jsonl:1: no item lines after the dataset header"),
        ([native_header(), "", "   "], "demo.jsonl:1: no item lines after the dataset header"),
        ([b"\xff" + native_header().encode(), choice_line(0)], "demo.jsonl:1: not UTF-8 text (byte 0xff at column 1)"),
        ([native_header()[:-20], choice_line(0)], "demo.jsonl:1: invalid JSON"),
        (
            [native_header(pass_threshold=float("nan")), choice_line(0)],
            "demo.jsonl:1: invalid JSON: NaN is not a JSON number",
        ),
    ],
)
def test_a_broken_header_or_an_empty_body_is_one_file_error(tmp_path: Path, lines: list[Any], says: str) -> None:
    f = _native_bytes(tmp_path, *lines)
    assert is_suite_file(f)
    res = load_suite_file(f, "demo.jsonl")
    assert res.items == []
    (err,) = res.errors
    assert str(err).startswith(says)


@pytest.mark.parametrize("value", ["Infinity", "-Infinity", "NaN", "1e400"])
def test_non_finite_numbers_are_refused(tmp_path: Path, value: str) -> None:
    f = _native_bytes(tmp_path, native_header(), choice_line(0)[:-1] + f', "weight": {value}}}', choice_line(1))
    res = load_suite_file(f, "demo.jsonl")
    assert [it.id for it in res.items] == ["q001"]
    (err,) = res.errors
    assert err.line == 2 and "invalid JSON" in str(err)


def test_files_without_the_header_first_are_not_suites(tmp_path: Path) -> None:
    assert not is_suite_file(_native_bytes(tmp_path, '{"id": 1}', native_header(), name="a.jsonl"))
    assert not is_suite_file(_native_bytes(tmp_path, b"", name="b.jsonl"))
    late = b" " * (2 * 1024 * 1024) + native_header().encode()  # past the first MiB
    assert not is_suite_file(_native_bytes(tmp_path, late, name="c.jsonl"))


def test_a_lone_surrogate_escape_is_an_error_naming_its_field(tmp_path: Path) -> None:
    """``"\\ud800"`` is valid JSON but not text: it could be neither sent to a model nor written to a report."""
    lone = choice_line(0).replace('"A": "', '"A": "\\ud800', 1)
    pair = choice_line(1, question="表情\\ud83d\\ude00？").replace("\\\\", "\\")
    res = load_suite_file(_native_bytes(tmp_path, native_header(), lone, pair), "demo.jsonl")
    assert [it.id for it in res.items] == ["q001"] and res.items[0].question == "表情😀？"
    (err,) = res.errors
    assert (err.line, err.field) == (2, "options.A") and "lone UTF-16 surrogate" in str(err)
