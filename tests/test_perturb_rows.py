"""The constructed wrong-detail rows: one shared detail turned, the rest of the response kept."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from mlb_pytest.judges.training.perturb import NUMBER, SWAPS, _swap, perturb, rows_from

WORDS = st.sampled_from(
    ["左侧", "右侧", "阳性", "阴性", "升高", "降低", "胸痛", "，", "CT", " ", "left", "right", "3天"]
)


@given(st.lists(WORDS, max_size=12).map("".join), st.sampled_from(SWAPS))
def test_swapping_twice_gives_the_text_back(text: str, swap: tuple[str, str, str]) -> None:
    _, a, b = swap
    assert _swap(_swap(text, a, b), a, b) == text


def test_sides_swap_both_ways_in_one_pass() -> None:
    assert _swap("右侧偏瘫，定位于左侧大脑半球", "左侧", "右侧") == "左侧偏瘫，定位于右侧大脑半球"
    assert _swap("Right eye red; left eye normal", "left", "right") == "Left eye red; right eye normal"
    assert _swap("High-kV film", "high", "low") == "Low-kV film"


def test_numbers_inside_names_are_not_quantities() -> None:
    assert NUMBER.findall("维生素B12、CA19-9、抗GM1、2型糖尿病") == []
    assert NUMBER.findall("发热3天，最高38.5℃，血压130/80") == ["3", "38.5", "130", "80"]


@given(st.integers(min_value=0, max_value=500), st.integers(min_value=0, max_value=2**32))
def test_a_shared_number_is_changed_everywhere_and_nothing_else(n: int, seed: int) -> None:
    point = f"主诉：腹泻{n}天，伴发热"
    response = f"主诉：腹泻{n}天，病初伴发热"
    made = perturb(point, response, random.Random(seed))
    assert made is not None
    turned, why = made
    assert turned != response and why.startswith("number:")
    assert turned.startswith("主诉：腹泻") and turned.endswith("天，病初伴发热")
    assert NUMBER.findall(turned) != [str(n)]


def test_nothing_shared_means_no_row() -> None:
    assert perturb("推荐胸部增强CT", "建议做胸部增强CT明确占位", random.Random(0)) is None


def _row(i: int, **over: str) -> dict:
    row = {
        "id": f"WorkupPlan-wkp-{i:03d}-1",
        "item": f"wkp-{i:03d}",
        "kind": "point",
        "dataset": "WorkupPlan",
        "context": "病历",
        "point": "左侧肢体无力3天",
        "response": "左侧肢体无力3天，考虑脑梗死",
        "label": "yes",
        "trap": "meets",
        "lang": "zh",
        "split": "train",
    }
    return {**row, **over}


def test_rows_come_only_from_met_points_and_are_labelled_no() -> None:
    source = [
        _row(1),
        _row(2, label="no", trap="wrong_detail"),
        _row(3, kind="risk"),
        _row(4, trap="partial"),
        _row(5, id="derived-x"),
    ]
    rows = rows_from(source, random.Random(0))
    assert [r["id"] for r in rows] == ["detail-WorkupPlan-wkp-001-1"]
    (row,) = rows
    assert row["label"] == "no" and row["trap"] == "wrong_detail" and row["split"] == "train"
    assert row["point"] == source[0]["point"] and row["response"] != source[0]["response"]
    assert row["review"]["reader"].startswith("none: labelled by construction")
