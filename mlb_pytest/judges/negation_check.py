"""Does the response deny the criterion everywhere it mentions it?

Why: a response that says 未见肺炎, "denies chest pain" or 不建议使用华法林 shares nearly every word with
the point or risk it denies, and a cross-encoder reads it as a match: negation is the trap the bundled
judge fails most on answers written apart from it. Negation scope in clinical text is mostly local
(the cue stands just before the finding or act, in the same clause: the observation behind NegEx), so
a narrow rule can settle the plain cases exactly:

- the criterion is affirmative (it states a finding or an act, not its absence, not a stop or an
  avoidance: those are left alone, since their denial is a double negative);
- the response mentions the criterion's content in at least one clause (most of its content
  bigrams or words), and **every** such clause negates it: a negation cue shortly before the first
  shared content, with no second negative (停用, "stop") between them; or a prohibition right after
  it (华法林禁用, "ibuprofen is contraindicated");
- then the point is not met, or the risk not committed, and the clause is the reason.

A single affirmative mention anywhere, a conditional (若无禁忌, "unless"), a question, or a pseudo-
negation (不能排除, 不适, 非甾体, "not only") leaves the decision to the encoder: like the number
check, this check only ever says "no", and only when it can quote why. An assessment point (询问、
监测, "assess") is denied only by a denial of the act (无需监测), not of a finding (未见异常 means the
assessment was done).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..catalog import RECORD_FIELDS

NEGATION_CHECK_VERSION = "negation/1"  # part of the builtin judge's identity

_CLAUSE = re.compile(r"[。；;！？!?\n，,]|\.(?=\s|$)|(?<=\s)-\s|[:：](?=\s*\n)")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_WORD = re.compile(r"[A-Za-z][A-Za-z\-']*")

# frame words around what a criterion is about: they say how, not what
_FRAME_HAN = (
    "建议", "推荐", "应当", "应该", "需要", "给予", "予以", "进行", "完善", "考虑", "诊断", "患者", "存在",
    "出现", "使用", "应用", "服用", "及时", "立即", "尽快", "明确", "提示", "可能", "告知", "说明", "指导",
    "回答", "指出", "提到", "记录", "明显", "包括", "合并", "伴有", "具有", "属于", "的", "需", "应", "予", "有", "为", "及", "和",
    "或", "与",
)  # fmt: skip
_STOP_EN = {
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
_NEGATIVE_CRITERION = re.compile(
    r"无|未|不|没|非|否认|排除|阴性|停|撤|戒|禁|避免|拒绝|终止|中止|减量|违反|违法|违规|风险|危害|危险|可致|导致|灼伤|"
    r"副作用|误服|"
    r"\b(?:no|not|non|never|without|den(?:y|ies|ied)|negative|stop|stops|stopping|discontinue[sd]?|hold|"
    r"withhold|avoid|avoids|cease|quit|refuse[sd]?|exclude[sd]?|rule[sd]?\s+out|contraindicat\w*|risks?|harm\w*|"
    r"danger\w*|illegal|violat\w*|toxic\w*|caus\w+)\b",
    re.I,
)
# an assessment act: asked, checked or recorded; met when it is done, whatever it finds
_ASSESSMENT = re.compile(
    r"^(?:建议|需|应|及时|尽快|立即)?(?:询问|问诊|记录|评估|筛查|检查|监测|复查|排查|了解|追问|测定|测量|检测|完善|查)|"
    r"^\s*(?:ask|assess|screen|check|monitor|measure|test|evaluate|document|record|obtain|order)",
    re.I,
)

# cues that deny a finding or an act when they stand before it (longest first where they overlap)
_FINDING_CUES_ZH = (
    "并非", "而非", "绝非", "不是", "未见", "未闻及", "未触及", "未发现", "未提示", "否认", "没有", "并无", "无", "不考虑",
    "已排除", "可排除", "基本排除", "已除外", "可除外", "未",
)  # fmt: skip
_ACTION_CUES_ZH = (
    "不建议", "不推荐", "不需要", "不需", "无需", "无须", "不必", "暂不", "不宜", "不应", "不要", "不用", "不可",
    "不能", "不得", "切勿", "勿", "避免", "禁用", "禁止", "禁忌", "未予", "未行", "未做", "未用", "未服",
)  # fmt: skip
_FINDING_CUES_EN = re.compile(
    r"\b(?:no|not|denies|denied|deny|without|negative\s+for|no\s+evidence\s+of|no\s+signs?\s+of|absence\s+of|"
    r"free\s+of|ruled\s+out|excluded|never|neither|nor)\b",
    re.I,
)
_ACTION_CUES_EN = re.compile(
    r"\b(?:do\s+not|don't|does\s+not|should\s+not|shouldn't|must\s+not|cannot|can't|never|avoid|avoiding|"
    r"no\s+need\s+(?:to|for)|not\s+(?:recommended|advised|indicated|needed|necessary|required)|"
    r"(?:is|are)\s+not|not)\b",
    re.I,
)
# after the content: a prohibition or a dismissal (华法林禁用, "is contraindicated")
_AFTER_ZH = re.compile(
    r"^[^，,；;。]{0,6}?(?:禁用|禁忌|不宜|不推荐|不建议|不需要|无需|不必|不考虑|可排除|已排除|予以排除|不支持)"
)
_AFTER_FINDING_ZH = re.compile(r"^[^，,；;。]{0,4}?(?:不明显|不显著|阴性)")  # 出汗不明显: a finding, not an act
_AFTER_EN = re.compile(
    r"^[^,;.]{0,24}?\b(?:is|are|was|were|should\s+be|must\s+be)\s+(?:contraindicated|avoided|not\s+(?:recommended|"
    r"indicated|needed|necessary|required|advised|present)|ruled\s+out|excluded|unlikely|negative)\b",
    re.I,
)
# words that contain a cue but deny nothing, and turns that undo a denial
_PSEUDO = re.compile(
    r"不能排除|不能除外|无法排除|不排除|不除外|未排除|尚未排除|不适|不良|不稳定|不全|不足|不明(?!显)|不规则|不典型|不齐|不清|不佳|"
    r"不畅|不安|不振|不孕|不育|不耐受|不对称|不等|不一|未经|不仅|不但|不久|不断|不少|不超过|不低于|不高于|不大于|不小于|"
    r"不多于|不少于|不详|不适用|有无|无关|有没有|是否|无力|无菌|无创|无痛|无效|无论|无法|无明显诱因|未成年|未明|未知|未分化|未控制|(?<![并而绝])非(?!但)|"
    r"\bnot\s+only\b|\bnon-|\bno\s+longer\b|\bcannot\s+(?:be\s+)?(?:rule[sd]?\s+out|exclude[sd]?)|\bnot\s+exclude[sd]?\b|"
    r"\bnot\s+ruled?\s+out\b|\bnot\s+responding\b|\bnot\s+controlled\b|\bno\s+better\b|\bno\s+improvement\b",
    re.I,
)
_UNDOING = re.compile(
    r"停|撤|中断|减量|暂停|拒绝|遗漏|忘|\b(?:stop\w*|discontinu\w*|miss\w*|forget\w*|delay\w*|skip\w*)\b", re.I
)
_CONDITION = re.compile(
    r"如|若|假如|一旦|除非|是否|有无|有没有|是不是|能否|可否|吗|一般不|通常不|尽量|最好不|原则上|不太|未必|"
    r"\b(?:if|unless|whether|generally|usually|ideally|preferably|rarely)\b",
    re.I,
)  # conditionals, questions and hedges: no plain statement either way
_BOUND = re.compile(
    r"不超过|不低于|不少于|不多于|不大于|不小于|\b(?:not\s+exceed\w*|no\s+more\s+than|at\s+least|at\s+most)\b", re.I
)
# after the content, in a clause about something the criterion denies: it is dismissed, not stated
_DISMISSED_AFTER = re.compile(
    r"不明显|不显著|依据不足|证据不足|可能性小|可能性不大|不大可能|不支持|排除|不是必[需须要]|非必[需须要]|没有必要|不必要|无必要|无效|没用|无益|无帮助|没有帮助|不能|不会|不可|不应|不宜|不需|不用|不必|"
    r"\b(?:unnecessary|not\s+\w+|no\s+\w+|ineffective|useless|unhelpful)\b",
    re.I,
)
_CUE_REACH_HAN = 8  # characters between a Chinese cue and the content it denies
_CUE_REACH_EN = 5  # words between an English cue and the content


@dataclass(frozen=True)
class NegationFinding:
    """The criterion, and the response's clause that denies it (the first of those that mention it)."""

    kind: str
    clause: str
    stated: str = ""  # what the criterion denies and the response states, when that is the finding
    met: bool = False  # a negative point whose every item the response denies too

    def reason(self) -> str:
        what = "risk" if self.kind == "risk" else "point"
        if self.met:
            return (
                f"negation check: the response denies what the {what} denies, and states none of it ('{self.clause}')"
            )
        if self.stated:
            return f"negation check: the {what} denies '{self.stated}', which the response states ('{self.clause}')"
        return f"negation check: the response denies the {what} ('{self.clause}') and states it nowhere"


def _content_text(text: str) -> str:
    """A criterion's Chinese with frame words blanked: the runs that say what it is about."""
    runs = " ".join(re.findall(r"[\u4e00-\u9fff]+", text))
    for frame in sorted(_FRAME_HAN, key=len, reverse=True):
        runs = runs.replace(frame, " ")
    return " ".join(runs.split())


def _stem(word: str) -> str:
    w = word.lower().strip("-'")
    for suffix in ("ies", "es", "s", "ed", "ing"):
        if len(w) > len(suffix) + 3 and w.endswith(suffix):
            return w[: -len(suffix)]
    return w


def _content_en(text: str) -> list[str]:
    words = [_stem(w) for w in _WORD.findall(text) if w.lower() not in _STOP_EN and len(w) > 2]
    return list(dict.fromkeys(words))


def _clauses(text: str) -> list[tuple[int, str]]:
    out, start = [], 0
    for m in _CLAUSE.finditer(text):
        if m.start() > start:
            out.append((start, text[start : m.start()]))
        start = m.end()
    if start < len(text):
        out.append((start, text[start:]))
    return [(i, c) for i, c in out if c.strip()]


def _masked(clause: str) -> str:
    """The clause with pseudo-negations blanked, so their cue characters are not read as denials."""
    return _PSEUDO.sub(lambda m: "\u2002" * len(m.group()), clause)


def _shared_run(clause: str, criterion: str) -> tuple[int, int]:
    """The longest run of the clause's Han text that the criterion also holds: (length, start)."""
    best = (0, -1)
    for i, ch in enumerate(clause):
        if not _HAN.match(ch) or best[0] >= len(clause) - i:
            continue
        j = i + max(best[0], 1)
        while j <= len(clause) and clause[i:j] in criterion:
            j += 1
        if j - 1 - i > best[0] and clause[i : j - 1] in criterion:
            best = (j - 1 - i, i)
    return best


def _mentions_han(clause: str, content: str) -> int:
    """Where the clause restates the criterion's content (a shared run of 4+ characters, or most of
    a short criterion), else -1."""
    length, at = _shared_run(clause, content)
    need = min(4, max(2, len(content.replace(" ", "")) * 6 // 10))
    return at if length >= need else -1


def _first_match_en(clause: str, words: list[str]) -> tuple[float, int, int]:
    """Share of the criterion's words in the clause, and where the first one starts (char, word index)."""
    tokens = [(m.start(), _stem(m.group())) for m in _WORD.finditer(clause)]
    stems = [t for _, t in tokens]
    found = [stems.index(w) for w in words if w in stems]
    if not found:
        return 0.0, -1, -1
    first = min(found)
    return len(found) / len(words), tokens[first][0], first


def _denied_han(clause: str, at: int, assessment: bool, length: int = 0) -> bool:
    """A cue within reach before position ``at`` (no second negative between), or a dismissal within a
    few characters after the run that starts there (``length`` long)."""
    masked = _masked(clause)
    before = masked[max(0, at - _CUE_REACH_HAN - 3) : at]
    cues = _ACTION_CUES_ZH if assessment else _ACTION_CUES_ZH + _FINDING_CUES_ZH
    for cue in sorted(cues, key=len, reverse=True):
        pos = before.rfind(cue)
        if pos >= 0 and len(before) - pos - len(cue) <= _CUE_REACH_HAN:
            between = before[pos + len(cue) :]
            return not _UNDOING.search(between)
    after = masked[at + length :].split("，")[0][:40]
    dismissed = _AFTER_ZH.search(after) or (not assessment and _AFTER_FINDING_ZH.search(after))
    return bool(dismissed) and not _UNDOING.search(masked[:at])


def _denied_en(clause: str, at_char: int, assessment: bool) -> bool:
    masked = _masked(clause)
    before = masked[:at_char]
    words_before = _WORD.findall(before)
    window = " ".join(words_before[-(_CUE_REACH_EN + 3) :])
    pattern = (
        _ACTION_CUES_EN if assessment else re.compile(f"{_FINDING_CUES_EN.pattern}|{_ACTION_CUES_EN.pattern}", re.I)
    )
    hits = list(pattern.finditer(window))
    if hits:
        after_cue = window[hits[-1].end() :]
        if len(_WORD.findall(after_cue)) <= _CUE_REACH_EN and not _UNDOING.search(after_cue):
            return True
    return bool(_AFTER_EN.search(masked[at_char:])) and not _UNDOING.search(before)


def check_negation(kind: str, criterion: str, response: str, share: float = 0.6) -> NegationFinding | None:
    """A finding when the response denies an affirmative criterion (or a part of it) and never states
    it, or states plainly what a negative criterion denies and never denies it; else None."""
    if _BOUND.search(criterion):
        return None  # a limit (不超过4 g) is the number check's to read
    if _NEGATIVE_CRITERION.search(_masked(criterion)):
        # a risk's cue describes the harmful act (未经同意就…): stating its words does not commit it
        if kind == "risk" or not _HAN.search(criterion) or _RECORD_POINT.match(criterion):
            return None
        return _check_reversed(kind, criterion, response)
    if _HAN.search(criterion):
        return _check_han(kind, criterion, response)
    return _check_en(kind, criterion, response, share)


def _check_han(kind: str, criterion: str, response: str) -> NegationFinding | None:
    """Each clause that restates a run of the criterion (4+ characters, or 3 right after a cue: 禁用华法林)
    either denies it or states it; a run denied in one clause and stated in none settles the criterion
    as not met."""
    content = _content_text(criterion)
    if len(content.replace(" ", "")) < 2:
        return None
    assessment = kind != "risk" and bool(_ASSESSMENT.search(criterion.strip()))
    clauses = [c for _, c in _clauses(response)]
    denied: list[tuple[str, str]] = []  # (run, clause)
    for clause in clauses:
        length, start = _shared_run(clause, content)
        near = length >= 3 and (_cue_right_before(clause, start) or _dismissed_right_after(clause, start + length))
        if _mentions_han(clause, content) < 0 and not near:
            continue
        if _CONDITION.search(clause) or clause.rstrip().endswith(("?", "？")):
            return None  # a conditional or a question about it: not a plain denial
        if _denied_han(clause, start, assessment, length):
            denied.append((clause[start : start + length], clause))
    for run, clause in denied:
        if not any(_states_run(c, run, assessment) for c in clauses if c is not clause):
            return NegationFinding(kind, clause.strip()[:80])
    return None


def _cue_right_before(clause: str, at: int) -> bool:
    before = _masked(clause)[max(0, at - 4) : at]
    return any(before.endswith(cue) for cue in _ACTION_CUES_ZH + _FINDING_CUES_ZH)


def _dismissed_right_after(clause: str, end: int) -> bool:
    """布洛芬等止痛药不建议使用: a prohibition within a few characters after the run, in its clause."""
    return bool(_AFTER_ZH.search(_masked(clause)[end:]))


def _states_run(clause: str, run: str, assessment: bool) -> bool:
    """The clause restates the run (or most of a long one) without denying it."""
    length, start = _shared_run(clause, run)
    if length < min(len(run), max(4, len(run) * 6 // 10)):
        return False
    return not _denied_han(clause, start, assessment, length)


def _check_en(kind: str, criterion: str, response: str, share: float) -> NegationFinding | None:
    """Most of the criterion's words in a clause, denied; for a risk also the act's object alone
    ("Avoid ibuprofen") when it is denied right there and named nowhere else without a denial."""
    words = _content_en(criterion)
    if not words:
        return None
    assessment = kind != "risk" and bool(_ASSESSMENT.search(criterion.strip()))
    if kind == "risk":
        found = _denied_object_en(words, response)
        if found is not None:
            return NegationFinding(kind, found[:80])
    denials: list[str] = []
    for _, clause in _clauses(response):
        covered, at, _ = _first_match_en(clause, words)
        if covered < share:
            continue
        if _CONDITION.search(clause) or clause.rstrip().endswith(("?", "？")):
            return None
        if not _denied_en(clause, at, assessment):
            return None  # an affirmative mention: the encoder decides
        denials.append(clause.strip())
    return NegationFinding(kind, denials[0][:80]) if denials else None


def _denied_object_en(words: list[str], response: str) -> str | None:
    """A long word of the risk (a drug, a test, an act: 5 letters or more) that the response names only
    right after a cue ("avoid ibuprofen", "do not take aspirin") or right before a prohibition."""
    clauses = [c for _, c in _clauses(response)]
    for word in (w for w in words if len(w) >= 5):
        denied: list[str] = []
        plain = False
        for clause in clauses:
            tokens = [(m.start(), _stem(m.group())) for m in _WORD.finditer(clause)]
            spots = [i for i, (_, t) in enumerate(tokens) if t == word]
            if not spots:
                continue
            at = tokens[spots[0]][0]
            before = " ".join(t for _, t in tokens[max(0, spots[0] - 4) : spots[0]])
            cue = _ACTION_CUES_EN.search(_masked(before)) or _FINDING_CUES_EN.search(_masked(before))
            after = _AFTER_EN.search(_masked(clause)[at:])
            if _CONDITION.search(clause) or clause.rstrip().endswith("?"):
                plain = True
            elif (cue and not _UNDOING.search(before[cue.end() :])) or after:
                denied.append(clause.strip())
            else:
                plain = True
        if denied and not plain:
            return denied[0]
    return None


# in a negative point, the cues of an absence or of an act not needed; prohibitions (不得、禁止) are left
# out: a response that names the prohibited act to describe it (属于出具虚假证明) does not commit it
_CRITERION_CUES_ZH = re.compile(
    "并非|未见|未闻及|未触及|未发现|否认|没有|并无|无需|无须|不需要|不需|不必|暂不|不建议|不推荐|不考虑|不支持|无"
)  # a bare 未 in a point is mostly a condition (未用降压药时, 未亲自诊查…不得): left out
_RECORD_POINT = re.compile(rf"^\s*(?:{'|'.join(RECORD_FIELDS)})\s*[：:]")  # the record check's to read
# a clause about the item in general (its definition, what guidelines say), not about this patient
_GENERIC = re.compile(r"要求|标准|定义|指南|通常|一般|常见|多见|可见于|典型|例如|比如|包括|分为")
_EXCEPTION = re.compile(r"除外|除非|以外|之外")
_ITEM_SPLIT_ZH = re.compile(r"以及|及|和|或|与|/")  # items under one cue; 、 starts a finding of its own
_ANY_CUE = re.compile(
    "|".join(sorted(set(_FINDING_CUES_ZH + _ACTION_CUES_ZH + ("不", "排除", "停", "别")), key=len, reverse=True))
    + "|"
    + _FINDING_CUES_EN.pattern
    + "|"
    + _ACTION_CUES_EN.pattern,
    re.I,
)


def denied_items(criterion: str) -> list[str]:
    """What a negative Chinese criterion says is absent or not to be done: the content after each cue,
    item by item (记录无尿痛及肉眼血尿 -> 尿痛, 肉眼血尿)."""
    masked = _masked(criterion)
    items: list[str] = []
    for m in _CRITERION_CUES_ZH.finditer(masked):
        tail = re.split(r"[，,。；;：:（()）、\u2002]", masked[m.end() :])[0]
        tail = _ANY_CUE.split(tail)[0]  # the next cue starts another statement
        for part in _ITEM_SPLIT_ZH.split(tail):
            content = _content_text(part)
            if len(content.replace(" ", "")) >= 2:
                items.append(content)
    return list(dict.fromkeys(items))


def _plain_statement(clause: str) -> bool:
    """A clause that states something outright: no cue of any denial, no stop, no condition or hedge."""
    masked = _masked(clause)
    return not (
        _ANY_CUE.search(masked)
        or _UNDOING.search(masked)
        or _CONDITION.search(clause)
        or _DISMISSED_AFTER.search(masked)
        or clause.rstrip().endswith(("?", "？"))
    )


def _check_reversed(kind: str, criterion: str, response: str) -> NegationFinding | None:
    """A negative point (否认糖尿病史, 无需穿刺) that the response contradicts: an item it denies is stated
    plainly in some clause of the response, and no clause denies, doubts or conditions it."""
    if _EXCEPTION.search(criterion):
        return None  # "不需…的除外": an exception to a rule, not a denial
    clauses = [c for _, c in _clauses(response)]
    for item in denied_items(criterion):
        size = len(item.replace(" ", ""))
        need = 2 if size <= 3 else max(3, round(size * 0.6))  # 糖尿病史 needs 糖尿病, not 病史
        plain: list[str] = []
        other = False
        for clause in clauses:
            if _shared_run(clause, item)[0] < need:
                continue
            if _plain_statement(clause) and not _GENERIC.search(clause):
                plain.append(clause.strip())
            else:
                other = True  # denied, doubted or conditional somewhere: leave it to the encoder
        if plain and not other:
            return NegationFinding(kind, plain[0][:80], stated=item)
    return _agreeing_denial(kind, criterion, clauses)


def _agreeing_denial(kind: str, criterion: str, clauses: list[str]) -> NegationFinding | None:
    """A negative point met: every item it denies is mentioned, and only denied (记录无腹泻 / 无腹泻), and
    whatever else it names (该结节 in 该结节无需穿刺) is stated somewhere, not denied."""
    items = denied_items(criterion)
    if not items:
        return None
    first = ""
    for item in items:
        size = len(item.replace(" ", ""))
        need = size if size <= 3 else max(3, round(size * 0.6))
        mentions = [c for c in clauses if _shared_run(c, item)[0] >= need]
        if not mentions:
            return None
        for clause in mentions:
            if _CONDITION.search(clause) or _GENERIC.search(clause) or clause.rstrip().endswith(("?", "？")):
                return None
            length, start = _shared_run(clause, item)
            if not _denied_han(clause, start, False, length):
                return None
        first = first or mentions[0].strip()
    masked = _masked(criterion)
    spans = [
        (m.start(), m.end() + len(re.split(r"[，,。；;：:（()）、\u2002]", masked[m.end() :])[0]))
        for m in _CRITERION_CUES_ZH.finditer(masked)
    ]
    rest = "".join(ch if not any(a <= i < b for a, b in spans) else " " for i, ch in enumerate(masked))
    pieces = [p for p in _content_text(rest).split() if len(p) >= 2]
    if sum(map(len, pieces)) > 3:
        return None  # a point that also asserts findings of its own (评分0分，无休克，属非重症): the encoder reads it
    for piece in pieces:
        if len(piece) >= 2 and not any(
            piece[:2] in c and not _denied_han(c, c.find(piece[:2]), False) for c in clauses
        ):
            return None
    return NegationFinding(kind, first[:80], met=True)
