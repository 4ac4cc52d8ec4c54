"""The training folder with other writers' trap sets: nothing lost, cases never split, bad rows named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlb_pytest.judges.training.paths import TrainingInputError
from mlb_pytest.judges.training.trap_sets import split_of_case, write_folder


def _row(i: int, item: str) -> dict[str, object]:
    return {"id": f"r{i}", "item": item, "dataset": "WorkupPlan", "kind": "point", "point": "p", "response": "r",
            "label": "yes" if i % 2 else "no", "split": "heldout"}  # fmt: skip


def _write(path: Path, rows: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_annotations_copied_and_every_set_row_kept_with_its_case_in_one_split(tmp_path: Path) -> None:
    _write(tmp_path / "ann" / "A.jsonl", [{**_row(0, "a"), "split": "test"}])
    rows = [_row(i, f"case-{i // 3}") for i in range(90)]
    _write(tmp_path / "sets" / "heldout9" / "x.jsonl", rows)
    out = tmp_path / "out"
    (out).mkdir()
    (out / "stale.jsonl").write_text("{}\n")  # a file left from an earlier build is not trained on
    counts = write_folder(out, tmp_path / "ann", [tmp_path / "sets" / "heldout9"])
    assert sorted(p.name for p in out.glob("*.jsonl")) == ["A.jsonl", "traps_heldout9.jsonl"]
    assert (out / "A.jsonl").read_text() == (tmp_path / "ann" / "A.jsonl").read_text()
    written = [json.loads(line) for line in (out / "traps_heldout9.jsonl").read_text().splitlines()]
    assert [r["id"] for r in written] == [r["id"] for r in rows]
    assert sum(counts.values()) == 90 and set(counts) <= {"train", "dev"} and counts["train"] > counts["dev"]
    by_case: dict[str, set[str]] = {}
    for r in written:
        by_case.setdefault(r["item"], set()).add(r["split"])
    assert all(len(s) == 1 for s in by_case.values())


def test_a_bad_line_is_named_with_its_file_and_line(tmp_path: Path) -> None:
    _write(tmp_path / "ann" / "A.jsonl", [_row(0, "a")])
    bad = tmp_path / "sets" / "h" / "x.jsonl"
    bad.parent.mkdir(parents=True)
    bad.write_text(json.dumps(_row(1, "b")) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(TrainingInputError, match=r"x\.jsonl:2: invalid JSON"):
        write_folder(tmp_path / "out", tmp_path / "ann", [bad.parent])
    bad.write_text(json.dumps({"id": "r1", "dataset": "WorkupPlan"}) + "\n", encoding="utf-8")
    with pytest.raises(TrainingInputError, match=r"x\.jsonl:1: field 'kind' missing"):
        write_folder(tmp_path / "out", tmp_path / "ann", [bad.parent])


@given(st.text(min_size=1, max_size=20), st.text(min_size=1, max_size=20))
def test_the_split_depends_on_the_case_only(dataset: str, item: str) -> None:
    assert split_of_case(dataset, item) in ("train", "dev")
    assert split_of_case(dataset, item) == split_of_case(dataset, item)
    assert split_of_case(dataset, item, dev_share=0.0) == "train"
    assert split_of_case(dataset, item, dev_share=1.0) == "dev"
