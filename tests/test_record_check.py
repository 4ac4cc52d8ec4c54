"""The record-field check beside the bundled judge: a MARecord point is a field, and fields compare."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from mlb_pytest.catalog import RECORD_FIELDS
from mlb_pytest.judges.builtin import verdict_text
from mlb_pytest.judges.calibration import Calibration
from mlb_pytest.judges.record_check import check_record_field, normalise, record_of
from mlb_pytest.suites.build import derive_points

RECORD = {
    "性别": "女",
    "年龄": "不详",
    "主诉": ["头痛2天"],
    "现病史": ["头痛2天，无发热。"],
    "既往史": ["不详"],
    "个人史": ["不详"],
    "婚育史": ["已婚，育有1子"],
    "家族史": ["不详"],
}


def test_an_answer_that_states_the_field_meets_its_point_and_a_blank_one_does_not() -> None:
    answer = json.dumps(RECORD, ensure_ascii=False)
    met = check_record_field("既往史：不详", answer)
    assert met is not None and met.met and "既往史 is 不详" in met.reason()
    assert check_record_field("现病史：头痛2天，无发热", answer).met  # type: ignore[union-attr]  # end punctuation
    assert check_record_field("婚育史： 已婚，育有1子", answer).met  # type: ignore[union-attr]  # spacing
    blank = json.dumps({**RECORD, "婚育史": ["不详"]}, ensure_ascii=False)
    missed = check_record_field("婚育史：已婚，育有1子", blank)
    assert missed is not None and not missed.met and "where the point records 已婚，育有1子" in missed.reason()


def test_what_needs_reading_is_left_to_the_encoder() -> None:
    answer = json.dumps(RECORD, ensure_ascii=False)
    assert check_record_field("现病史：两天来头痛，不发烧", answer) is None  # a paraphrase
    assert check_record_field("年龄：45岁", json.dumps({**RECORD, "年龄": "45"}, ensure_ascii=False)) is None
    assert check_record_field("既往史：不详", json.dumps({**RECORD, "既往史": ["高血压"]}, ensure_ascii=False)) is None
    assert check_record_field("诊断：偏头痛", answer) is None  # not a record field
    assert check_record_field("既往史：不详", "既往史：不详，其余无特殊。") is None  # prose, not a record
    assert check_record_field("既往史：不详", json.dumps({"诊断": "偏头痛"}, ensure_ascii=False)) is None


def test_a_record_inside_prose_or_a_fence_is_read() -> None:
    body = json.dumps(RECORD, ensure_ascii=False)
    assert record_of(f"病历如下：\n```json\n{body}\n```\n请核对。") == record_of(body)
    assert record_of("no record here") is None


def test_the_plugins_own_reference_points_are_met_by_the_reference_record() -> None:
    """The oracle answer of a MARecord item meets every point the plugin derives from it."""
    points = derive_points("MARecord", RECORD)
    assert points is not None and len(points) == len(RECORD_FIELDS)
    answer = json.dumps(RECORD, ensure_ascii=False)
    assert all((f := check_record_field(p, answer)) is not None and f.met for p in points)


def test_a_settled_field_leads_the_verdict_whatever_the_encoder_says() -> None:
    answer = json.dumps(RECORD, ensure_ascii=False)
    met = check_record_field("家族史：不详", answer)
    out = json.loads(verdict_text(0.05, 0.4, Calibration(2.0, (0.3, 0.6)), None, met))
    assert out["verdict"] == "yes" and out["reason"].startswith("record check:") and "p(yes)=" in out["reason"]
    blank = check_record_field("婚育史：已婚，育有1子", json.dumps({**RECORD, "婚育史": ""}, ensure_ascii=False))
    out = json.loads(verdict_text(0.95, 0.4, Calibration(), None, blank))
    assert out["verdict"] == "no" and "is blank where the point records" in out["reason"]


_VALUE = st.text(alphabet=st.sampled_from("头痛发热咳嗽高血压糖尿病无有天年月12345，、 ."), min_size=1, max_size=20)


@given(field=st.sampled_from(RECORD_FIELDS), value=_VALUE, other=_VALUE)
def test_a_field_is_met_exactly_when_its_normalised_values_agree(field: str, value: str, other: str) -> None:
    answer = json.dumps({**RECORD, field: other}, ensure_ascii=False)
    finding = check_record_field(f"{field}：{value}", answer)
    if normalise(value) == normalise(other):
        assert finding is not None and finding.met
    else:
        assert finding is None or not finding.met


@given(st.text(max_size=200))
def test_any_text_is_read_without_error(text: str) -> None:
    finding = check_record_field(f"既往史：{text}", text)
    assert finding is None or isinstance(finding.met, bool)
