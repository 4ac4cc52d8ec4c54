"""The one reader of numbers written in words, shared by the choice scorer and the judge's number check."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mlb_pytest.judges.quantities import number_value
from mlb_pytest.numerals import EN_NUMBERS, zh_value
from mlb_pytest.scoring.choice_paraphrase import _digits

DIGITS = "零一二三四五六七八九"


def written(n: int) -> str:
    """n (1..9999) the way a Chinese text writes it: 一千零五, 三百二十, 十五."""
    out, zero = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // value % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += ("" if d == 1 and unit == "十" and not out else DIGITS[d]) + unit
    return out


@given(st.integers(min_value=1, max_value=9999))
def test_chinese_numerals_read_as_their_value_everywhere(n: int) -> None:
    text = written(n)
    assert zh_value(text) == n
    assert number_value(text) == n  # the judge's quantities
    assert _digits(f"{text}毫克") == f"{n}毫克"  # the choice scorer's features


def test_two_digits_in_a_row_are_no_number_but_a_range_to_the_choice_scorer() -> None:
    assert zh_value("二三") is None and zh_value("") is None and zh_value("三x") is None
    assert _digits("二三天") == "2~3天"


def test_english_number_words_read_the_same_in_both_readers() -> None:
    for word, n in EN_NUMBERS.items():
        assert number_value(word) == n
        assert _digits(f"{word} days") == f"{n} days"
