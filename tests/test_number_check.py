"""Quantities read from clinical text, and the judge's number check built on them."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlb_pytest.judges.builtin import verdict_text
from mlb_pytest.judges.calibration import Calibration
from mlb_pytest.judges.number_check import check_numbers, comparator
from mlb_pytest.judges.quantities import number_value, quantities
from mlb_pytest.judges.verdict import parse_verdict


def one(text: str) -> tuple[float, float, str]:
    qs = quantities(text)
    assert len(qs) == 1, [q.text for q in qs]
    return qs[0].low, qs[0].high, qs[0].dim


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("500 mg", "0.5 g"),
        ("400微克", "0.4 mg"),
        ("二十毫克", "20 mg"),
        ("bid", "每日两次"),
        ("twice daily", "一天2次"),
        ("q12h", "every 12 hours"),
        ("每8小时", "tid"),
        ("3天", "72小时"),
        ("five days", "5 days"),
        ("7 g/dL", "70 g/L"),
        ("1 L", "1000 ml"),
        ("2 cm", "20 mm"),
    ],
)
def test_one_quantity_in_two_notations_is_the_same(a: str, b: str) -> None:
    assert quantities(a)[0].same_as(quantities(b)[0])


@pytest.mark.parametrize(("a", "b"), [("5 mg", "0.5 mg"), ("bid", "tid"), ("3 mmol/L", "3 mg/dL"), ("3周", "3个月")])
def test_other_values_or_dimensions_differ(a: str, b: str) -> None:
    assert not quantities(a)[0].same_as(quantities(b)[0])


def test_ranges_pressures_and_ratios_read_whole() -> None:
    assert one("叶酸0.4~0.8 mg") == (0.4, 0.8, "mass")
    assert one("BP 150/95mmHg") == (150095.0, 150095.0, "bp")
    assert one("1:1000肾上腺素")[2] == "ratio"


def test_dates_and_names_with_digits_are_not_quantities() -> None:
    assert [q.text for q in quantities("3月5日就诊，2024年3月起，CA19-9升高，维生素B12，2型糖尿病")] == []
    assert [q.text for q in quantities("连用5日")] == ["5日"]


@given(st.integers(min_value=0, max_value=999))
def test_chinese_numerals_read_as_their_value(n: int) -> None:
    digits = "零一二三四五六七八九"
    hundreds, tens, units = divmod(n, 100)[0], divmod(n, 10)[0] % 10, n % 10
    text = ""
    if hundreds:
        text += digits[hundreds] + "百"
    if tens:
        text += ("" if tens == 1 and not hundreds else digits[tens]) + "十"
    elif hundreds and units:
        text += "零"
    if units or not text:
        text += digits[units]
    assert number_value(text) == n


@settings(max_examples=200)
@given(st.text(alphabet=st.sampled_from(list("0123456789.~- mgμL/天周次每日bidq个月年岁%℃肾上腺素，。")), max_size=80))
def test_quantities_never_overlap_and_stay_inside_the_text(text: str) -> None:
    qs = quantities(text)
    for a, b in zip(qs, qs[1:]):
        assert a.end <= b.start
    for q in qs:
        assert text[q.start : q.end] == q.text and q.low <= q.high


def test_long_blank_text_reads_in_linear_time() -> None:
    started = time.perf_counter()
    quantities("5 " * 50_000 + "mg")
    check_numbers("肾上腺素0.5 mg", "肾上腺素 " + "1 " * 50_000)
    assert time.perf_counter() - started < 5


UNITS = {"mg": 1.0, "g": 1000.0, "μg": 0.001}


@given(st.sampled_from(sorted(UNITS)), st.integers(min_value=1, max_value=5000), st.sampled_from(sorted(UNITS)))
def test_the_same_dose_in_any_mass_unit_passes_the_check(unit: str, n: int, other: str) -> None:
    mg = n * UNITS[unit]
    restated = f"{mg / UNITS[other]:.6f}".rstrip("0").rstrip(".")
    assert check_numbers(f"给予甲氨蝶呤{n} {unit}", f"建议甲氨蝶呤{restated} {other}，每周一次。") is None


@given(st.integers(min_value=1, max_value=5000), st.integers(min_value=1, max_value=5000))
def test_another_dose_for_the_same_drug_is_a_mismatch(n: int, m: int) -> None:
    finding = check_numbers(f"Gives methotrexate {n} mg", f"Start methotrexate {m} mg once weekly.")
    assert (finding is None) == (n == m)
    if finding is not None:
        assert f"{n} mg" in finding.reason() and f"{m} mg" in finding.reason()


def test_a_dose_stated_for_another_drug_leaves_the_decision_to_the_encoder() -> None:
    point = "立即肌内注射肾上腺素0.5 mg"
    assert check_numbers(point, "肾上腺素1 mg/mL 0.5 mL大腿外侧肌注；地塞米松10 mg静注。") is None
    assert check_numbers(point, "1:1000肾上腺素5 mg大腿外侧肌注；地塞米松10 mg静注。") is not None
    # the value anywhere in the response: the check cannot tell what it is said of, so it stays silent
    assert check_numbers(point, "肾上腺素5 mg肌注，之后甲泼尼龙0.5 mg/kg。异丙嗪0.5 mg") is None


def test_a_bound_is_met_by_a_patients_value_inside_it_but_not_by_another_bound() -> None:
    point = "Basis: urea >7 mmol/L"
    assert comparator(point, quantities(point)[0]) == ">"
    assert check_numbers(point, "urea 9.8 mmol/L") is None
    assert check_numbers(point, "urea 5.1 mmol/L") is not None
    low = "血糖低于3.9 mmol/L即属低血糖"
    assert check_numbers(low, "低血糖的标准是血糖低于2.8 mmol/L，这次测得3.5 mmol/L") is not None
    assert check_numbers(low, "血糖低于3.9 mmol/L就算低血糖，这次测得3.5 mmol/L") is None


def test_frequencies_and_durations_are_checked_like_doses() -> None:
    point = "Nitrofurantoin 100 mg twice daily for 5 days"
    assert check_numbers(point, "nitrofurantoin 100 mg every 12 hours for five days") is None
    finding = check_numbers(point, "nitrofurantoin 100 mg twice daily for 7 days")
    assert finding is not None and "5 days" in finding.reason()


def test_a_mismatch_makes_the_verdict_no_with_both_values_as_the_reason() -> None:
    finding = check_numbers("肾上腺素0.5 mg肌注", "肾上腺素5 mg肌注")
    assert finding is not None
    text = verdict_text(0.97, 0.5, Calibration(), finding)
    v = parse_verdict(text)
    assert not v.yes and "0.5 mg" in v.rationale and "5 mg" in v.rationale
    assert json.loads(text)["p_yes"] == 0.97  # the encoder's figure is kept for the reader
    assert parse_verdict(verdict_text(0.97, 0.5, Calibration())).yes


def test_the_criterions_figure_written_without_its_unit_counts_as_stated() -> None:
    point = "指出1小时血糖10.6 mmol/L达到诊断界值"
    assert check_numbers(point, "1小时血糖10.6，已超过界值；2小时血糖8.5 mmol/L。") is None
    assert check_numbers(point, "1小时血糖9.6，未超过界值；2小时血糖8.5 mmol/L。") is not None
    bp = "根据血压165/102 mmHg判定为高血压2级"
    assert check_numbers(bp, "两次血压分别为165/102和168/104 mmHg") is None
    assert check_numbers(bp, "两次血压分别为156/98和158/96 mmHg") is not None


def test_the_figure_with_a_unit_of_its_own_is_not_the_criterions_value() -> None:
    """2周 is not 2个月 written without its unit, and 75 mg is not 75 micrograms."""
    assert check_numbers("主诉：阵发性心悸2个月，伴胸闷", "主诉：阵发性心悸2周，伴胸闷。") is not None
    assert check_numbers("主诉：阵发性心悸2个月，伴胸闷", "主诉：阵发性心悸2个月，伴胸闷2周。") is None
    levo = "Documents levothyroxine 75 micrograms once daily"
    assert check_numbers(levo, "Medications: levothyroxine 75 mg once daily.") is not None
    assert check_numbers(levo, "Medications: levothyroxine 0.075 mg once daily.") is None
