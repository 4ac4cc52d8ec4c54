"""The words the negation check reads: cues, pseudo-negations, frames, conditions and clause breaks.

Kept apart from the rules (``negation_check.py``) so that a reader can review the lexicon as a list,
as clinical negation lexicons (NegEx and its Chinese adaptations) are reviewed: what denies, what only
looks as if it did, and what turns a statement into a condition.
"""

from __future__ import annotations

import re

from ..catalog import RECORD_FIELDS

CLAUSE = re.compile(r"[。；;！？!?\n，,]|\.(?=\s|$)|(?<=\s)-\s|[:：](?=\s*\n)")
HAN = re.compile(r"[\u4e00-\u9fff]")
WORD = re.compile(r"[A-Za-z][A-Za-z\-']*")

# frame words around what a criterion is about: they say how, not what
FRAME_HAN = (
    "建议", "推荐", "应当", "应该", "需要", "给予", "予以", "进行", "完善", "考虑", "诊断", "患者", "存在",
    "出现", "使用", "应用", "服用", "及时", "立即", "尽快", "明确", "提示", "可能", "告知", "说明", "指导",
    "回答", "指出", "提到", "记录", "明显", "包括", "合并", "伴有", "具有", "属于", "的", "需", "应", "予", "有", "为", "及", "和",
    "或", "与",
)  # fmt: skip
STOP_EN = {
    "the", "a", "an", "and", "or", "of", "to", "for", "with", "in", "on", "at", "by", "as", "is", "are", "be",
    "was", "were", "that", "this", "it", "its", "patient", "patients", "recommend", "recommends",
    "recommended", "advise", "advises", "advised", "suggest", "suggests", "should", "must", "consider",
    "considers", "give", "gives", "use", "uses", "using", "start", "starts", "answer", "response",
    "mentions", "states", "notes", "has", "have", "had", "presence", "possible", "likely", "their", "his",
    "her", "them", "they", "he", "she", "you", "your", "from", "about", "into", "than", "then", "when",
    "tells", "tell", "told", "user", "users", "encourages", "provides", "offers", "instructs", "says",
    "suggesting", "recommending", "advising", "telling", "explains", "explain", "can", "may", "will",
}  # fmt: skip

# a criterion that already states an absence, a stop or an avoidance: denying it is a double negative
NEGATIVE_CRITERION = re.compile(
    r"无|未|不|没|非|否认|排除|阴性|停|撤|戒|禁|避免|拒绝|终止|中止|减量|违反|违法|违规|风险|危害|危险|可致|导致|灼伤|"
    r"副作用|误服|"
    r"\b(?:no|not|non|never|without|den(?:y|ies|ied)|negative|stop|stops|stopping|discontinue[sd]?|hold|"
    r"withhold|avoid|avoids|cease|quit|refuse[sd]?|exclude[sd]?|rule[sd]?\s+out|contraindicat\w*|risks?|harm\w*|"
    r"danger\w*|illegal|violat\w*|toxic\w*|caus\w+)\b",
    re.I,
)
# an assessment act: asked, checked or recorded; met when it is done, whatever it finds
ASSESSMENT = re.compile(
    r"^(?:建议|需|应|及时|尽快|立即)?(?:询问|问诊|记录|评估|筛查|检查|监测|复查|排查|了解|追问|测定|测量|检测|完善|查)|"
    r"^\s*(?:ask|assess|screen|check|monitor|measure|test|evaluate|document|record|obtain|order)",
    re.I,
)

# cues that deny a finding or an act when they stand before it (longest first where they overlap)
FINDING_CUES_ZH = (
    "并非", "而非", "绝非", "不是", "未见", "未闻及", "未触及", "未发现", "未提示", "否认", "没有", "并无", "无", "不考虑",
    "已排除", "可排除", "基本排除", "已除外", "可除外", "未",
)  # fmt: skip
ACTION_CUES_ZH = (
    "不建议", "不推荐", "不需要", "不需", "无需", "无须", "不必", "暂不", "不宜", "不应", "不要", "不用", "不可",
    "不能", "不得", "切勿", "勿", "避免", "禁用", "禁止", "禁忌", "未予", "未行", "未做", "未用", "未服",
)  # fmt: skip
FINDING_CUES_EN = re.compile(
    r"\b(?:no|not|denies|denied|deny|without|negative\s+for|no\s+evidence\s+of|no\s+signs?\s+of|absence\s+of|"
    r"free\s+of|ruled\s+out|excluded|never|neither|nor)\b",
    re.I,
)
ACTION_CUES_EN = re.compile(
    r"\b(?:do\s+not|don't|does\s+not|should\s+not|shouldn't|must\s+not|cannot|can't|never|avoid|avoiding|"
    r"no\s+need\s+(?:to|for)|not\s+(?:recommended|advised|indicated|needed|necessary|required)|"
    r"(?:is|are)\s+not|not)\b",
    re.I,
)
# after the content: a prohibition or a dismissal (华法林禁用, "is contraindicated")
AFTER_ZH = re.compile(
    r"^[^，,；;。]{0,6}?(?:禁用|禁忌|不宜|不推荐|不建议|不需要|无需|不必|不考虑|可排除|已排除|予以排除|不支持)"
)
AFTER_FINDING_ZH = re.compile(r"^[^，,；;。]{0,4}?(?:不明显|不显著|阴性)")  # 出汗不明显: a finding, not an act
AFTER_EN = re.compile(
    r"^[^,;.]{0,24}?\b(?:is|are|was|were|should\s+be|must\s+be)\s+(?:contraindicated|avoided|not\s+(?:recommended|"
    r"indicated|needed|necessary|required|advised|present)|ruled\s+out|excluded|unlikely|negative)\b",
    re.I,
)
# words that contain a cue but deny nothing, and turns that undo a denial
PSEUDO = re.compile(
    r"不能排除|不能除外|无法排除|不排除|不除外|未排除|尚未排除|不适|不良|不稳定|不全|不足|不明(?!显)|不规则|不典型|不齐|不清|不佳|"
    r"不畅|不安|不振|不孕|不育|不耐受|不对称|不等|不一|未经|不仅|不但|不久|不断|不少|不超过|不低于|不高于|不大于|不小于|"
    r"不多于|不少于|不详|不适用|有无|无关|有没有|是否|无力|无菌|无创|无痛|无效|无论|无法|无明显诱因|未成年|未明|未知|未分化|未控制|(?<![并而绝])非(?!但)|"
    r"\bnot\s+only\b|\bnon-|\bno\s+longer\b|\bcannot\s+(?:be\s+)?(?:rule[sd]?\s+out|exclude[sd]?)|\bnot\s+exclude[sd]?\b|"
    r"\bnot\s+ruled?\s+out\b|\bnot\s+responding\b|\bnot\s+controlled\b|\bno\s+better\b|\bno\s+improvement\b",
    re.I,
)
UNDOING = re.compile(
    r"停|撤|中断|减量|暂停|拒绝|遗漏|忘|\b(?:stop\w*|discontinu\w*|miss\w*|forget\w*|delay\w*|skip\w*)\b", re.I
)
CONDITION = re.compile(
    r"如|若|假如|一旦|除非|是否|有无|有没有|是不是|能否|可否|吗|一般不|通常不|尽量|最好不|原则上|不太|未必|无禁忌|"
    r"\b(?:if|unless|whether|generally|usually|ideally|preferably|rarely)\b",
    re.I,
)  # conditionals, questions and hedges: no plain statement either way
BOUND = re.compile(
    r"不超过|不低于|不少于|不多于|不大于|不小于|\b(?:not\s+exceed\w*|no\s+more\s+than|at\s+least|at\s+most)\b", re.I
)
# after the content, in a clause about something the criterion denies: it is dismissed, not stated
DISMISSED_AFTER = re.compile(
    r"不明显|不显著|依据不足|证据不足|可能性小|可能性不大|不大可能|不支持|排除|不是必[需须要]|非必[需须要]|没有必要|不必要|无必要|无效|没用|无益|无帮助|没有帮助|不能|不会|不可|不应|不宜|不需|不用|不必|"
    r"\b(?:unnecessary|not\s+\w+|no\s+\w+|ineffective|useless|unhelpful)\b",
    re.I,
)
CUE_REACH_HAN = 8  # characters between a Chinese cue and the content it denies
CUE_REACH_EN = 5  # words between an English cue and the content


# in a negative point, the cues of an absence or of an act not needed; prohibitions (不得、禁止) are left
# out: a response that names the prohibited act to describe it (属于出具虚假证明) does not commit it
CRITERION_CUES_ZH = re.compile(
    "并非|未见|未闻及|未触及|未发现|否认|没有|并无|无需|无须|不需要|不需|不必|暂不|不建议|不推荐|不考虑|不支持|无"
)  # a bare 未 in a point is mostly a condition (未用降压药时, 未亲自诊查…不得): left out
RECORD_POINT = re.compile(rf"^\s*(?:{'|'.join(RECORD_FIELDS)})\s*[：:]")  # the record check's to read
# a clause about the item in general (its definition, what guidelines say), not about this patient
GENERIC = re.compile(r"要求|标准|定义|指南|通常|一般|常见|多见|可见于|典型|例如|比如|包括|分为")
EXCEPTION = re.compile(r"除外|除非|以外|之外")
ITEM_SPLIT_ZH = re.compile(r"以及|及|和|或|与|/")  # items under one cue; 、 starts a finding of its own
ANY_CUE = re.compile(
    "|".join(sorted(set(FINDING_CUES_ZH + ACTION_CUES_ZH + ("不", "排除", "停", "别")), key=len, reverse=True))
    + "|"
    + FINDING_CUES_EN.pattern
    + "|"
    + ACTION_CUES_EN.pattern,
    re.I,
)
