"""The encoder sees the response's quantities written as the criterion writes them, and nothing else changed."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mlb_pytest.judges.quantities import quantities
from mlb_pytest.judges.reading import READING_VERSION, encoder_text
from mlb_pytest.judges.unit_alignment import UNITS_VERSION, align_units


def test_an_equal_value_in_another_unit_reads_as_the_criterion_writes_it() -> None:
    assert align_units("嚼服阿司匹林0.3 g负荷，之后100 mg每日一次", "阿司匹林负荷剂量300 mg") == (
        "嚼服阿司匹林300 mg负荷，之后100 mg每日一次"
    )
    assert align_units("Hb<7 g/dL时输血", "血红蛋白低于70 g/L时输血") == "Hb<70 g/L时输血"
    assert align_units("500 micrograms every 12 hours for three months", "0.5 mg twice daily for 3 months") == (
        "0.5 mg twice daily for 3 months"
    )


def test_a_different_value_a_rounding_or_a_containing_range_is_left_as_written() -> None:
    assert align_units("阿司匹林100 mg", "阿司匹林300 mg") == "阿司匹林100 mg"
    assert align_units("999 mg", "1 g") == "999 mg"  # a rounding is not the same dose
    assert align_units("叶酸400微克", "叶酸0.4~0.8 mg") == "叶酸400微克"  # inside the range, not equal to it
    assert align_units("5 mL of 10%", "10 mL of 10% calcium gluconate") == "5 mL of 10%"


def test_without_quantities_in_the_criterion_nothing_changes() -> None:
    text = "每日0.3 g，共5天"
    assert align_units(text, "建议规律服药") is text


def test_the_reading_version_names_the_unit_step_and_each_step_can_be_turned_off() -> None:
    assert UNITS_VERSION in READING_VERSION
    response, criterion = "您好！\n阿司匹林0.3 g嚼服", "阿司匹林300 mg嚼服"
    assert encoder_text(response, criterion, "", {}) == "阿司匹林300 mg嚼服"
    assert encoder_text(response, criterion, "", {"align_units": False}) == "阿司匹林0.3 g嚼服"
    assert encoder_text(response, criterion, "", {"related_lines": False}) == "您好！\n阿司匹林300 mg嚼服"


_UNIT_TEXT = st.sampled_from(["mg", "g", "μg", "微克", "毫克", "mL", "L", "小时", "天", "周", "mmol/L", "%"])
_VALUE = st.sampled_from(["0.3", "300", "5", "0.5", "500", "7", "70", "2", "24", "48", "1000", "1"])
_FILLER = st.sampled_from(["阿司匹林", "每日", "，", "。", "Give ", " then ", "\n", "复查", "口服"])
_PIECE = st.one_of(
    _FILLER, st.builds(lambda v, u: f"{v} {u}", _VALUE, _UNIT_TEXT)
)  # pieces apart: "0.5 g0.3 mg" is not text


@settings(max_examples=200, deadline=None)
@given(st.lists(_PIECE, max_size=10).map("，".join), st.lists(_PIECE, max_size=6).map("，".join))
def test_values_and_the_text_around_them_are_kept(response: str, criterion: str) -> None:
    aligned = align_units(response, criterion)
    before, after = quantities(response), quantities(aligned)
    # the same values, in the same order, in the same dimensions: only how they are written may change
    assert [(q.dim, q.low, q.high) for q in after] == [(q.dim, q.low, q.high) for q in before]
    wanted = {q.text for q in quantities(criterion)}
    for b, a in zip(before, after):
        assert a.text == b.text or a.text in wanted
    assert align_units(aligned, criterion) == aligned  # once is enough
