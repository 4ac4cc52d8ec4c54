"""CHIP-CDN scoring: term-set F1 over the chosen standard terms."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlb_pytest.catalog import Dimension, Metric, Task
from mlb_pytest.schema import Item
from mlb_pytest.scoring import f1_from_counts, micro_f1, response_terms, score_item, score_normalization
from mlb_pytest.suites.build import DatasetInfo, build_item

GOLD = "肺癌术后##肺恶性肿瘤##恶性肿瘤放疗##咯血##癌"
CANDIDATES = [
    "肝恶性肿瘤##肝胆管细胞癌",
    "关节痛",
    "下肢未特指的损伤,水平未特指##头部损伤",
    "先天性副耳##第一、二鳃弓综合征[Goldenhar综合征]",
    GOLD,
]


def cdn_item(answer: str | list[str] = GOLD, candidates: list[str] | None = None) -> Item:
    info = DatasetInfo(
        name="CDN",
        dimension=Dimension.MedRU,
        task=Task.normalization,
        metric=Metric.micro_f1,
        prompt="${question}\n${options}",
    )
    raw = {
        "id": "n1",
        "question": "肺癌晚期术后复发放疗低硒,咯血",
        "candidates": candidates or CANDIDATES,
        "answer": answer,
    }
    return build_item(info, raw, "n.jsonl", 1)


def counts(s) -> tuple[int, int, int]:
    return s.details["tp"], s.details["fp"], s.details["fn"]


@pytest.mark.parametrize(
    "response",
    [
        GOLD,
        "归一化术语：" + GOLD,
        "归一化术语: " + GOLD + "\n",
        "根据描述，归一化术语为：" + GOLD,
        "肺癌术后，肺恶性肿瘤，恶性肿瘤放疗，咯血，癌",
        "肺癌术后, 肺恶性肿瘤, 恶性肿瘤放疗, 咯血, 癌",
        "肺癌术后;肺恶性肿瘤；恶性肿瘤放疗;咯血;癌",
        "肺癌术后、肺恶性肿瘤、恶性肿瘤放疗、咯血、癌",
        "肺癌术后\n肺恶性肿瘤\n恶性肿瘤放疗\n咯血\n癌",
        "- 肺癌术后\n- 肺恶性肿瘤\n- 恶性肿瘤放疗\n- 咯血\n- 癌",
        "癌##咯血##恶性肿瘤放疗##肺恶性肿瘤##肺癌术后",
        "```\n" + GOLD + "\n```",
        json.dumps([GOLD], ensure_ascii=False),
        "<think>候选里哪一行？</think>" + GOLD,
    ],
)
def test_full_line_in_any_style_scores_one(response: str) -> None:
    s = score_normalization(cdn_item(), response)
    assert s.score == 1.0 and s.passed and counts(s) == (5, 0, 0)


def test_partial_line_gets_partial_credit() -> None:
    s = score_normalization(cdn_item(), "肺癌术后##肺恶性肿瘤")
    assert counts(s) == (2, 0, 3)
    assert s.score == pytest.approx(f1_from_counts(2, 0, 3))
    assert not s.passed
    assert s.explanation.startswith("F1 0.57 (tp 2, fp 0, fn 3); missing: ")


def test_wrong_line_is_all_false_positives() -> None:
    s = score_normalization(cdn_item(), "肝恶性肿瘤##肝胆管细胞癌")
    assert counts(s) == (0, 2, 5) and s.score == 0.0
    assert s.details["extra"] == ["肝恶性肿瘤", "肝胆管细胞癌"]


def test_extra_line_adds_false_positives() -> None:
    s = score_normalization(cdn_item(), GOLD + "\n关节痛")
    assert counts(s) == (5, 1, 0)


def test_terms_with_commas_stay_whole() -> None:
    item = cdn_item("下肢未特指的损伤,水平未特指##头部损伤")
    s = score_normalization(item, "下肢未特指的损伤,水平未特指##头部损伤")
    assert counts(s) == (2, 0, 0)
    s = score_normalization(item, "下肢未特指的损伤，水平未特指，头部损伤")
    assert counts(s) == (2, 0, 0)
    item = cdn_item("先天性副耳##第一、二鳃弓综合征[Goldenhar综合征]")
    assert score_normalization(item, "先天性副耳、第一、二鳃弓综合征[Goldenhar综合征]").score == 1.0


def test_case_and_width_do_not_matter() -> None:
    item = cdn_item("先天性副耳##第一、二鳃弓综合征[Goldenhar综合征]")
    assert score_normalization(item, "先天性副耳##第一、二鳃弓综合征［ＧＯＬＤＥＮＨＡＲ综合征］").score == 1.0


def test_several_gold_lines_are_one_term_set() -> None:
    item = cdn_item(["关节痛", GOLD])
    assert counts(score_normalization(item, "关节痛\n" + GOLD)) == (6, 0, 0)
    assert counts(score_normalization(item, "关节痛")) == (1, 0, 5)


@pytest.mark.parametrize("response", ["", "   ", "归一化术语：", "```\n```"])
def test_no_terms_is_unparseable(response: str) -> None:
    s = score_normalization(cdn_item(), response)
    assert s.unparseable and s.score == 0.0 and not s.passed
    assert counts(s) == (0, 0, 5)


def test_response_terms_order_and_dedup() -> None:
    assert response_terms("癌##咯血\n癌") == ["癌", "咯血"]


def test_dispatch() -> None:
    assert score_item(cdn_item(), GOLD).score == 1.0


# --- properties ------------------------------------------------------------------------------

TERM = st.text(alphabet="肺癌术后恶性肿瘤放疗咯血疼痛咳嗽恶心呕吐复发肝胆管细胞关节", min_size=1, max_size=6)
SEPS = ["##", "\n", "，", ",", ";", "、", "；"]


@settings(max_examples=250, deadline=None)
@given(st.lists(TERM, min_size=1, max_size=6, unique=True), st.data())
def test_chosen_and_extra_terms_give_exact_counts(gold_terms: list[str], data) -> None:
    chosen = data.draw(st.lists(st.sampled_from(gold_terms), unique=True))
    extra = data.draw(st.lists(TERM.filter(lambda t: t not in gold_terms), max_size=3, unique=True))
    order = data.draw(st.permutations(chosen + extra))
    seps = [data.draw(st.sampled_from(SEPS)) for _ in order]
    label = data.draw(st.sampled_from(["", "归一化术语：", "归一化术语: "]))
    response = label + "".join(t + sep for t, sep in zip(order, seps))
    line = "##".join(gold_terms)
    item = cdn_item(line, ["关节痛", line])
    s = score_normalization(item, response)
    if not order:
        assert s.unparseable and counts(s) == (0, 0, len(gold_terms))
        return
    assert counts(s) == (len(chosen), len(extra), len(gold_terms) - len(chosen))
    assert 0.0 <= s.score <= 1.0
    assert s.score == pytest.approx(f1_from_counts(*counts(s)))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(TERM, min_size=1, max_size=4, unique=True), st.lists(TERM, min_size=1, max_size=4, unique=True)
        ),
        min_size=1,
        max_size=5,
    )
)
def test_summed_counts_reproduce_micro_f1(pairs) -> None:
    per_item, gold_all, pred_all = [], set(), set()
    for i, (gold, pred) in enumerate(pairs):
        line = "##".join(gold)
        s = score_normalization(cdn_item(line, [line]), "##".join(pred))
        per_item.append(counts(s))
        gold_all |= {(i, t) for t in gold}
        pred_all |= {(i, t) for t in pred}
    tp, fp, fn = len(gold_all & pred_all), len(pred_all - gold_all), len(gold_all - pred_all)
    assert tuple(map(sum, zip(*per_item))) == (tp, fp, fn)
    assert micro_f1(per_item) == pytest.approx(f1_from_counts(tp, fp, fn))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_score_always_in_range(text: str) -> None:
    s = score_normalization(cdn_item(), text)
    assert 0.0 <= s.score <= 1.0
    assert s.passed == (s.score >= 0.8)
    json.dumps(s.details)
