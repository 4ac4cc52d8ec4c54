"""Negation polarity of the criterion's terms in the response: a rule the encoder cannot learn.

The bundled cross-encoder reads "否认糖尿病史" and "糖尿病病史5年" as the same topic and says yes
to both: on rows written apart from its training data it is at chance on negation. Clinical NLP
has handled this for decades with NegEx-style rules: a finding is negated when a negation cue
(无, 否认, 未见, "denies", "no") stands before it in the same clause, or a post-cue (不明显, 阴性,
"is not needed") follows it; pseudo-cues (不能排除, "cannot be ruled out") are not negations.

``polarity_conflict`` compares each term the criterion shares with the response: when a term is
negated on one side and affirmed on the other at *every* mention in the response, the response
says the opposite of the criterion about it, and the point is not met (or the risk is not
committed). When the response mentions a term both ways, or the two sides agree, the rule says
nothing and the encoder decides. The rule only ever turns a verdict to *no*, never to yes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

POLARITY_VERSION = "polarity-1"  # part of the builtin judge's identity: a changed rule is a new judge

# Chinese cues, longest first so that 不需要 wins over 不. A bare 不 or 非 is not a cue: 不适, 不良反应,
# 心律不齐, 非甾体 are findings, not negations.
_ZH_PSEUDO = (
    "不能排除",
    "不能除外",
    "无法排除",
    "不排除",
    "不除外",
    "需排除",
    "需要排除",
    "待排除",
    "应排除",
    "以排除",
    "用于排除",
    "帮助排除",
    "来排除",
    "以便排除",
    "或排除",
    "先排除",
    "首先排除",
    "进一步排除",
    "排除了其他",
    "无论",
    "不仅",
    "不只",
    "不管",
    "未必",
    "不一定",
    "无明显诱因",
    "不详",
    "不明原因",
    "有无",
    "有没有",
    "是否",
    "能不能",
    "会不会",
    "是不是",
    "要不要",
    "需不需要",
    "不然",
    "要不",
)
_ZH_PRE = (
    "千万不要",
    "不建议",
    "不需要",
    "不推荐",
    "不考虑",
    "不支持",
    "不符合",
    "不存在",
    "不应该",
    "没有必要",
    "无必要",
    "不必要",
    "不伴",
    "不需",
    "不必",
    "不应",
    "不能",
    "不宜",
    "不可",
    "不要",
    "不得",
    "不用",
    "不会",
    "不是",
    "不做",
    "否认",
    "未见",
    "未闻及",
    "未触及",
    "未发现",
    "没有",
    "无需",
    "无须",
    "禁止",
    "避免",
    "切勿",
    "已排除",
    "可排除",
    "可以排除",
    "基本排除",
    "排除了",
    "无",
    "未",
    "没",
    "勿",
    "别",
    "忌",
    "不",
)
# a bare 不 or 无 before these is part of a word, not a negation: 不适, 心律不齐, 无力, 无菌性脓尿
_ZH_WORD_AFTER = {
    "不": set("适良齐全规稳典详明足安佳畅清等一同断少久易过仅光止"),
    "无": set("力菌创效论限偿数关异奈辜法"),
}
_ZH_REACH = 12  # characters from a cue's end to the term: NegEx's window, for Chinese lists of findings
_ZH_POST = ("不明显", "不显著", "阴性", "（-）", "(-)", "（－）", "已排除", "不需要", "不必要", "没有必要")
# a clause ends at these; an affirming conjunction also ends a cue's reach (无发热，伴咳嗽 / 无发热但咳嗽)
_ZH_BREAK = re.compile(r"[，。；！？,;!?\n：:（）()—\-]|但|(?<!不)伴|却|然而|而是|可是|不过|可见|并有|另有|就|而|即|才")

_EN_PSEUDO = re.compile(
    r"\b(?:cannot|can't|can not|could not|not) (?:be )?(?:ruled? out|excluded?)\b|\bnot only\b|\bno doubt\b|"
    r"\bwhether or not\b|\bnot necessarily\b|\bno matter\b",
    re.I,
)
_EN_PRE = re.compile(
    r"\b(?:no|never|denies|denied|deny|denying|without|negative for|ruled out|rules out|free of|absence of)\b",
    re.I,
)
_EN_POST = re.compile(
    r"^\s*(?:\w+\s+){0,2}?(?:is|are|was|were|has been|have been)\s+(?:negative|absent|ruled out|excluded)\b|"
    r"^\s*(?:negative|absent|\(-\))",
    re.I,
)
_EN_BREAK = re.compile(r"[.;:!?\n()]|,\s|\b(?:but|however|although|though|except|whereas|while|which|who)\b", re.I)
_EN_STOP = frozenset(
    """states state stated document documents documented record records recorded mention mentions mentioned
    note notes noted that this these those there their the and for with from into onto than then have has had
    patient patients physician doctor should would could must will shall also about after before because
    given being been were what when where which while whose your they them user advise advises advised
    recommend recommends recommended explain explains explained tell tells told indicate indicates indicated
    need needs needed required require requires necessary instead other only such very more most less
    whether ask asks asked answer response""".split()
)
_ZH_STOP = frozenset(
    "记录 指出 明显 异常 正常 说明 提出 明确 告知 告诉 建议 患者 该患者 病人 医生 医师 可以 需要 进行 应该 应当 是否 以及 目前 "
    "出现 存在 考虑 诊断 治疗 情况 提示 表现 给予 相关 应在 可能 及时 没有 问题".split()
)
_HAN = re.compile(r"[\u4e00-\u9fff]")
_WORD = re.compile(r"[A-Za-z][A-Za-z-]{2,}")


@dataclass(frozen=True)
class Conflict:
    """A term the criterion states one way and every mention in the response states the other."""

    term: str
    criterion_negated: bool

    def describe(self) -> str:
        side = "negates" if self.criterion_negated else "affirms"
        other = "affirms" if self.criterion_negated else "negates"
        return f"the criterion {side} '{self.term}' and the response {other} it at every mention"


def _zh_cues(clause: str) -> list[tuple[int, int, bool]]:
    """(start, end, is_negation) of every cue in a clause, pseudo-cues first so they shadow their parts."""
    taken = [False] * len(clause)
    found: list[tuple[int, int, bool]] = []
    for words, neg in ((_ZH_PSEUDO, False), (_ZH_PRE, True)):
        for w in words:
            for m in re.finditer(re.escape(w), clause):
                follow = clause[m.end() : m.end() + 1]
                if w in _ZH_WORD_AFTER and follow in _ZH_WORD_AFTER[w]:
                    continue
                if not any(taken[m.start() : m.end()]):
                    for k in range(m.start(), m.end()):
                        taken[k] = True
                    found.append((m.start(), m.end(), neg))
    return sorted(found)


_ZH_ITEM_SEP = re.compile(r"[、及和与或/等]")
_ZH_CONDITIONAL = ("如果", "若", "假如", "要是", "一旦", "除非", "只要", "否则", "万一")
_EN_ITEM_SEP = re.compile(r"\b(?:and|or|nor)\b|[,/]", re.I)
_EN_CONDITIONAL = re.compile(r"\b(?:if|unless|until|whether|otherwise)\b", re.I)
COVERAGE = 0.5  # the shared term must be at least half of the finding the cue governs


def _zh_clause(text: str, start: int, end: int) -> tuple[int, int]:
    left = start
    while left > 0 and not _ZH_BREAK.match(text, left - 1):
        left -= 1
    right = end
    while right < len(text) and not _ZH_BREAK.match(text, right):
        right += 1
    return left, right


def _zh_polarity(text: str, start: int, end: int) -> bool | None:
    """Negated (True), affirmed (False) or unclear (None) for the term at text[start:end].

    Negated: the nearest cue in reach before it (or a post-cue right after it) governs a finding
    the term makes at least half of; a cue right after another negation cancels it (并不意味着没有).
    Unclear: a cue governs a longer phrase the term is only a fragment of, or the clause is a
    condition (如果没有X / 没有X就不能Y).
    """
    left, right = _zh_clause(text, start, end)
    clause = text[left:right]
    s, e = start - left, end - left
    if any(c in text[max(0, left - 12) : start] for c in _ZH_CONDITIONAL):
        return None
    found = [(cs, ce, neg) for cs, ce, neg in _zh_cues(clause) if ce <= s and s - ce <= _ZH_REACH]
    if found and not found[-1][2]:
        found = []  # the nearest cue is a pseudo-cue (不能排除X): X is affirmed as possible
    cues = [(cs, ce) for cs, ce, neg in found if neg]
    after = clause[e:]
    post = any(0 <= after.find(p) <= 3 for p in _ZH_POST)
    if not cues and not post:
        return False
    if cues:
        cs, ce = cues[-1]
        if any(pe <= cs and cs - pe <= 3 for _, pe in cues[:-1]):
            return False if not post else True  # double negation
        scope = clause[ce:]
        item_start = ce + max((m.end() for m in _ZH_ITEM_SEP.finditer(scope[: s - ce])), default=0)
        m = _ZH_ITEM_SEP.search(clause, e)
        item_end = m.start() if m else len(clause)
        if (e - s) / max(1, item_end - item_start) < COVERAGE:
            return None
        # 没有X，就不能Y: a negated condition, not a finding
        nxt = text[right : right + 20]
        if re.match(r"[，,]?[^，。；\n]{0,10}(?:就|便|则)?(?:不能|不可|不得|无法)", nxt):
            return None
        return not post
    return True


def _en_polarity(text: str, start: int, end: int) -> bool | None:
    left_text = text[:start]
    breaks = list(_EN_BREAK.finditer(left_text))
    left = breaks[-1].end() if breaks else 0
    if _EN_CONDITIONAL.search(left_text[left:]):
        return None
    words = left_text[left:].split()
    window = _EN_PSEUDO.sub(" ", " ".join(words[-3:]))  # NegEx reaches a few words
    right_text = text[end:]
    cut = _EN_BREAK.search(right_text)
    after = right_text[: cut.start()] if cut else right_text
    post = bool(_EN_POST.match(_EN_PSEUDO.sub(" ", after)))
    cues = list(_EN_PRE.finditer(window))
    if not cues:
        return post
    if post:
        return False  # "no ... is negative": leave it to the encoder
    governed = window[cues[-1].end() :]
    item = _EN_ITEM_SEP.split(governed)[-1] + " " + _EN_ITEM_SEP.split(after)[0]
    n_words = len(_WORD.findall(item))
    if n_words and 1 / n_words < COVERAGE:
        return None
    return True


def _stem(word: str) -> str:
    w = word.lower()
    for suffix in ("ing", "ed", "es", "er", "s"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 4:
            return w[: -len(suffix)]
    return w


def _zh_terms(criterion: str, response: str) -> list[tuple[str, int]]:
    """Maximal runs of Chinese characters the criterion shares with the response (2+ characters, no cue inside)."""
    cue = [False] * len(criterion)
    for s, e, _ in _zh_cues(criterion):
        for k in range(s, e):
            cue[k] = True
    for p in _ZH_POST:
        for m in re.finditer(re.escape(p), criterion):
            for k in range(m.start(), m.end()):
                cue[k] = True
    out: list[tuple[str, int]] = []
    i = 0
    n = len(criterion)
    while i < n:
        best = 0
        for j in range(min(n, i + 12), i + 1, -1):
            piece = criterion[i:j]
            if not any(cue[i:j]) and len(_HAN.findall(piece)) == len(piece) and piece in response:
                best = j - i
                break
        if best >= 2:
            term = criterion[i : i + best]
            if term not in _ZH_STOP:
                out.append((term, i))
            i += best
        else:
            i += 1
    return out


def _en_terms(criterion: str, response: str) -> list[tuple[str, int]]:
    stems_in_response = {_stem(m.group()) for m in _WORD.finditer(response)}
    out = []
    for m in _WORD.finditer(criterion):
        w = m.group()
        s = _stem(w)
        if len(w) >= 4 and w.lower() not in _EN_STOP and s in stems_in_response:
            out.append((s, m.start()))
    return out


def _mentions_en(response: str, stem: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _WORD.finditer(response) if _stem(m.group()) == stem]


def polarity_conflicts(criterion: str, response: str) -> list[Conflict]:
    """Terms stated with one polarity in the criterion and the other at every mention in the response."""
    out: list[Conflict] = []
    seen: set[str] = set()
    for term, at in _zh_terms(criterion, response):
        if term in seen:
            continue
        seen.add(term)
        crit_neg = _zh_polarity(criterion, at, at + len(term))
        spans = [(m.start(), m.end()) for m in re.finditer(re.escape(term), response)]
        sides = [_zh_polarity(response, s, e) for s, e in spans]
        if crit_neg is not None and sides and all(x is not None and x != crit_neg for x in sides):
            out.append(Conflict(term, crit_neg))
    for stem, at in _en_terms(criterion, response):
        if stem in seen:
            continue
        seen.add(stem)
        word = _WORD.match(criterion, at)
        end = word.end() if word else at + len(stem)
        crit_neg = _en_polarity(criterion, at, end)
        spans = _mentions_en(response, stem)
        sides = [_en_polarity(response, s, e) for s, e in spans]
        if crit_neg is not None and sides and all(x is not None and x != crit_neg for x in sides):
            out.append(Conflict(stem, crit_neg))
    return out
