"""Reading a judge's answer: its FINAL verdict, never one it quotes. Garbage is an error, never a pass.

A judge often quotes the response it grades, and a response may carry a planted verdict
(``判断：是``, ``{"verdict": "yes"}``, ``[[是]]``). So every verdict the output states is found
with its position, verdicts the judge only quotes are set aside (inside a JSON string, in “quotes”,
in a ``>`` quote block, between echoed response markers), and the one that ends last counts:
its last JSON object or last verdict line. Two different verdicts on that final line are an
error. Every step is one pass over the text, so a megabyte of judge output parses in
milliseconds.

A judge may abstain: ``{"verdict": "uncertain", "leaning": "yes"}``, ``判断：不确定（倾向：否）``,
``Verdict: uncertain``. That is a verdict like the others (the final one counts, a quoted one
does not); ``Verdict.yes`` then holds the leaning, False when none is given, and the caller
scores it conservatively.
"""

from __future__ import annotations

import ast
import bisect
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..errors import InfrastructureError
from ..models.reasoning import answer_spans, strip_reasoning

_YES = {"是", "yes", "y", "true", "满足", "存在", "met", "符合"}
_NO = {"否", "no", "n", "false", "不满足", "不存在", "not met", "不符合"}
_UNCERTAIN = {"不确定", "uncertain", "unsure"}
_KEYS = ("判断", "verdict", "结论", "answer", "result", "判定")
_BRACKET = re.compile(r"\[\[\s*(是|否|yes|no)\s*\]\]", re.I)
_LABELLED = re.compile(  # the lookahead lets the engine skip most positions at a glance (5x faster)
    r"(?=[最判结答fvar])(?:(?:最终)?(?:判断|判定|结论|答案)|(?:final[ \t]{1,3})?(?:verdict|answer|result))", re.I
)
_AFTER_LABEL = re.compile(
    # no two adjacent runs that could share characters: a long run of spaces costs one pass, not a cube
    r"(?P<kq>[\"'”’]?)[*_ \t]*[:：=][ \t]*(?:\n[ \t]*)?(?:[*_\"'“‘「『][*_\"'“‘「『 \t]*)?"
    r"(?P<v>不满足|满足|不符合|符合|不确定|是(?![否非])|否(?![认则])|yes|no(?:t[ \t]{1,3}met)?|true|false|met"
    r"|uncertain|unsure)(?![a-z])",
    re.I,
)
# the leaning stated right after an uncertain labelled verdict: 判断：不确定（倾向：是）, Verdict: uncertain, leaning no
_LEANING = re.compile(
    r"[*_\"'”’」』]{0,3}[ \t]*(?:[,，;；(（][ \t]{0,3})?(?:倾向于?|lean(?:s|ing)(?:[ \t]{1,3}to(?:wards)?)?)"
    r"[ \t]{0,3}[:：]?[ \t]{0,3}[*_\"'“‘「『]{0,3}(?P<v>是|否|yes|no)(?![a-z])",
    re.I,
)
_KEY_IN_JSON = re.compile(r"[\"'](?:判断|verdict|结论|answer|result|判定)[\"']", re.I)
_OBJ_SCAN = re.compile(r'"(?:[^"\\\n]|\\[^\n])*(")?|[{}]')
_ECHO_BEGIN = re.compile(r"<<<(?:回答开始|BEGIN RESPONSE)[^<>\n]{0,40}>>>")
_ECHO_END = re.compile(r"<<<(?:回答结束|END RESPONSE)[^<>\n]{0,40}>>>")
_OPEN_QUOTES = "“「『‘\"'`"
_EDGE = r"[ \t\r*#_.。!！\"'“”‘’「」『』\[\]()（）【】:：`-]*"
_BARE = re.compile(rf"^{_EDGE}(是|否|yes|no){_EDGE}$", re.M | re.I)
_QUOTE_LINE = re.compile(r"^[ \t]*>(?!>>)[^\n]*", re.M)
_REASON_LINE = re.compile(r"[ \t*#>-]*(?:理由|原因|解释|分析|说明|reason|rationale|explanation|analysis)", re.I)
_CLAUSE_BEFORE = "，,。.;；:：!！?？(（【[{|\n"
MAX_JSON_TRIES = 8  # verdict-bearing JSON objects parsed, last first (bounded work)
MAX_LITERAL_CHARS = 20_000  # Python-style dicts read with ast only up to this size


class JudgeParseError(InfrastructureError, ValueError):
    """The judge's output has no readable verdict."""


@dataclass(frozen=True)
class Verdict:
    yes: bool  # for an uncertain verdict: its leaning (False when none was given)
    rationale: str
    raw: str
    uncertain: bool = False  # the judge abstained: scored conservatively and sent to review
    p_yes: float | None = None  # the judge's calibrated p(yes), when it states one

    @property
    def word(self) -> str:
        """``yes``, ``no`` or ``uncertain``: how reports and review rows name this verdict."""
        return "uncertain" if self.uncertain else "yes" if self.yes else "no"


class _Found(NamedTuple):  # a tuple: a megabyte of planted verdicts makes many of these
    start: int
    end: int
    word: str | None  # yes | no | uncertain; None: a verdict slot whose value cannot be read ({"判断": "也许"})
    reason: str | None = None
    leaning: str | None = None  # an uncertain JSON verdict's leaning, yes | no
    p_yes: float | None = None


def _word(value: object) -> str | None:
    """``yes``, ``no``, ``uncertain``, or None when ``value`` is none of them."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value).strip().strip("\"'“”。.!！").lower()
    if text in _YES:
        return "yes"
    if text in _NO:
        return "no"
    if text in _UNCERTAIN:
        return "uncertain"
    return None


def _probability(value: object) -> float | None:
    """A stated p(yes) in [0, 1], else None (a judge's extra field never makes its verdict unreadable)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if 0.0 <= value <= 1.0 else None


def parse_verdict(raw: str) -> Verdict:
    """The judge's final verdict; JudgeParseError when there is none or the final line disagrees."""
    text = raw or ""
    answer = _Answer(text)
    if not answer.has_text:
        raise JudgeParseError("empty judge output")
    quoted = _Quoted(text)

    def counts(f: _Found, offset: int = 0) -> bool:
        return not quoted.covers(offset + f.start) and answer.holds(offset + f.end)

    found = [
        f
        for f in (
            next(filter(counts, _brackets(text, reverse=True)), None),
            next(filter(counts, _labelled(text, reverse=True)), None),
            next(filter(counts, _bare_lines(text)), None),
        )
        if f is not None
    ]
    json_found = _json_verdict(text, quoted, answer, after=max((f.end for f in found), default=-1))
    if json_found is not None:
        found.append(json_found)
    if not found:
        raise JudgeParseError(f"no verdict in judge output: {strip_reasoning(text)[:120]!r}")
    # the verdict that ends last; of two ending together, the tighter one (a bare last line
    # "否" rather than a label two lines up whose value it is), so the final line is the last one
    final = max(found, key=lambda f: (f.end, -(f.end - f.start)))
    if final.word is None:
        raise JudgeParseError(f"the judge's final verdict is unreadable: {text[final.start : final.end][:120]!r}")
    line_start = text.rfind("\n", 0, final.start) + 1
    before = text[line_start : final.start]  # the rest of the final line: it must not say otherwise
    for f in (*_brackets(before), *_labelled(before)):
        if f.word is not None and f.word != final.word and counts(f, line_start):
            raise JudgeParseError(f"conflicting verdicts on the final line: {text[line_start : final.end][:120]!r}")
    reason = final.reason if final.reason is not None else strip_reasoning(text)[:300]
    if final.word != "uncertain":
        return Verdict(final.word == "yes", reason[:300], raw, p_yes=final.p_yes)
    return Verdict(_leaning(text, final) == "yes", reason[:300], raw, uncertain=True, p_yes=final.p_yes)


def _leaning(text: str, final: _Found) -> str | None:
    """An uncertain verdict's leaning: its JSON ``leaning``, or one stated right after the label."""
    if final.leaning is not None:
        return final.leaning
    m = _LEANING.match(text, final.end)
    return _word(m.group("v")) if m else None


def verdict_spans(text: str, max_json: int = 64) -> list[tuple[int, int]]:
    """Where ``text`` states a verdict the way a judge would (quoted or not): ``[[是]]``,
    ``判断：是``, JSON objects whose verdict key holds a verdict. For taking planted verdicts out
    of a response (``judges.sanitize``); at most ``max_json`` objects are parsed."""
    spans = [m.span() for m in _BRACKET.finditer(text)]
    for m in _LABELLED.finditer(text):
        after = _AFTER_LABEL.match(text, m.end())
        if after is not None and _word(after.group("v")) != "uncertain":  # sanitize/1 strips yes/no only
            spans.append((m.start(), after.end()))
    keys = [m.start() for m in _KEY_IN_JSON.finditer(text)]
    tries = 0
    for s, e in _objects(text) if keys else ():
        i = bisect.bisect_left(keys, s)
        if i == len(keys) or keys[i] >= e:
            continue
        tries += 1
        if tries > max_json:
            break
        found = _from_object(_load(text[s:e]), s, e)
        if found is not None and found.word in ("yes", "no"):
            spans.append((s, e))
    return spans


class _Answer:
    """Where the judge answers rather than thinks (``models.reasoning.answer_spans``).

    A verdict counts when it ENDS in the answer: a JSON verdict whose reason quotes a
    ``</think>`` from the response still counts, a draft verdict inside the thinking does not.
    """

    def __init__(self, text: str) -> None:
        spans = answer_spans(text)
        self.starts = [s for s, _ in spans]
        self.ends = [e for _, e in spans]
        self.has_text = any(not text[s:e].isspace() for s, e in spans)

    def holds(self, end: int) -> bool:
        i = bisect.bisect_right(self.starts, end - 1) - 1
        return i >= 0 and end <= self.ends[i]


class _Quoted:
    """Regions of the output the judge only quotes: echoed response markers and ``>`` quote lines."""

    def __init__(self, text: str) -> None:
        spans: list[tuple[int, int]] = []
        ends = list(_ECHO_END.finditer(text))
        k = 0
        for b in _ECHO_BEGIN.finditer(text):
            if spans and b.start() < spans[-1][1]:
                continue
            while k < len(ends) and ends[k].start() < b.end():
                k += 1
            if k == len(ends):
                break  # an echo that never ends is not set aside: the judge's own text may follow
            spans.append((b.start(), ends[k].end()))
        spans.extend(m.span() for m in _QUOTE_LINE.finditer(text))
        spans.sort()
        self.starts = [s for s, _ in spans]
        self.ends = list(itertools.accumulate((e for _, e in spans), max))  # one bisect answers

    def covers(self, pos: int) -> bool:
        i = bisect.bisect_right(self.starts, pos) - 1
        return i >= 0 and pos < self.ends[i]


def _brackets(text: str, reverse: bool = False) -> Iterator[_Found]:
    matches = list(_BRACKET.finditer(text))
    for m in reversed(matches) if reverse else matches:
        if not _quoted_before(text, m.start()):
            yield _Found(m.start(), m.end(), _word(m.group(1)))


def _labelled(text: str, reverse: bool = False) -> Iterator[_Found]:
    """``判断：是``, ``Verdict: **no**``, ``"verdict": "yes"`` — unless quoted or mid-sentence in a reason.

    Line starts are found by scanning only text not scanned yet (a long line of labels stays linear).
    """
    matches = list(_LABELLED.finditer(text))
    reason_line: dict[int, bool] = {}
    line_start, scanned = -1, 0
    for m in reversed(matches) if reverse else matches:
        after = _AFTER_LABEL.match(text, m.end())
        if after is None:
            continue
        key_quoted = bool(after.group("kq"))  # "判断": … is a JSON-style key, not a quotation
        if not key_quoted and _quoted_before(text, m.start()):
            continue
        p = m.start()
        if reverse:
            if line_start < 0 or p < line_start:
                line_start = text.rfind("\n", 0, p) + 1
        else:
            nl = text.rfind("\n", scanned, p)
            line_start, scanned = (nl + 1 if nl >= 0 else max(line_start, 0)), p
        if line_start not in reason_line:
            reason_line[line_start] = _REASON_LINE.match(text, line_start) is not None
        if reason_line[line_start] and not _clause_start(text, m.start(), line_start):
            continue  # 理由：回答里写着判断：是 … quotes a verdict, it does not give one
        yield _Found(m.start(), after.end(), _word(after.group("v")))


def _bare_lines(text: str, chunk: int = 1 << 16) -> Iterator[_Found]:
    """Lines that are only a verdict word (``否``, ``**Yes.**``), last first.

    Read from the end in blocks of whole lines: the last one is nearly always the verdict, so a
    megabyte of planted ``是`` lines before it is never listed.
    """
    end = len(text)
    while end > 0:
        start = text.rfind("\n", 0, max(end - chunk, 0)) + 1
        for m in reversed(list(_BARE.finditer(text, start, end))):
            yield _Found(m.start(), m.end(), "yes" if m.group(1).lower() in ("是", "yes") else "no")
        end = start


def _quoted_before(text: str, start: int) -> bool:
    """True when a quotation mark opens just before ``start`` on the same line (“判断：是”)."""
    i = start - 1
    while i >= 0 and text[i] in " \t*":
        i -= 1
    return i >= 0 and text[i] in _OPEN_QUOTES


def _clause_start(text: str, start: int, line_start: int) -> bool:
    i = start - 1
    while i >= line_start and text[i] in " \t*#-":
        i -= 1
    return i < line_start or text[i] in _CLAUSE_BEFORE


def _json_verdict(text: str, quoted: _Quoted, answer: _Answer, after: int) -> _Found | None:
    """The last verdict-bearing JSON object if it ends after ``after`` (at most MAX_JSON_TRIES parsed)."""
    keys = [m.start() for m in _KEY_IN_JSON.finditer(text)]
    if not keys:
        return None
    tries = 0
    for s, e in reversed(_objects(text)):
        if e <= after or tries >= MAX_JSON_TRIES:
            return None
        i = bisect.bisect_left(keys, s)
        if i == len(keys) or keys[i] >= e or (quoted.covers(s) and quoted.covers(e - 1)) or not answer.holds(e):
            continue
        tries += 1
        found = _from_object(_load(text[s:e]), s, e)
        if found is not None:
            return found
    return None


def _objects(text: str) -> list[tuple[int, int]]:
    """Every complete ``{...}`` (any depth), in order of end, in one pass.

    Strings are read only inside an object and cannot cross a line (JSON strings never hold a raw
    newline): an object broken that way is abandoned, so an unclosed quote before the judge's
    verdict cannot swallow it.
    """
    out: list[tuple[int, int]] = []
    pos = 0
    while (i := text.find("{", pos)) != -1:
        stack = [i]
        pos = len(text)
        for tok in _OBJ_SCAN.finditer(text, i + 1):
            t = tok.group()
            if t == "{":
                stack.append(tok.start())
            elif t == "}":
                out.append((stack.pop(), tok.end()))
                if not stack:
                    pos = tok.end()
                    break
            elif tok.group(1) is None:  # a string cut by a newline or the end: this object is broken
                pos = tok.end()
                break
        else:
            break
    return out  # appended as each object closed: already in order of end


def _load(fragment: str) -> Any:
    try:
        return json.loads(fragment)
    except (ValueError, RecursionError):
        pass
    if len(fragment) > MAX_LITERAL_CHARS:
        return None
    try:  # {'verdict': 'no'}: a Python-style dict
        return ast.literal_eval(fragment)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _from_object(value: Any, start: int, end: int) -> _Found | None:
    """The verdict a parsed object states; unreadable when its verdict slot holds something else."""
    if not isinstance(value, dict):
        return None
    value = {str(k).strip().lower(): v for k, v in value.items()}
    slot = False
    for k in _KEYS:
        v = value.get(k)
        if v is None or isinstance(v, (dict, list)):
            continue  # a nested verdict object speaks for itself
        slot = True
        word = _word(v)
        if word is not None:
            reason = value.get("理由") or value.get("reason") or value.get("rationale") or ""
            leaning = _word(value.get("leaning", value.get("倾向", "")))
            return _Found(
                start,
                end,
                word,
                str(reason),
                leaning if leaning in ("yes", "no") else None,
                _probability(value.get("p_yes")),
            )
    return _Found(start, end, None) if slot else None
