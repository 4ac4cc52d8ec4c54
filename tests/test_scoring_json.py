"""Tolerant JSON parsing of model answers."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlb_pytest.scoring import parse_json_answer

ENT = {"疾病": ["高血压", "糖尿病"], "症状": ["头痛"]}

CASES = [
    ('{"疾病": ["高血压", "糖尿病"], "症状": ["头痛"]}', ENT),
    ('```json\n{"疾病": ["高血压", "糖尿病"], "症状": ["头痛"]}\n```', ENT),
    ('```\n{"疾病": ["高血压", "糖尿病"], "症状": ["头痛"]}\n```', ENT),
    ('好的，抽取结果如下：\n{"疾病": ["高血压", "糖尿病"], "症状": ["头痛"]}\n以上。', ENT),
    ('Here is the result:\n```json\n{"疾病": ["高血压", "糖尿病"], "症状": ["头痛"]}\n```\nHope this helps.', ENT),
    ("{'疾病': ['高血压', '糖尿病'], '症状': ['头痛']}", ENT),
    ('{"疾病": ["高血压", "糖尿病",], "症状": ["头痛",],}', ENT),
    ('结果：{"疾病": ["高血压", "糖尿病"], "症状": ["头痛"]', ENT),  # cut off before the final brace
    ('<think>先看 {"x": 1}</think>{"疾病": ["高血压", "糖尿病"], "症状": ["头痛"]}', ENT),
    (
        '[{"主体词": "头昏", "发生状态": "否定", "描述词": [], "解剖部位": ["头"]}]',
        [{"主体词": "头昏", "发生状态": "否定", "描述词": [], "解剖部位": ["头"]}],
    ),
    ("[]", []),
    ("{}", {}),
    ('{"a": "含有}和]的字符串"}', {"a": "含有}和]的字符串"}),
    ('{"a": "escaped \\" quote }"}', {"a": 'escaped " quote }'}),
    ("{'a': None, 'b': True}", {"a": None, "b": True}),
]


@pytest.mark.parametrize(("text", "value"), CASES)
def test_parses(text: str, value: object) -> None:
    got, note = parse_json_answer(text)
    assert got == value
    assert note


def test_notes_say_how_it_was_found() -> None:
    assert parse_json_answer('{"a": 1}')[1] == "json"
    assert parse_json_answer('x {"a": 1} y')[1] == "embedded"
    assert parse_json_answer('```json\n{"a": 1}\n```')[1] == "fenced"
    assert "repaired" in parse_json_answer("{'a': 1,}")[1]
    assert "truncated" in parse_json_answer('{"a": [1, 2')[1]


def test_largest_object_wins_over_small_ones_in_prose() -> None:
    text = '参考 [1] 和 {"x": 1}。答案：{"疾病": ["高血压", "糖尿病"], "症状": ["头痛"]}'
    assert parse_json_answer(text)[0] == ENT


def test_equal_sized_objects_last_wins() -> None:
    assert parse_json_answer('草稿 {"a": 1} 最终 {"a": 2}')[0] == {"a": 2}


def test_last_fenced_block_wins() -> None:
    text = '```json\n{"a": 1, "draft": true}\n```\n修改后：\n```json\n{"a": 2}\n```'
    assert parse_json_answer(text)[0] == {"a": 2}


def test_fence_without_json_falls_back_to_text() -> None:
    text = '```text\n没有\n```\n{"a": 1}'
    assert parse_json_answer(text)[0] == {"a": 1}


def test_truncated_outer_object_beats_its_complete_inner_list() -> None:
    text = '{"疾病": ["高血压", "糖尿病"], "症状": ["头痛"], "药物": ["阿司'
    got, note = parse_json_answer(text)
    assert isinstance(got, dict) and got["疾病"] == ["高血压", "糖尿病"] and got["症状"] == ["头痛"]
    assert "truncated" in note


@pytest.mark.parametrize("text", ["", "   ", "没有实体", "The text mentions no entities.", "```\n\n```"])
def test_nothing_parseable(text: str) -> None:
    value, note = parse_json_answer(text)
    assert value is None
    assert isinstance(note, str) and note


def test_scalars_are_not_answers() -> None:
    assert parse_json_answer('"高血压"')[0] is None
    assert parse_json_answer("42")[0] is None


# --- properties ------------------------------------------------------------------------------

SAFE_TEXT = st.text(st.characters(blacklist_characters="`<>", blacklist_categories=("Cs",)), max_size=12)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | SAFE_TEXT
)
JSON_VALUES = st.recursive(
    SCALARS, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(SAFE_TEXT, kids, max_size=4), max_leaves=20
)
CONTAINERS = st.dictionaries(SAFE_TEXT, JSON_VALUES, max_size=5) | st.lists(JSON_VALUES, max_size=5)
PROSE = st.text(alphabet="好的结果如下以上仅供参考，。：:！ \nabcxyz-*", max_size=30)

WRAPPERS = [
    lambda j, a, b: j,
    lambda j, a, b: f"{a}\n{j}\n{b}",
    lambda j, a, b: f"{a}```json\n{j}\n```{b}",
    lambda j, a, b: f"{a}\n```\n{j}\n```\n{b}",
    lambda j, a, b: f"{a}{j}{b}",
]


@settings(max_examples=300, deadline=None)
@given(CONTAINERS, st.sampled_from(range(len(WRAPPERS))), PROSE, PROSE, st.sampled_from([None, 2]), st.booleans())
def test_round_trip_wrapped(
    value: object, wrap: int, before: str, after: str, indent: int | None, ascii_only: bool
) -> None:
    text = WRAPPERS[wrap](json.dumps(value, ensure_ascii=ascii_only, indent=indent), before, after)
    got, note = parse_json_answer(text)
    assert got == value, note


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_never_raises_and_returns_containers(text: str) -> None:
    value, note = parse_json_answer(text)
    assert value is None or isinstance(value, (dict, list))
    assert (value is None) == (note is not None and not note.startswith(("json", "embedded", "fenced", "repaired")))
