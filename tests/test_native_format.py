"""The native JSONL format: header, items, precise errors, limits and fingerprints."""

from __future__ import annotations

import json
import random
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from mlb_pytest.suites import load_suite_file, select_limited, suite_fingerprint
from release_fixture import choice_line, native_header, write_native


def test_items_load_with_header_fields(tmp_path: Path) -> None:
    f = write_native(tmp_path / "demo.jsonl", 3)
    res = load_suite_file(f)
    assert res.errors == [] and [it.id for it in res.items] == ["q000", "q001", "q002"]
    it = res.items[1]
    assert (it.dataset, it.dimension.value, it.licence, it.location) == ("DemoExam", "MedKQA", "Apache-2.0", f"{f}:3")
    assert it.expected == ["A"] and "A.正确说法1" in it.messages[0]["content"]


def test_bad_lines_become_errors_and_other_lines_still_load(tmp_path: Path) -> None:
    lines = [native_header(), choice_line(0), choice_line(1, answer="D"), '{"id": "q9", "question": "x", "optoins": {}}',
             "{not json", choice_line(2), choice_line(2)]
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
def test_limit_is_deterministic_bounded_and_order_free(tmp_path_factory, n: int, limit: int, seed: int, shuffle_seed: int) -> None:
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
