"""Choice scoring: letters must be found in every answer style real models produce."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlb_pytest.catalog import Dimension, Metric, Task
from mlb_pytest.scoring import Score, extract_choices, score_choice, score_item
from mlb_pytest.suites.build import DatasetInfo, build_item

HERBS = {"A": "射干", "B": "白头翁", "C": "马齿苋", "D": "穿心莲", "E": "白花蛇舌草"}


def choice_item(answer: str | list[str], options: dict[str, str] | None = None, style: str = "lines"):
    info = DatasetInfo(name="T", dimension=Dimension.MedKQA, task=Task.choice, metric=Metric.accuracy,
                       prompt="${question}\n${options}", options_style=style)
    raw = {"id": "t1", "question": "既治湿热泻痢，又治感冒发热的药是", "options": options or HERBS, "answer": answer}
    return build_item(info, raw, "t.jsonl", 1)


STYLES = [
    # bare letters
    ("B", ("B",)),
    ("B,C", ("B", "C")),
    ("B、D", ("B", "D")),
    ("BCE", ("B", "C", "E")),
    ("B C", ("B", "C")),
    ("C,B", ("B", "C")),
    ("B，C", ("B", "C")),
    ("(C)", ("C",)),
    ("（C）", ("C",)),
    ("**B**", ("B",)),
    ("Ｂ", ("B",)),
    ("ＢＣ", ("B", "C")),
    ("```\nB\n```", ("B",)),
    ("E. 白花蛇舌草", ("E",)),
    # Chinese answer phrases
    ("答案：B", ("B",)),
    ("答案是 B", ("B",)),
    ("答案为C项", ("C",)),
    ("正确答案是B、D", ("B", "D")),
    ("正确的选项为A和C", ("A", "C")),
    ("最终答案：B,D", ("B", "D")),
    ("**答案**：B", ("B",)),
    ("答案为：\n\nC", ("C",)),
    ("答案：选项D", ("D",)),
    ("选B", ("B",)),
    ("故选C", ("C",)),
    ("我选择D", ("D",)),
    ("输出：D", ("D",)),
    ("D选项正确", ("D",)),
    ("B为正确答案", ("B",)),
    # English answer phrases
    ("The answer is (C)", ("C",)),
    ("Answer: C", ("C",)),
    ("Final answer: **E**", ("E",)),
    ("the correct options are B and D", ("B", "D")),
    ("The correct answers are A, C and E.", ("A", "C", "E")),
    ("I choose E", ("E",)),
    ("I would go with B.", ("B",)),
    ("B is correct.", ("B",)),
    ("The answer is A because it is the only herb that does both.", ("A",)),
    # JSON answers
    ('{"answer": "B"}', ("B",)),
    ('{"答案": ["B","C"]}', ("B", "C")),
    ("{'answer': 'D', 'reason': '清热解毒'}", ("D",)),
    ('```json\n{"answer": "B,E"}\n```', ("B", "E")),
    ('{"answer": "穿心莲"}', ("D",)),
    # MLB's list option style echoed back
    ("['B 白头翁', 'C 马齿苋']", ("B", "C")),
]


@pytest.mark.parametrize(("response", "letters"), STYLES, ids=[s for s, _ in STYLES])
def test_output_styles(response: str, letters: tuple[str, ...]) -> None:
    assert extract_choices(response, HERBS) == letters


FINAL_ANSWER_WINS = [
    ("A is wrong because 射干 is not used for diarrhoea; B is partly right; 综上，答案为C", ("C",)),
    ("A项错误，B项错误。D项也不对。综上所述，答案为C。", ("C",)),
    ("答案：B……解析：A只清热，C只止痢，故选D", ("D",)),
    ("A正确，B错误，故答案为A", ("A",)),
    ("Option A treats fever only. Option B treats dysentery only. Therefore the answer is E.", ("E",)),
    ("答案: B\n\nExplanation: the answer is not A, because A only treats fever.", ("B",)),
    ("分析各选项：A射干清热；B白头翁止痢；C马齿苋止痢。\nD", ("D",)),
    ("The correct answer is B. A is incorrect since it lacks the antidiarrhoeal action.", ("B",)),
    ("答案：A,C。解析：A项正确；B项错误；C项正确。", ("A", "C")),
    ("答案为D。A正确地指出了清热作用，但不能止痢。", ("D",)),
    ("A正确；B错误；C正确；D错误；E错误。", ("A", "C")),
    ("A项错误，B项错误。综上所述，D正确。", ("D",)),
]


@pytest.mark.parametrize(("response", "letters"), FINAL_ANSWER_WINS)
def test_reasoning_before_the_answer_does_not_leak_letters(response: str, letters: tuple[str, ...]) -> None:
    assert extract_choices(response, HERBS) == letters


@pytest.mark.parametrize(
    ("response", "letters"),
    [
        ("A patient with this presentation should receive D.", ("D",)),
        ("Answer: A patient should get D.", ("D",)),
        ("A careful reading shows the answer is B", ("B",)),
        ("建议先做B超检查，再选D", ("D",)),
        ("A型血患者，答案C", ("C",)),
    ],
)
def test_words_that_look_like_letters_are_not_answers(response: str, letters: tuple[str, ...]) -> None:
    assert extract_choices(response, HERBS) == letters


@pytest.mark.parametrize(
    ("response", "letters"),
    [
        ("穿心莲", ("D",)),
        ("答案：穿心莲", ("D",)),
        ("应该是穿心莲。", ("D",)),
        ("白花蛇舌草和穿心莲", ("D", "E")),
        ('["白头翁", "马齿苋"]', ("B", "C")),
        ("白花蛇舌草", ("E",)),
    ],
)
def test_option_text_maps_back_to_its_letter(response: str, letters: tuple[str, ...]) -> None:
    assert extract_choices(response, HERBS) == letters


def test_option_text_that_is_part_of_another_option_picks_the_longer_one() -> None:
    opts = {"A": "肝素", "B": "低分子肝素", "C": "华法林"}
    assert extract_choices("首选低分子肝素", opts) == ("B",)
    assert extract_choices("肝素", opts) == ("A",)


@pytest.mark.parametrize(
    ("response", "letters"),
    [("答案：b", ("B",)), ("The answer is (c).", ("C",)), ("b, d", ("B", "D")), ("The answer is c", ("C",))],
)
def test_lower_case_letters_only_where_unambiguous(response: str, letters: tuple[str, ...]) -> None:
    assert extract_choices(response, HERBS) == letters


@pytest.mark.parametrize("response", ["a patient needs rest", "the answer is a bit unclear", "答案是 b 因为"])
def test_lower_case_words_are_not_letters(response: str) -> None:
    assert extract_choices(response, HERBS) is None


@pytest.mark.parametrize("response", ["", "   ", "无法确定", "这道题我不知道", "穿心莲还是射干都有可能"])
def test_no_answer_gives_none(response: str) -> None:
    assert extract_choices(response, HERBS) is None


@pytest.mark.parametrize("response", ["F", "答案是F", "The answer is G", "维生素K"])
def test_letters_outside_the_options_are_ignored(response: str) -> None:
    assert extract_choices(response, HERBS) is None


def test_out_of_range_letter_in_a_list_does_not_survive() -> None:
    assert extract_choices("答案：F\n\nB", HERBS) == ("B",)


def test_vitamin_letter_maps_through_option_text() -> None:
    opts = {"A": "华法林", "B": "肝素", "C": "维生素K", "D": "氯吡格雷"}
    assert extract_choices("应使用维生素K", opts) == ("C",)


def test_think_block_is_ignored() -> None:
    assert extract_choices("<think>答案应该是A吧？不对。</think>\n答案：D", HERBS) == ("D",)
    assert extract_choices("答案A？再想想……</think>D", HERBS) == ("D",)


def test_without_options_any_capital_letter_counts() -> None:
    assert extract_choices("答案：H", None) == ("H",)
    assert extract_choices("答案：H", HERBS) is None


# --- score_choice ----------------------------------------------------------------------------


def test_single_answer_right_and_wrong() -> None:
    item = choice_item("D")
    ok = score_choice(item, "答案：D")
    assert (ok.score, ok.passed, ok.unparseable) == (1.0, True, False)
    assert ok.explanation == "expected D; got D"
    bad = score_choice(item, "答案：A")
    assert (bad.score, bad.passed) == (0.0, False)
    assert bad.explanation == "expected D; got A"
    assert bad.details["extracted"] == ["A"] and bad.details["expected"] == ["D"]


def test_multi_answer_needs_the_exact_set() -> None:
    item = choice_item("B,C")
    assert score_choice(item, "C、B").score == 1.0
    partial = score_choice(item, "B")
    assert (partial.score, partial.passed) == (0.0, False)
    assert partial.explanation == "expected B,C; got B"
    assert score_choice(item, "B,C,D").score == 0.0


def test_no_letter_is_unparseable_and_wrong() -> None:
    s = score_choice(choice_item("B"), "我无法回答这个问题")
    assert s.score == 0.0 and not s.passed and s.unparseable
    assert s.details["extracted"] is None
    assert "expected B" in s.explanation


def test_details_are_json_serialisable() -> None:
    s = score_choice(choice_item(["B", "E"]), '{"answer": ["B", "E"]}')
    assert json.loads(json.dumps(s.details)) == s.details


def test_list_option_style_item() -> None:
    opts = {"A": "牛奶", "B": "红肉", "C": "菠菜", "D": "香蕉", "E": "动物肝脏"}
    item = choice_item("B,C,E", opts, style="list")
    assert score_item(item, "['B 红肉', 'C 菠菜', 'E 动物肝脏']").score == 1.0
    assert score_item(item, "红肉、菠菜、动物肝脏").score == 1.0
    assert score_item(item, "['B 红肉', 'C 菠菜']").score == 0.0


def test_open_items_need_a_judge() -> None:
    info = DatasetInfo(name="O", dimension=Dimension.MedSE, task=Task.open, metric=Metric.judge,
                       prompt="${question}")
    item = build_item(info, {"id": "o1", "question": "怎么办？"}, "o.jsonl", 1)
    assert score_item(item, "随便") == Score(None, False, "needs a judge (--mlb-judge)", {}, False)


def test_scoring_is_fast() -> None:
    item = choice_item("B,C")
    responses = ["B,C", "答案：B", "The answer is (C)", "穿心莲", "A项错误，综上，答案为C", '{"answer": "B"}'] * 1000
    t0 = time.perf_counter()
    for r in responses:
        score_item(item, r)
    per_call = (time.perf_counter() - t0) / len(responses)
    assert per_call < 2e-4, f"{per_call * 1e6:.0f} µs per short answer"


# --- properties ------------------------------------------------------------------------------

# Prose with no Latin capitals and none of the answer-phrase words.
PROSE = st.text(alphabet="患者男性岁胸痛小时伴出汗心电图提示治疗方案如下考虑，。；！？ 0123456789\n", max_size=40)

FORMATS = [
    lambda ls: ",".join(ls),
    lambda ls: "、".join(ls),
    lambda ls: " ".join(ls),
    lambda ls: "".join(ls),
    lambda ls: "，".join(ls),
    lambda ls: " and ".join(ls),
    lambda ls: "和".join(ls),
    lambda ls: "答案：" + ",".join(ls),
    lambda ls: "正确答案是" + "、".join(ls),
    lambda ls: "故选" + "".join(ls),
    lambda ls: "The answer is " + ", ".join(ls),
    lambda ls: "Answer: " + ",".join(ls),
    lambda ls: "**" + ",".join(ls) + "**",
    lambda ls: "(" + ",".join(ls) + ")",
    lambda ls: json.dumps({"answer": ls}),
    lambda ls: json.dumps({"答案": ",".join(ls)}, ensure_ascii=False),
    lambda ls: "".join(chr(ord(c) + 0xFEE0) for c in ls),  # full-width letters
    lambda ls: "[" + ", ".join(repr(f"{c} 选项内容") for c in ls) + "]",
]


@st.composite
def letter_sets(draw: st.DrawFn) -> tuple[dict[str, str], list[str]]:
    n = draw(st.integers(min_value=2, max_value=8))
    letters = "ABCDEFGH"[:n]
    options = {c: f"选项{i}" for i, c in enumerate(letters)}
    chosen = draw(st.lists(st.sampled_from(letters), min_size=1, max_size=n, unique=True))
    return options, chosen


@settings(max_examples=300, deadline=None)
@given(letter_sets(), st.sampled_from(range(len(FORMATS))), PROSE, PROSE)
def test_any_letter_set_in_any_format_extracts_back(
    case: tuple[dict[str, str], list[str]], fmt: int, before: str, after: str
) -> None:
    options, chosen = case
    response = f"{before}\n{FORMATS[fmt](chosen)}\n{after}"
    assert extract_choices(response, options) == tuple(sorted(chosen))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200), letter_sets())
def test_extraction_only_returns_sorted_option_letters(text: str, case: tuple[dict[str, str], list[str]]) -> None:
    options, chosen = case
    got = extract_choices(text, options)
    assert got is None or (got == tuple(sorted(set(got))) and set(got) <= set(options) and got)
    item = choice_item(",".join(chosen), options)
    s = score_choice(item, text)
    assert s.score in (0.0, 1.0)
    assert s.passed == (s.score == 1.0)
    assert s.unparseable == (got is None)
