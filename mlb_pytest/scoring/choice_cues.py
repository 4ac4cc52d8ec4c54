"""The words around option letters that say whether the reply commits to them.

Answer phrases ("答案是", "the answer is", "改为", "Final:"), what follows a letter ("A正确", "C is
wrong", "B?"), negation before it ("不选A", "not D"), retraction ("我原本选A"), and replies that
decline to answer at all. All patterns are anchored or searched in short windows, so every use
is linear in the reply's length.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping
from enum import Enum

from .choice_letters import WINDOW, skip_echo

# Strong phrases commit to what follows them unless it is negated; weak ones ("so", "所以",
# "→", "only", "option") only when the letters end their clause or are called correct.
_STRONG = r"""
    (?:正确|最终|最佳|标准|参考|最后|本题)?的?答案
  | 正确的?(?:选项|选择|答案|是)
  | (?<![不未勿别非误若如没])(?:选择|选了|选定|选)(?![项择手修购用取材题])
  | 改选|改为|改成|更正(?:为|一下)?|修正为|修改(?:答案)?为|换成|最终(?:选择|结论|确定)?|结论
  | \b(?:revised?|changed?|changing|switch(?:ed|ing)?)(?:\s+(?:my\s+)?answer)?\s+to\b
  | 输出(?=\s*:)
  | \b(?:(?:correct|right|best|final|true|my|the)\s+)?answers?\b
  | \b(?:correct|right|best|final|selected|chosen)\s+(?:options?|choices?|selections?|ones?)\b
  | \b(?:correct|selected|final|picks?|ans|right|true)\b(?=[*\s]*:)
  | \bfinal\b
  | \b(?:i|we)(?:\s+(?:would|will|must|should|now)|'d|'ll)?\s+(?:choose|chose|select|pick|go\s+with|say|answer|opt\s+for)\b
  | (?<!not\s)(?<!n't\s)(?<!never\s)\b(?:choose|select|pick)\b
  | \bgo(?:ing)?\s+with\b
  | (?P<revision>\bcorrection\b | \bactually\b | \bwait\b | \bon\s+second\s+thought\b | \bscratch\s+that\b
      | (?<![A-Za-z)）])(?:不对|等等|等一下|再想想|重新考虑|不，))
"""
_WEAK = r"""
    所以|因此|故|综上所述?|总之|可见|应该是|应该为|应该选|应当是|应为|应是|应选|就是|只能是|只有|只选
  | 剩下?的?(?:只有|就是|是)?|选项|→|=>|->|⇒
  | \b(?:so|thus|hence|therefore|ergo|overall|leaves|leaving|only|it's|that's|must\s+be|has\s+to\s+be|options?)\b
  | (?P<copula>\bit\s+is\b | \bthat\s+is\b | \bwhich\s+is\b | \b(?:is|are)\b | (?<![不也就还只])是)
"""
_FILLER = r"""
    (?:[ \t]*(?:应该是|应该为|应该选|应该|应当是|应当|应为|应是|应选|应|就是|即为|即|为|是|选择|选|选项|项|的是|改为|如下
      | \b(?:is|are|was|were|would\s+be|should\s+be|will\s+be|must\s+be|be|now|probably|likely|definitely|clearly
            |simply|option|options|choice|choices|answer|the|letter)\b
      | [:=*"'“”‘’\-—–>#_→,，]))*
"""
CUE = re.compile(rf"(?:(?P<strong>{_STRONG})|(?P<weak>{_WEAK})){_FILLER}", re.X | re.I)

_RETRACTED = re.compile(
    r"(?:原本|本来|起初|最初|一开始|开始时|原先|先前|之前|第一反应|\bfirst\b|\binitially\b|\boriginally\b|\bat\s+first\b"
    r"|\binstinct\b|\bpreviously\b|\bearlier\b)[^。.!?！？\n]{0,8}$",
    re.I,
)
_NEG_WORD = re.compile(
    r"(?:不(?:应该?|会|能|要)?选|别选|不是|并非|而非|而不是|非|排除|除了|除|去掉|删去|不考虑|不包括|\bnot|n't|\bnever|\bexcept|\bexcluding"
    r"|\bexclude|\bremoving|\bremove|\bdropping|\bdrop|\brule\s+out|\bruling\s+out|\bother\s+than|\brather\s+than"
    r"|\binstead\s+of|\bwithout)",
    re.I,
)
_NEG_GAP = re.compile(r"[ \t]*(?:选项|option)?[ \t]*[(\[*\"'“【]*", re.I)


class Negations:
    """Where negating words end in a text ("不选", "not", "排除"), found in one pass, so that each
    letter can ask in O(log n) whether one stands right before it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.ends = [m.end() for m in _NEG_WORD.finditer(text)]

    def before(self, start: int) -> bool:
        """ "不选A", "not D", "排除C", "except B": the letters at ``start`` are ruled out."""
        i = bisect.bisect_right(self.ends, start) - 1
        if i < 0 or start - self.ends[i] > 12:
            return False
        gap = _NEG_GAP.match(self.text, self.ends[i], start)
        return gap is not None and gap.end() == start


class Tail(Enum):
    """What follows a group of letters."""

    POSITIVE = "positive"  # "A正确", "B is correct", "C ✅"
    AFFIRMED = "affirmed"  # "A、B、D均能降低死亡率": true of the letters, a verdict only where they open the clause
    NEGATIVE = "negative"  # "A错误", "D is wrong", "C — no", "E×"
    QUESTION = "question"  # "B?", "答案是A吗？"
    END = "end"  # the clause ends: "B。", "B — epinephrine", "B (IM)", "B!!"
    PREDICATE = "predicate"  # a sentence goes on about the letter: "B is a maternal parameter"


_CLOSERS = re.compile(r"[)\]}>】」》*\"'”’_]*")
_POSITIVE = re.compile(
    r"""[ \t]*(?:项|选项)?[ \t]*(?:均|都|也|亦)?[ \t]*(?:是|为|才是)?[ \t]*
    (?:正确(?![地与吗否描反理使认处])|对(?![于比照应待])|符合|✅|✓|√|✔|☑
      | (?:is|are)[ \t]+(?:the[ \t]+)?(?:correct|right|true|best|answer)\b
      | (?:seems?|looks?|sounds?)[ \t]+(?:right|correct|best|most[ \t]+likely|good)\b
      | (?:would[ \t]+be|is)[ \t]+(?:my|the)[ \t]+(?:choice|answer|pick)\b
      | (?:[-—–:][ \t]*)?(?:correct|right|true|yes)\b)""",
    re.X | re.I,
)
# A negation followed by another letter contrasts ("B, not D", "D，不是A"): it rules that one out.
_NOT_CONTRAST = r"(?![ \t]*(?:是|选|要|选项|option\s+|the\s+)?[ \t]*[(\[*]*(?-i:[A-Z]+)(?![A-Za-z]))"
_NEGATIVE = re.compile(
    rf"""[ \t]*(?:项|选项)?[ \t]*(?:均|都|也|亦|则|更|显然|肯定|同样|当然|明显)?[ \t]*
    (?:不(?!仅|但|只){_NOT_CONTRAST}|错|非{_NOT_CONTRAST}|没|无(?!论)|排除|❌|✗|✘|×|⛔
      | (?:[-—–:,][ \t]*)?(?:(?:is|are|was|were|would\s+be|seems?|also)[ \t]+)?(?:definitely[ \t]+|clearly[ \t]+)?
        (?:not|never|no|wrong|incorrect|false|out|excluded|unlikely|inappropriate|isn't|aren't|doesn't|don't
          |can't|won't|wasn't|a\s+trap|a\s+distractor)\b{_NOT_CONTRAST}
      | [ \t]*(?:\.{{2,3}}|…+|[,，])[ \t]*(?:no\b|nope\b|wait\b|不对(?![称应劲])|不是|不){_NOT_CONTRAST}
      | [ \t]*[.。][ \t]*(?:no|wait)\b[ \t]*[,.!—–-])""",
    re.X | re.I,
)
_DELIMITED = re.compile(r"(?:[.。:)][ \t\n]|[.。]$|[ \t]*[-—–]+[ \t])")
_AFFIRMED = re.compile(r"[ \t]*(?:项|选项)?[ \t]*[均都](?:能|可|可以|属于|是|为|会)(?!不|错|非|无|没)")
_ITEM_WORD = re.compile(r"(?:项|选项)(?=[^\w]|$)")
_ADVERB = re.compile(r"[ \t]+(?:first|then|now|here|again|instead|too|also|for\s+sure|definitely|obviously)\b", re.I)
_PAREN = re.compile(r"[ \t]*\([^()\n]{0,80}\)")
_QUESTION = re.compile(r"[^.。!！?？\n,，;；(]{0,24}[?？]")
_END = re.compile(r"[ \t]*(?:$|[\n.。!！;；,，、:~]|[-—–]|\(|\||[^\w\s])")


def tail(text: str, start: int, end: int, letters: frozenset[str], options: Mapping[str, str] | None) -> Tail:
    """How the sentence goes on after the group text[start:end]."""
    if text[end : end + 1] == ")" and text[start - 1 : start] != "(" and _DELIMITED.match(text, end, end + 8):
        return Tail.END  # "A) heavy proteinuria": the bracket marks an item, it closes nothing
    pos = _CLOSERS.match(text, end, end + 8).end()  # type: ignore[union-attr]
    if _DELIMITED.match(text, pos, pos + 8):
        return Tail.END  # "A. Phenytoin classically…", "C — 4 mg daily", "A) heavy proteinuria"
    if (word := _ITEM_WORD.match(text, pos, pos + 4)) is not None:
        pos = word.end()  # "B项", "(B)选项"
    if _ADVERB.match(text, pos, pos + WINDOW):
        return Tail.END  # "So B first."
    if len(letters) == 1:
        pos = skip_echo(text, pos, next(iter(letters)), options, text[start - 1 : start] in "\"'“‘")
        pos = _CLOSERS.match(text, pos, pos + 8).end()  # type: ignore[union-attr]
    limit = pos + WINDOW
    if _POSITIVE.match(text, pos, limit):
        return Tail.POSITIVE
    if _NEGATIVE.match(text, pos, limit):
        return Tail.NEGATIVE
    if _AFFIRMED.match(text, pos, limit):
        return Tail.AFFIRMED
    if ("?" in text[pos:limit] or "？" in text[pos:limit]) and _QUESTION.match(text, pos, limit):
        return Tail.QUESTION
    paren = _PAREN.match(text, pos, limit + 80)
    if paren:
        after = paren.end()
        if _NEGATIVE.match(text, after, after + WINDOW):
            return Tail.NEGATIVE
        if _END.match(text, after, after + WINDOW):
            return Tail.END
        return Tail.PREDICATE
    return Tail.END if _END.match(text, pos, limit) else Tail.PREDICATE


_NEGATED_CUE = re.compile(r"(?:不|没|未|别|勿|非)(?:应该?|会|能|要|可以|用)?$|\b(?:not|never)\s+(?:to\s+)?$", re.I)


def negated_cue(text: str, cue_start: int) -> bool:
    """ "不应选A", "我不会选A": the phrase itself is negated."""
    return _NEGATED_CUE.search(text, max(0, cue_start - 4), cue_start) is not None


def retracted(text: str, cue_start: int) -> bool:
    """ "我原本选A", "My first instinct was to choose A": an answer given up later."""
    return _RETRACTED.search(text, max(0, cue_start - 24), cue_start) is not None


# Saying it will not or cannot choose: no answer may be read from the letters it discusses.
_CANNOT_CHOOSE = re.compile(
    r"""无法(?:确定|判断|回答|作答|给出|选择|单凭|仅凭)|我(?:无法|不能|没法)[^。，,\n]{0,16}(?:给出|选择|作答|回答)|不能(?:确定|给出|判断|回答|单凭|仅凭)|没法(?:确定|给出|选|判断|回答)
      | 不好(?:给出|确定|判断)|难以(?:确定|判断|选择)|存在争议|选项设置有问题|需要更多信息|信息不足
      | \bcan(?:no|')t\s+(?:determine|answer|pick|choose|select|decide|tell\b|give\s+a\s+(?:single|definitive))
      | \b(?:if|when)\b[^.\n]{0,60}\b(?:otherwise|else)\b|如果[^。\n]{0,30}(?:否则|不然)
      | \b(?:would|will)\s+need\s+to\s+know\b
      | \bunable\s+to\s+(?:determine|answer|choose|pick|select|decide)
      | \bnot\s+able\s+to\s+(?:determine|answer|choose|pick|select|decide|give\s+a\s+definitive)
      | \bimpossible\s+to\s+(?:say|tell|determine|know)
      | \b(?:not|isn't|is\s+not)\s+enough\s+(?:information|data|detail)|\binsufficient\s+information\b
      | \bwithout\s+(?:those|these|more|further|additional)\s+(?:details|information|data)
      | \bnone\s+of\s+the\s+(?:listed\s+)?(?:options|above|choices|answers)
      | \bno\s+(?:single|definitive)\s+(?:answer|selection|choice)|\bdefinitive\s+(?:answer|list|selection)
      | \b(?:hard|difficult)\s+to\s+(?:say|tell)|不好说|很难说|都有可能|均有可能|各有道理|都有道理|也可能(?:是|为|选)|\b(?:could|might)\s+be\s+either\b|题目(?:有误|有问题|不严谨)
      | \b(?:question|item|stem)\s+is\s+(?:flawed|ambiguous|unclear|poorly\s+written)
      | \bboth\b[^.\n]{0,30}\b(?:plausible|possible|defensible|reasonable|acceptable)\b""",
    re.X | re.I,
)
# Declining to advise at all: only the weakest evidence (a last letter, an option's text) is then
# ignored. A courtesy referral ("如有疑问请咨询医生", "please consult a doctor") is not a refusal.
_DECLINES_ADVICE = re.compile(
    r"""不能(?:提供|替代)|无法(?:提供|替代)|抱歉|我是一个AI|不确定|取决于
      | \bcan(?:no|')t\s+(?:give|provide|recommend|help|be\s+sure)|\bunable\s+to\b|\bnot\s+able\s+to\b
      | \bi'?m\s+not\s+(?:a\s+(?:doctor|lawyer|physician)|sure|certain)
      | \bi'?d\s+(?:recommend|avoid|want\s+to\s+know)|\b(?:it\s+)?depends\s+on\b|\bit\s+depends\b""",
    re.X | re.I,
)


def cannot_choose(text: str, options: Mapping[str, str] | None) -> bool:
    """The reply says it cannot pick ("无法确定", "I can't pick one", "none of the options")."""
    return _says(_CANNOT_CHOOSE, text, options)


def declines(text: str, options: Mapping[str, str] | None) -> bool:
    """The reply cannot pick, or declines to advise and refers the reader elsewhere."""
    return cannot_choose(text, options) or _says(_DECLINES_ADVICE, text, options)


def _says(pattern: re.Pattern[str], text: str, options: Mapping[str, str] | None) -> bool:
    """Whether the phrase occurs outside the options' own text ("None of the above" may be an option)."""
    folded = [v.casefold() for v in options.values()] if options else []
    return any(not any(m.group().casefold() in v for v in folded) for m in pattern.finditer(text))
