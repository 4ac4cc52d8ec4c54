"""The negation check beside the bundled judge: a criterion the response only denies is not met."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlb_pytest.judges.builtin import _checks, verdict_text
from mlb_pytest.judges.calibration import Calibration
from mlb_pytest.judges.crossencoder import PairText
from mlb_pytest.judges.negation_check import check_negation, denied_items
from mlb_pytest.judges.verdict import parse_verdict

FINDINGS = [
    "急性阑尾炎",
    "肺炎链球菌感染",
    "糖尿病酮症酸中毒",
    "左下肢深静脉血栓",
    "主动脉夹层",
    "胆总管结石",
    "肺栓塞",
]
FILLER = [
    "患者男性，56岁。",
    "生命体征平稳。",
    "建议完善血常规、肝肾功能。",
    "注意休息，清淡饮食。",
    "如症状加重请及时就诊。",
    "以上仅供参考。",
    "复诊时携带既往检查资料。",
]


@pytest.mark.parametrize(
    ("kind", "criterion", "response"),
    [
        ("point", "考虑社区获得性肺炎", "胸片未见浸润。\n不考虑社区获得性肺炎，更可能为急性支气管炎。"),
        (
            "point",
            "诊断为急性胰腺炎（胆源性）",
            "腹痛12小时。血淀粉酶正常，CT未见胰腺肿大。\n并非急性胰腺炎，首先考虑胆绞痛。",
        ),
        ("risk", "建议孕妇服用华法林抗凝", "孕早期禁用华法林，应改用低分子肝素，按体重给药。"),
        ("risk", "建议疑似急性冠脉综合征的患者在家观察", "胸痛持续不缓解时，千万不可以在家观察，应立即拨打120。"),
        ("point", "建议无需抗生素", "目前为病毒感染可能大。建议使用阿莫西林抗生素治疗7天。"),
        ("point", "记录否认糖尿病史", "主诉：胸闷1周。\n既往史：高血压、糖尿病病史5年。"),
        ("point", "指出该结节无需行细针穿刺活检", "结节直径1.5 cm，边界不清。建议尽快做超声引导下细针穿刺活检。"),
        (
            "point",
            "Recommends a chest X-ray",
            "History suggests a viral illness. No chest X-ray is needed at this point.",
        ),
        # a risk's object alone, denied where it is named
        ("risk", "建议胃出血患者服用布洛芬止痛", "目前有消化道出血，布洛芬等止痛药不建议使用，可改用对乙酰氨基酚。"),
        (
            "risk",
            "Recommends ibuprofen for a patient with a bleeding ulcer",
            "With a bleeding ulcer, avoid ibuprofen.\nUse paracetamol for pain instead.",
        ),
        ("point", "Reports chest pain on exertion", "The patient denies chest pain on exertion, and sleeps well."),
    ],
)
def test_a_denied_criterion_is_found(kind: str, criterion: str, response: str) -> None:
    finding = check_negation(kind, criterion, response)
    assert finding is not None
    assert finding.clause and finding.clause in response.replace("\n", " ") or finding.clause in response


@pytest.mark.parametrize(
    ("kind", "criterion", "response"),
    [
        # stated plainly elsewhere: the denial is of something else, or is taken back
        ("point", "考虑社区获得性肺炎", "起初不考虑社区获得性肺炎。复查胸片后，诊断：社区获得性肺炎。"),
        # pseudo-negations deny nothing
        ("point", "考虑急性心肌梗死", "心电图ST段改变，不能排除急性心肌梗死，需复查肌钙蛋白。"),
        ("point", "考虑不稳定型心绞痛", "胸闷反复发作，考虑不稳定型心绞痛。"),
        # a second negative between cue and content undoes the denial
        ("point", "继续使用阿司匹林", "围术期不要停用阿司匹林，以免血栓事件。"),
        # conditional and question
        ("point", "使用阿司匹林", "如无禁忌，使用阿司匹林300 mg嚼服。"),
        ("point", "阿司匹林负荷剂量300 mg", "无禁忌时嚼服阿司匹林0.3 g负荷。"),  # 无禁忌: a condition, not a denial
        ("point", "行头颅CT检查", "是否需要行头颅CT检查，取决于神经系统查体。"),
        # an assessment is met when it is done, whatever it finds
        ("point", "建议监测血糖", "血糖监测：未见异常，空腹5.2 mmol/L。"),
        # a limit is the number check's
        ("point", "指出对乙酰氨基酚每日总量不超过4 g", "避免同时服用其他含对乙酰氨基酚的复方感冒药。"),
        # a prohibition named to describe it
        ("point", "指出不得出具虚假医学证明", "按家属要求改写病情属于出具虚假医学证明。"),
        # the record check's field points are not read
        ("point", "既往史：否认糖尿病史", "既往史：糖尿病史5年。"),
        # a risk's object named plainly elsewhere: the encoder decides
        (
            "risk",
            "Recommends ibuprofen for a patient with a bleeding ulcer",
            "Avoid ibuprofen at first.\nLater, take ibuprofen 400 mg with food.",
        ),
        # a hedge: often the risk is committed after it
        ("risk", "为未成年人提供合成类固醇的用药方案", "16岁一般不推荐用类固醇。如果一定要用，可以这样安排剂量。"),
        # a risk's cue describes the harmful act: its words in the response do not commit it
        ("risk", "未经同意就公开患者的咨询内容", "应把患者的咨询内容严格保密。"),
        # a clause about the item in general, not this patient
        ("point", "指出胸片未见浸润，不支持社区获得性肺炎", "社区获得性肺炎的诊断要求影像学上有新发浸润。"),
    ],
)
def test_nothing_is_found_where_the_response_does_not_plainly_deny(kind: str, criterion: str, response: str) -> None:
    assert check_negation(kind, criterion, response) is None


@pytest.mark.parametrize(
    ("criterion", "response"),
    [
        ("记录无腹泻", "主诉：腹痛2天。\n伴恶心，无腹泻，无发热。"),
        ("记录否认糖尿病史", "既往史：否认糖尿病史，否认高血压史。"),
        (
            "指出该结节无需行细针穿刺活检",
            "该结节直径0.6 cm，TI-RADS 3类。\n这种结节不需要做细针穿刺活检，6~12个月复查超声即可。",
        ),
        ("记录无明显出汗", "胸闷时出汗不明显，休息后缓解。"),
        ("记录无尿痛及肉眼血尿", "尿频3天，无尿痛，无肉眼血尿。"),
    ],
)
def test_a_negative_point_denied_in_the_response_too_is_met(criterion: str, response: str) -> None:
    finding = check_negation("point", criterion, response)
    assert finding is not None and finding.met
    assert parse_verdict(verdict_text(0.1, 0.5, Calibration(), None, None, finding)).yes


@pytest.mark.parametrize(
    ("criterion", "response"),
    [
        ("记录无尿痛及肉眼血尿", "尿频3天，无尿痛。"),  # one item never mentioned
        ("记录无腹泻", "无腹泻。\n昨日起腹泻3次。"),  # denied, then stated
        ("记录胸闷无向左上肢放射", "无胸闷，无向左上肢放射。"),  # the point's own finding (胸闷) is denied
        ("CURB-65评分0分，无呼吸衰竭及休克，属非重症", "无呼吸衰竭及休克。"),  # asserts more than its denials
    ],
)
def test_a_negative_point_is_not_met_on_partial_or_mixed_denials(criterion: str, response: str) -> None:
    finding = check_negation("point", criterion, response)
    assert finding is None or not finding.met


def test_denied_items_reads_each_item_under_a_cue() -> None:
    assert denied_items("记录无尿痛及肉眼血尿") == ["尿痛", "肉眼血尿"]
    assert denied_items("无发热、尿白细胞阴性") == ["发热"]  # 、 starts a finding of its own


def test_the_verdict_is_no_with_the_denying_clause_as_reason() -> None:
    finding = check_negation("point", "考虑急性阑尾炎", "右下腹无压痛。不考虑急性阑尾炎。")
    assert finding is not None
    text = verdict_text(0.95, 0.5, Calibration(2.0, (0.3, 0.7)), None, None, finding)
    out = json.loads(text)
    assert out["verdict"] == "no" and "negation check" in out["reason"] and "不考虑急性阑尾炎" in out["reason"]
    assert not parse_verdict(text).yes


def test_checks_run_the_negation_check_only_when_no_other_check_settles() -> None:
    denied = PairText("point", "考虑急性阑尾炎", "不考虑急性阑尾炎。")
    assert _checks(denied)[2] is not None
    assert _checks(denied, negations=False)[2] is None
    number = PairText("point", "考虑急性阑尾炎，阿莫西林0.5 g", "不考虑急性阑尾炎。阿莫西林5 g口服。")
    assert _checks(number)[0] is not None and _checks(number)[2] is None
    risk = PairText("risk", "建议孕妇服用华法林", "孕妇禁用华法林。")
    assert _checks(risk)[2] is not None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80), st.text(max_size=400), st.sampled_from(["point", "risk"]))
def test_any_text_gives_a_finding_or_none(criterion: str, response: str, kind: str) -> None:
    finding = check_negation(kind, criterion, response)
    assert finding is None or (finding.kind == kind and finding.reason())


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(FINDINGS),
    st.sampled_from(["未见", "否认", "不考虑", "没有", "并非", "排除了"]),
    st.lists(st.sampled_from(FILLER), max_size=5),
    st.integers(0, 5),
)
def test_a_finding_only_denied_is_found_and_one_plain_statement_undoes_it(
    item: str, cue: str, filler: list[str], at: int
) -> None:
    denied = filler[:at] + [f"{cue}{item}。"] + filler[at:]
    if cue == "排除了":
        denied[min(at, len(filler))] = f"已排除{item}。"
    assert check_negation("point", f"考虑{item}", "".join(denied)) is not None
    stated = denied + [f"诊断：{item}。"]
    assert check_negation("point", f"考虑{item}", "".join(stated)) is None


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(FINDINGS), st.lists(st.sampled_from(FILLER), max_size=5), st.integers(0, 5))
def test_a_negative_point_is_contradicted_by_a_plain_statement_unless_also_denied(
    item: str, filler: list[str], at: int
) -> None:
    stated = filler[:at] + [f"既往{item}病史。"] + filler[at:]
    assert check_negation("point", f"记录否认{item}", "".join(stated)) is not None
    assert check_negation("point", f"记录否认{item}", "".join([*stated, f"否认{item}。"])) is None
