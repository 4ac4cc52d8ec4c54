"""Extraction scoring: per-item TP/FP/FN that add up to the dataset micro-F1."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlb_pytest.catalog import Dimension, ExtractionKind, Metric, Task
from mlb_pytest.schema import Item
from mlb_pytest.scoring import f1_from_counts, micro_f1, normalize_span, score_extraction, score_item
from mlb_pytest.suites.build import DatasetInfo, build_item


def ex_item(kind: ExtractionKind, answer: object, threshold: float | None = None) -> Item:
    info = DatasetInfo(
        name="X",
        dimension=Dimension.MedRU,
        task=Task.extraction,
        metric=Metric.micro_f1,
        prompt="${question}",
        extraction=kind,
        pass_threshold=threshold,
    )
    return build_item(info, {"id": "x1", "question": "文本", "answer": answer}, "x.jsonl", 1)


def dumps(v: object) -> str:
    return json.dumps(v, ensure_ascii=False)


CMEEE_GOLD = {"疾病": ["脑脓肿"], "症状和体征": [], "医疗程序": ["脑室内引流", "脑部手术"], "医疗设备": [], "药物": []}
ENTS = ExtractionKind.entities


# --- entities --------------------------------------------------------------------------------


def test_perfect_entities() -> None:
    s = score_extraction(ex_item(ENTS, CMEEE_GOLD), dumps(CMEEE_GOLD))
    assert (s.score, s.passed, s.unparseable) == (1.0, True, False)
    assert (s.details["tp"], s.details["fp"], s.details["fn"]) == (3, 0, 0)
    assert s.explanation == "F1 1.00 (tp 3, fp 0, fn 0)"


def test_missing_and_extra_entities_are_named() -> None:
    gold = {"疾病": ["高血压", "糖尿病", "冠心病"], "症状": []}
    pred = {"疾病": ["高血压", "糖尿病", "肺炎"], "症状": []}
    s = score_extraction(ex_item(ENTS, gold), dumps(pred))
    assert (s.details["tp"], s.details["fp"], s.details["fn"]) == (2, 1, 1)
    assert s.score == pytest.approx(2 / 3)
    assert s.explanation == "F1 0.67 (tp 2, fp 1, fn 1); missing: 疾病:冠心病; extra: 疾病:肺炎"
    assert not s.passed  # 0.67 < default 0.8
    assert s.details["missing"] == ["疾病:冠心病"] and s.details["extra"] == ["疾病:肺炎"]


def test_wrong_category_is_both_a_miss_and_a_false_positive() -> None:
    s = score_extraction(ex_item(ENTS, {"疾病": ["高血压"], "症状": []}), dumps({"症状": ["高血压"]}))
    assert (s.details["tp"], s.details["fp"], s.details["fn"]) == (0, 1, 1)


def test_category_not_in_gold_still_counts_as_false_positive() -> None:
    s = score_extraction(ex_item(ENTS, {"疾病": ["高血压"]}), dumps({"疾病": ["高血压"], "药物": ["阿司匹林"]}))
    assert (s.details["tp"], s.details["fp"], s.details["fn"]) == (1, 1, 0)
    assert "药物:阿司匹林" in s.details["extra"]


def test_bare_list_for_a_single_category_task() -> None:
    gold = {"症状": ["双侧腰痛", "脓尿"]}
    s = score_extraction(ex_item(ENTS, gold), '["双侧腰痛", "脓尿"]')
    assert s.score == 1.0 and (s.details["fp"], s.details["fn"]) == (0, 0)


def test_bare_list_for_a_multi_category_task_has_no_category() -> None:
    s = score_extraction(ex_item(ENTS, {"疾病": ["高血压"], "症状": ["头痛"]}), '["高血压", "头痛"]')
    assert (s.details["tp"], s.details["fp"], s.details["fn"]) == (0, 2, 2)


def test_string_instead_of_list_and_wrapping_object() -> None:
    gold = {"疾病": ["高血压"]}
    assert score_extraction(ex_item(ENTS, gold), '{"疾病": "高血压"}').score == 1.0
    assert score_extraction(ex_item(ENTS, gold), '{"entities": {"疾病": ["高血压"]}}').score == 1.0


def test_list_of_typed_entity_objects() -> None:
    gold = {"疾病": ["高血压"], "药物": ["阿司匹林"]}
    pred = [{"类型": "疾病", "实体": "高血压"}, {"type": "药物", "entity": "阿司匹林"}]
    assert score_extraction(ex_item(ENTS, gold), dumps(pred)).score == 1.0


@pytest.mark.parametrize(
    "span",
    ["  高血压 ", "“高血压”", "（高血压）", "高血压。", "'高血压'", "高血压\n"],
)
def test_span_normalisation(span: str) -> None:
    assert score_extraction(ex_item(ENTS, {"疾病": ["高血压"]}), dumps({"疾病": [span]})).score == 1.0


def test_width_and_case_do_not_matter() -> None:
    gold = {"医学检验项目": ["HbA1c", "CT"]}
    s = score_extraction(ex_item(ENTS, gold), dumps({"医学检验项目": ["ｈｂａ１ｃ", "ct"]}))
    assert s.score == 1.0


def test_inner_brackets_are_kept() -> None:
    assert normalize_span("心功能Ⅱ级(NYHA分级)") == "心功能ii级(nyha分级)"
    assert normalize_span("(NYHA)心功能") == "(nyha)心功能"
    assert normalize_span("「高血压」，") == "高血压"


def test_duplicates_count_once() -> None:
    s = score_extraction(ex_item(ENTS, {"疾病": ["高血压"]}), dumps({"疾病": ["高血压", "高血压", " 高血压"]}))
    assert (s.details["tp"], s.details["fp"]) == (1, 0)


def test_empty_gold_and_empty_prediction_is_perfect() -> None:
    s = score_extraction(ex_item(ENTS, {"疾病": [], "症状": []}), '{"疾病": [], "症状": []}')
    assert s.score == 1.0 and s.passed and (s.details["tp"], s.details["fp"], s.details["fn"]) == (0, 0, 0)


def test_empty_gold_with_predictions_scores_zero() -> None:
    s = score_extraction(ex_item(ENTS, {"疾病": []}), '{"疾病": ["感冒"]}')
    assert s.score == 0.0 and s.details["fp"] == 1


@pytest.mark.parametrize("response", ["", "抱歉，我无法完成。", "疾病：高血压、糖尿病"])
def test_unparseable_is_zero_with_every_gold_unit_missed(response: str) -> None:
    s = score_extraction(ex_item(ENTS, {"疾病": ["高血压", "糖尿病"], "症状": ["头痛"]}), response)
    assert s.score == 0.0 and not s.passed and s.unparseable
    assert (s.details["tp"], s.details["fp"], s.details["fn"]) == (0, 0, 3)


def test_fenced_answer_with_prose_and_trailing_commas() -> None:
    text = '好的，结果如下：\n```json\n{"疾病": ["脑脓肿",], "医疗程序": ["脑室内引流", "脑部手术"],}\n```'
    assert score_item(ex_item(ENTS, CMEEE_GOLD), text).score == 1.0


# --- relations -------------------------------------------------------------------------------

REL_GOLD = {
    "关系": [
        {"关系": "药物治疗", "头实体": "白喉", "尾实体": "抗毒素"},
        {"关系": "临床表现", "头实体": "白喉", "尾实体": "咽痛"},
    ]
}
RELS = ExtractionKind.relations


def test_relations_object_and_bare_list() -> None:
    item = ex_item(RELS, REL_GOLD)
    assert score_extraction(item, dumps(REL_GOLD)).score == 1.0
    assert score_extraction(item, dumps(list(reversed(REL_GOLD["关系"])))).score == 1.0


def test_relation_with_a_wrong_field_is_fp_and_fn() -> None:
    pred = {"关系": [{"关系": "药物治疗", "头实体": "白喉", "尾实体": "青霉素"}, REL_GOLD["关系"][1]]}
    s = score_extraction(ex_item(RELS, REL_GOLD), dumps(pred))
    assert (s.details["tp"], s.details["fp"], s.details["fn"]) == (1, 1, 1)
    assert s.details["extra"] == ["药物治疗:白喉:青霉素"]


def test_malformed_relation_counts_as_false_positive() -> None:
    pred = {"关系": [REL_GOLD["关系"][0], {"关系": "临床表现", "头实体": "白喉"}, "白喉-咽痛"]}
    s = score_extraction(ex_item(RELS, REL_GOLD), dumps(pred))
    assert (s.details["tp"], s.details["fp"], s.details["fn"]) == (1, 2, 1)


def test_relation_keys_with_stray_quotes() -> None:
    text = '{"关系": [{"关系": "药物治疗", \'"头实体": "白喉", "尾实体": "抗毒素"}]}'  # MLB's own example typo
    s = score_extraction(ex_item(RELS, {"关系": [REL_GOLD["关系"][0]]}), text)
    assert s.score == 1.0


def test_json_that_is_not_a_relation_answer_is_unparseable() -> None:
    s = score_extraction(ex_item(RELS, REL_GOLD), '{"说明": "无关系"}')
    assert s.unparseable and s.score == 0.0 and (s.details["fp"], s.details["fn"]) == (0, 2)


# --- events ----------------------------------------------------------------------------------

EVS = ExtractionKind.events
EV_GOLD = [
    {"主体词": "头昏", "发生状态": "否定", "描述词": [], "解剖部位": ["头", "胃"]},
    {"主体词": "积液", "发生状态": "", "描述词": ["少量"], "解剖部位": ["盆腔"]},
]


def test_events_flatten_to_attribute_triples() -> None:
    s = score_extraction(ex_item(EVS, EV_GOLD), dumps(EV_GOLD))
    # 头昏: subject, status, 2 sites = 4; 积液: subject, 1 desc, 1 site = 3 (empty status not counted)
    assert s.score == 1.0 and s.details["tp"] == 7


def test_event_partial_credit() -> None:
    pred = [
        {"主体词": "头昏", "发生状态": "", "描述词": [], "解剖部位": ["头"]},
        {"主体词": "积液", "发生状态": "", "描述词": ["大量"], "解剖部位": ["盆腔"]},
    ]
    s = score_extraction(ex_item(EVS, EV_GOLD), dumps(pred))
    assert (s.details["tp"], s.details["fp"], s.details["fn"]) == (4, 1, 3)
    assert set(s.details["missing"]) == {"头昏:发生状态:否定", "头昏:解剖部位:胃", "积液:描述词:少量"}
    assert s.details["extra"] == ["积液:描述词:大量"]


def test_event_typo_key_and_strings_for_lists() -> None:
    text = (
        '[{"主体词": "头昏", "发生状态\'": "否定", "描述词": "", "解剖部位": ["头", "胃"]},'
        ' {" 主体词 ": "积液", "发生状态": "", "描述词": "少量", "解剖部位": "盆腔"}]'
    )
    assert score_extraction(ex_item(EVS, EV_GOLD), text).score == 1.0


def test_event_without_status_key_equals_empty_status() -> None:
    pred = [{"主体词": "积液", "描述词": ["少量"], "解剖部位": ["盆腔"]}]
    s = score_extraction(ex_item(EVS, [EV_GOLD[1]]), dumps(pred))
    assert s.score == 1.0 and s.details["tp"] == 3


def test_single_event_object_and_malformed_event() -> None:
    gold = [EV_GOLD[1]]
    assert score_extraction(ex_item(EVS, gold), dumps(EV_GOLD[1])).score == 1.0
    s = score_extraction(ex_item(EVS, gold), dumps([EV_GOLD[1], {"描述词": ["少量"]}]))
    assert (s.details["tp"], s.details["fp"], s.details["fn"]) == (3, 1, 0)


def test_no_events_expected_and_none_given() -> None:
    s = score_extraction(ex_item(EVS, []), "[]")
    assert s.score == 1.0 and s.passed


# --- properties ------------------------------------------------------------------------------

SPAN = st.text(alphabet="高血压糖尿病头痛发热咳嗽肺炎心肌梗死阿司匹林胃肝肾", min_size=1, max_size=5)
CATS = ["疾病", "症状", "药物", "身体部位", "医疗程序"]


@st.composite
def entity_golds(draw: st.DrawFn) -> dict[str, list[str]]:
    cats = draw(st.lists(st.sampled_from(CATS), min_size=1, max_size=5, unique=True))
    return {c: draw(st.lists(SPAN, max_size=5, unique=True)) for c in cats}


def shuffled_entities(gold: dict[str, list[str]], rnd: random.Random) -> dict[str, list[str]]:
    keys = list(gold)
    rnd.shuffle(keys)
    return {k: rnd.sample(gold[k], len(gold[k])) for k in keys}


WRAPS = [
    lambda j: j,
    lambda j: f"```json\n{j}\n```",
    lambda j: f"好的，抽取结果如下：\n{j}\n以上为全部实体。",
    lambda j: f"结果：\n```\n{j}\n```\n",
]


def n_units(gold: dict[str, list[str]]) -> int:
    return sum(len(v) for v in gold.values())


@settings(max_examples=200, deadline=None)
@given(
    entity_golds(), st.randoms(use_true_random=False), st.sampled_from(range(len(WRAPS))), st.sampled_from([None, 2])
)
def test_perfect_entity_answer_in_any_order_and_wrapping(gold, rnd, wrap, indent) -> None:
    text = WRAPS[wrap](json.dumps(shuffled_entities(gold, rnd), ensure_ascii=False, indent=indent))
    s = score_extraction(ex_item(ENTS, gold), text)
    assert s.score == 1.0 and s.passed
    assert (s.details["tp"], s.details["fp"], s.details["fn"]) == (n_units(gold), 0, 0)


@settings(max_examples=200, deadline=None)
@given(entity_golds(), st.data())
def test_dropping_k_spans_gives_fn_k(gold, data) -> None:
    units = [(c, s) for c, spans in gold.items() for s in spans]
    k = data.draw(st.integers(0, len(units)))
    dropped = set(data.draw(st.permutations(units))[:k])
    pred = {c: [s for s in spans if (c, s) not in dropped] for c, spans in gold.items()}
    s = score_extraction(ex_item(ENTS, gold), dumps(pred))
    assert (s.details["tp"], s.details["fp"], s.details["fn"]) == (len(units) - k, 0, k)


@settings(max_examples=200, deadline=None)
@given(entity_golds(), st.lists(st.tuples(st.sampled_from(CATS + ["其他"]), SPAN), max_size=6))
def test_spurious_spans_only_add_false_positives(gold, extra) -> None:
    gold_units = {(c, s) for c, spans in gold.items() for s in spans}
    new = {u for u in extra if u not in gold_units}
    pred = {c: list(spans) for c, spans in gold.items()}
    for c, s in extra:
        pred.setdefault(c, []).append(s)
    s = score_extraction(ex_item(ENTS, gold), dumps(pred))
    assert (s.details["tp"], s.details["fp"], s.details["fn"]) == (len(gold_units), len(new), 0)
    assert s.score == pytest.approx(f1_from_counts(len(gold_units), len(new), 0))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(entity_golds(), entity_golds()), min_size=1, max_size=6))
def test_summed_counts_reproduce_micro_f1_on_the_union(pairs) -> None:
    counts, gold_all, pred_all = [], set(), set()
    for i, (gold, pred) in enumerate(pairs):
        s = score_extraction(ex_item(ENTS, gold), dumps(pred))
        counts.append((s.details["tp"], s.details["fp"], s.details["fn"]))
        gold_all |= {(i, c, x) for c, xs in gold.items() for x in xs}
        pred_all |= {(i, c, x) for c, xs in pred.items() for x in xs}
    tp = len(gold_all & pred_all)
    fp, fn = len(pred_all - gold_all), len(gold_all - pred_all)
    assert tuple(map(sum, zip(*counts))) == (tp, fp, fn)
    assert micro_f1(counts) == pytest.approx(f1_from_counts(tp, fp, fn))


@st.composite
def event_golds(draw: st.DrawFn) -> list[dict[str, object]]:
    subjects = draw(st.lists(SPAN, min_size=0, max_size=4, unique=True))
    return [
        {
            "主体词": s,
            "发生状态": draw(st.sampled_from(["", "否定", "不确定"])),
            "描述词": draw(st.lists(SPAN, max_size=2, unique=True)),
            "解剖部位": draw(st.lists(SPAN, max_size=2, unique=True)),
        }
        for s in subjects
    ]


def event_triples(events: list[dict[str, object]]) -> set[tuple[str, str, str]]:
    out = set()
    for e in events:
        s = e["主体词"]
        out.add((s, "主体词", s))
        if e["发生状态"]:
            out.add((s, "发生状态", e["发生状态"]))
        out |= {(s, "描述词", d) for d in e["描述词"]} | {(s, "解剖部位", p) for p in e["解剖部位"]}
    return out


@settings(max_examples=200, deadline=None)
@given(event_golds(), st.randoms(use_true_random=False), st.sampled_from(range(len(WRAPS))), st.data())
def test_events_perfect_then_drop_one_event(gold, rnd, wrap, data) -> None:
    item = ex_item(EVS, gold)
    order = rnd.sample(gold, len(gold))
    s = score_extraction(item, WRAPS[wrap](dumps(order)))
    assert s.score == 1.0 and (s.details["fp"], s.details["fn"]) == (0, 0)
    assert s.details["tp"] == len(event_triples(gold))
    if gold:
        i = data.draw(st.integers(0, len(gold) - 1))
        rest = gold[:i] + gold[i + 1 :]
        s = score_extraction(item, dumps(rest))
        lost = event_triples(gold) - event_triples(rest)
        assert (s.details["tp"], s.details["fp"], s.details["fn"]) == (len(event_triples(rest)), 0, len(lost))


@st.composite
def relation_golds(draw: st.DrawFn) -> dict[str, list[dict[str, str]]]:
    triples = draw(
        st.lists(st.tuples(st.sampled_from(["病因", "临床表现", "药物治疗"]), SPAN, SPAN), max_size=5, unique=True)
    )
    return {"关系": [{"关系": r, "头实体": h, "尾实体": t} for r, h, t in triples]}


@settings(max_examples=150, deadline=None)
@given(relation_golds(), st.randoms(use_true_random=False), st.data())
def test_relations_perfect_and_dropped(gold, rnd, data) -> None:
    item = ex_item(RELS, gold)
    rels = [dict(rnd.sample(list(r.items()), 3)) for r in gold["关系"]]  # key order shuffled too
    bare = data.draw(st.booleans())
    s = score_extraction(item, dumps(rels if bare else {"关系": rels}))
    assert s.score == 1.0 and s.details["tp"] == len(rels)
    k = data.draw(st.integers(0, len(rels)))
    s = score_extraction(item, dumps({"关系": rels[k:]}))
    assert (s.details["tp"], s.details["fp"], s.details["fn"]) == (len(rels) - k, 0, k)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([ENTS, RELS, EVS]), st.text(max_size=200))
def test_score_is_always_in_range(kind, text) -> None:
    gold = {ENTS: CMEEE_GOLD, RELS: REL_GOLD, EVS: EV_GOLD}[kind]
    s = score_extraction(ex_item(kind, gold), text)
    assert 0.0 <= s.score <= 1.0
    d = s.details
    assert min(d["tp"], d["fp"], d["fn"]) >= 0
    assert s.score == pytest.approx(f1_from_counts(d["tp"], d["fp"], d["fn"])) or s.unparseable
    assert s.passed == (s.score >= 0.8)
    json.dumps(d)
