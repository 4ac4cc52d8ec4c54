"""Where letters stand in a reply: statements, lists, eliminations (bold and ticks: choice_markdown).

A reply that has no answer phrase still shows its answer by layout: it opens with it ("B。二甲双胍
是…"), ends its reasoning with it ("…So C."), lists the chosen options ("1. A 糖尿病肾病\n2. B …"),
bolds them, ticks them (✅, [x]), or rules out the others ("C错，其余都对"). Each letter mention is
read once with its context (clause start, what follows, negation, the heading it sits under); the
functions here then pick the mentions that commit.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .choice_cues import Negations, Tail, tail
from .choice_letters import WINDOW, Group, group_after, iter_groups, read_group, skip_echo
from .choice_text import norm

_BOUNDARY = frozenset("\n。.!！?？;；:|")
_LEAD_JUNK = re.compile(
    r"""[\s>#*\-+•·_\[\]()✅✔☑❌✗☐️\d.、xX`①-⑩]*(?:[一二三四五六七八九十]{1,2}、[\s*]*)?
    (?:(?:so|thus|hence|therefore|final(?:ly)?|overall|only|both|option|options|answer|所以|故|因此|综上|即|选项|答案|最终
        |剩|→|=>)[\s,:，*]*)?
    [\s*_(\[【"'“]*""",
    re.X | re.I,
)
_BULLET = re.compile(r"[ \t]*(?:[-*•+·]|\d{1,2}[.)、]|\(\d{1,2}\)|\[[ xX]\]|[①-⑩]|[一二三四五六七八九十]{1,2}、)[ \t]*")
_NEG_HEADING = re.compile(
    r"其他|其余|其它|不选|错误|排除|不会|不是|不正确|不属于|不能|不推荐|\bnot\b|\bincorrect\b|\bwrong\b|\bother\b|\bothers\b"
    r"|\bexclude|\bno\b|\bfalse\b|✗|❌|×",
    re.I,
)
NEG_ITEM = re.compile(
    r"错误|不正确|不对(?![称应劲])|不选|排除|不是正确|❌|✗|✘|\bwrong\b|\bincorrect\b|\bnot\s+(?:correct|right|the\s+answer|a|an|part)\b"
    r"|\bfalse\b|\bso\s+no\b|[-—–:][ \t]*(?:no|not)\b(?![ \t]*(?-i:[A-Z])(?![A-Za-z]))",
    re.I,
)
_LABEL_BEFORE = re.compile(r"[-–—→:=][ \t]*$")
_LINE_END = re.compile(r"[ \t*)\].。]*(?:\n|$)")
_ITEM_TEXT = re.compile(
    r"[ \t]+(?!是|为|也|都|均|可|能|会|属于|(?:is|are|was|were|has|have|can|may|might|does|do|seems?|causes?)\b)"
    r"[^\s]",
    re.I,
)
_LETTER_LINE = re.compile(r"[\s>#*_\-+•·\d.)、(]*(?-i:[A-Z])(?![A-Za-z])")  # "**A. …**" is an item, not a heading
_HEADING = re.compile(r"[ \t]*(?:#{1,6}[ \t].*|\*\*[^*\n]+\*\*[ \t]*:?[ \t]*|[^\n]{0,80}:[ \t]*)$")


@dataclass(frozen=True)
class Mention:
    """One letter group with what surrounds it."""

    group: Group
    line: int
    clause_start: bool
    line_start: bool
    tail: Tail
    negated: bool

    @property
    def commits(self) -> bool:
        """Stands as an answer: opens its clause, ends it (or is called correct), not ruled out."""
        return (
            self.clause_start
            and not self.group.hedged
            and not self.negated
            and self.tail in (Tail.END, Tail.POSITIVE, Tail.AFFIRMED)
        )


class Layout:
    """A reply's lines and letter mentions, computed once and shared by the rules below."""

    def __init__(self, text: str, valid: frozenset[str], options: Mapping[str, str] | None) -> None:
        self.text, self.valid, self.options = text, valid, options
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.negative_section = self._sections()
        self.negations = Negations(text)
        self.neg_headings = [m.start() for m in _NEG_HEADING.finditer(text)]
        groups = list(iter_groups(text, valid, options))
        self.restated = any(g.restates(valid) for g in groups)  # "各选项：A射干，B白头翁，…"
        self.mentions = [self._mention(g) for g in groups if not g.restates(valid)]
        self.by_line: dict[int, list[Mention]] = {}
        for m in self.mentions:
            self.by_line.setdefault(m.line, []).append(m)

    # --- lines ---------------------------------------------------------------------------

    def line_of(self, pos: int) -> int:
        return bisect.bisect_right(self.line_starts, pos) - 1

    def line_text(self, index: int) -> str:
        start = self.line_starts[index]
        end = self.line_starts[index + 1] - 1 if index + 1 < len(self.line_starts) else len(self.text)
        return self.text[start:end]

    def _sections(self) -> list[bool]:
        """Per line: whether it sits under a heading that rules options out ("### 其他选项", "Not …:")."""
        out, negative = [], False
        for i in range(len(self.line_starts)):
            line = self.line_text(i)
            if len(line) <= 120 and _HEADING.match(line) and not _LETTER_LINE.match(line):
                negative = _NEG_HEADING.search(line) is not None
            out.append(negative)
        return out

    # --- mentions ------------------------------------------------------------------------

    def _mention(self, g: Group) -> Mention:
        text = self.text
        line = self.line_of(g.start)
        boundary = _boundary_before(text, g.start)
        clause_start = boundary is not None and (
            _LEAD_JUNK.fullmatch(text, boundary + 1, g.start) is not None or self._named_before(boundary + 1, g)
        )
        line_pos = self.line_starts[line]
        line_start = (
            clause_start and g.start - line_pos <= WINDOW and _LEAD_JUNK.fullmatch(text, line_pos, g.start) is not None
        )
        kind = tail(text, g.start, g.end, g.letters, self.options)
        if (
            kind is Tail.PREDICATE
            and line_start
            and _BULLET.match(text, line_pos, g.start + 1)
            and _ITEM_TEXT.match(text, g.end, g.end + WINDOW)
        ):
            kind = Tail.END  # "2. B 视网膜病变——…": an item and its (paraphrased) option text
        negated = (
            kind is Tail.NEGATIVE
            or self.negations.before(g.start)
            or self.negative_section[line]
            or (text[g.start - 2 : g.start] == "~~" and text[g.end : g.end + 2] == "~~")
        )  # struck out
        if clause_start and boundary is not None and boundary >= 0 and text[boundary] == ":":
            negated = negated or self._neg_heading_in(_sentence_start(text, boundary), boundary)
        if clause_start:  # the option's own words ("C. 治疗前排除妊娠") are not a verdict on it
            after = skip_echo(text, g.end, next(iter(g.letters)), self.options, False) if len(g.letters) == 1 else g.end
            negated = negated or NEG_ITEM.search(text, *_item_rest(text, after)) is not None
        return Mention(g, line, clause_start, line_start, kind, negated)

    def _neg_heading_in(self, start: int, end: int) -> bool:
        """ "Incorrect: D, E", "Not part of it: D": the words before the colon rule the letters out."""
        i = bisect.bisect_left(self.neg_headings, start)
        return i < len(self.neg_headings) and self.neg_headings[i] < end

    def _named_before(self, start: int, g: Group) -> bool:
        """ "Doxycycline (B). …", "穿心莲（D）。…": the reply opens with the option's text, then its letter."""
        if start > 0 or not self.options or len(g.letters) != 1 or self.text[g.start - 1 : g.start] != "(":
            return False
        (letter,) = g.letters
        said = norm(_LEAD_JUNK.sub("", self.text[start : g.start - 1], count=1))
        return bool(said) and said == norm(self.options.get(letter, ""))

    def negatives(self) -> frozenset[str]:
        return frozenset(x for m in self.mentions if m.negated and not m.group.hedged for x in m.group.letters)

    # --- rules ---------------------------------------------------------------------------

    def statements(self) -> frozenset[str] | None:
        """The last committed statement (list items on consecutive lines count as one), unless the
        reply opens with its answer and only lists the other options after it."""
        blocks: list[tuple[int, int, set[str]]] = []  # (first line, items, letters)
        last: Mention | None = None
        for m in self.mentions:
            item = m.line_start and m.commits or self._item(m)
            if not (m.commits or item):
                continue
            if item and last is not None and self.adjacent(last.line, m.line) and _same_shape(last, m):
                line, items, letters = blocks[-1]
                blocks[-1] = (line, items + 1, letters | m.group.letters)
            else:
                blocks.append((m.line, 1, set(m.group.letters)))
            last = m if item else None
        if not blocks:
            return self._lower_lead()
        first = blocks[0]
        if (
            first[0] == 0
            and len(blocks) > 1
            and all(items >= 2 and not letters & first[2] for _, items, letters in blocks[1:])
        ):
            return frozenset(first[2])  # "B — doxycycline.\n\nA: misses …\nC: second line."
        return frozenset(blocks[-1][2])

    def _item(self, m: Mention) -> bool:
        """A bullet line naming its option after its text: "- Fever (A)", "1. Fever – A"."""
        if m.negated or m.group.hedged or len(m.group.letters) != 1:
            return False
        text, start, end = self.text, self.line_starts[m.line], m.group.end
        if not _BULLET.match(text, start):
            return False
        wrapped = text[m.group.start - 1 : m.group.start] == "(" and text[end : end + 1] == ")" and m.tail is Tail.END
        return wrapped or (
            _LABEL_BEFORE.search(text, max(start, m.group.start - 4), m.group.start) is not None
            and _LINE_END.match(text, end, end + WINDOW) is not None
        )

    def adjacent(self, a: int, b: int) -> bool:
        """Lines ``a`` and ``b`` belong to one list: next to each other, or one blank line apart
        with the same item marker ("1）A …\n\n2）B …", not "4）E …\n\nD 高热…")."""
        if b == a or b == a + 1:
            return True
        if b != a + 2 or self.line_text(a + 1).strip():
            return False
        marker = _marker(self.line_text(a))
        return bool(marker) and marker == _marker(self.line_text(b))

    def _lower_lead(self) -> frozenset[str] | None:
        """Lower-case letters standing as the answer: the first or last line is just them ("abce",
        "a b d e，c不能选", "a. nitrofurantion", "…\n\nc 😊"), or the reply ends "… (c)"."""
        text = self.text
        last_line = self.line_starts[-1] if len(self.line_starts) > 1 else None
        for start in (0, last_line):
            if start is None:
                continue
            m = _LEAD_JUNK.match(text, start)
            g = read_group(text, m.end() if m else start, self.valid, self.options, lower=True)
            if (
                g
                and not g.hedged
                and (
                    _LOWER_LEAD_END.match(text, g.end, g.end + WINDOW)
                    or tail(text, g.start, g.end, g.letters, self.options) is Tail.POSITIVE
                )
            ):
                return g.letters
        for m in _LOWER_LINE.finditer(text):  # "好的。\n\nc\n\n希望对你有帮助"
            g = read_group(text, m.start(1), self.valid, self.options, lower=True)
            if g and not g.hedged and g.end == m.end(1):
                return g.letters
        end = _LOWER_PAREN_END.search(text, max(0, len(text) - 12))
        if end:
            g = read_group(text, end.start(1), self.valid, self.options, lower=True)
            return g.letters if g else None
        return None

    def list_after(self, line: int) -> frozenset[str] | None:
        """Items listed under a line that ends with an answer phrase ("正确选项：\\n1）A …\\n2）B …")."""
        found: set[str] = set()
        started, last = False, line
        for m in self.mentions:
            if m.line <= line:
                continue
            if not (m.line_start and m.commits):
                if started and m.line_start:
                    break
                continue
            if started and not self.adjacent(last, m.line):
                break
            if not started and any(self.line_text(i).strip() for i in range(line + 1, m.line)):
                break
            found |= m.group.letters
            started, last = True, m.line
        return frozenset(found) or None

    def eliminated(self) -> frozenset[str] | None:
        """ "Everything except D", "除了D都对", "C错，其余都对", "D is not…; the rest …": the complement."""
        for m in _EXCEPT.finditer(self.text):
            g = group_after(self.text, m.end(), self.valid, self.options)
            if g and not g.hedged:
                rest = self.valid - g.letters
                return rest or None
        others = _OTHERS.search(self.text)
        if others:
            before = {
                x
                for m in self.mentions
                if m.group.end <= others.start() and not m.group.hedged
                for x in m.group.letters
            }
            rest = self.valid - before
            return rest if before and rest else None
        return None

    def survivor(self) -> frozenset[str] | None:
        """Every option but one ruled out, and that one named: the one left standing."""
        rest = self.valid - self.negatives()
        if len(rest) != 1:
            return None
        named = any(m.group.letters == rest and not m.negated and not m.group.hedged for m in self.mentions)
        return rest if named else None

    def last_group(self) -> frozenset[str] | None:
        """The last letter group not ruled out or hedged, if it ends its clause ("…should receive D.") or
        is the only one named; letters a reply goes on about ("B for adults, C for children") are
        discussion, not a lucky answer."""
        named = [m for m in self.mentions if not m.negated and not m.group.hedged and m.tail is not Tail.QUESTION]
        if not named:
            return None
        last = named[-1]
        if last.tail in (Tail.END, Tail.POSITIVE) or all(m.group.letters == last.group.letters for m in named):
            return last.group.letters
        return None


def _same_shape(a: Mention, b: Mention) -> bool:
    """Items of one list name one option each, or several each ("A, B, C" then "D: late sign" are two)."""
    return (len(a.group.letters) > 1) == (len(b.group.letters) > 1)


def _marker(line: str) -> str:
    m = _BULLET.match(line)
    return re.sub(r"\d+", "0", m.group().strip()) if m else ""


def _item_rest(text: str, end: int) -> tuple[int, int]:
    """What a list item says about its letter: up to its sentence end or the next option letter
    (and that letter's first characters, so that "— not D" reads as a contrast, not a verdict)."""
    lead = _ITEM_DELIM.match(text, end, end + 8)
    start = lead.end() if lead else end
    stop = _ITEM_END.search(text, start, start + 4 * WINDOW)
    return start, (stop.start() + 2 if stop else start + 4 * WINDOW)


_ITEM_DELIM = re.compile(r"[)\]*]*[ \t]*[.:)、]?")
_ITEM_END = re.compile(r"[。;；\n!！?？]|\.\s|(?<![A-Za-z])[A-Z](?![A-Za-z])")


def _sentence_start(text: str, pos: int) -> int:
    lo = max(0, pos - 2 * WINDOW)
    for i in range(pos - 1, lo - 1, -1):
        if text[i] in _SENTENCE_END:
            return i + 1
    return lo


_SENTENCE_END = frozenset("\n。.!！?？;；")


def _boundary_before(text: str, pos: int) -> int | None:
    """Index of the clause boundary before ``pos`` (-1: the text start), or None when it is far."""
    lo = max(0, pos - WINDOW)
    for i in range(pos - 1, lo - 1, -1):
        if text[i] in _BOUNDARY:
            return i
    return -1 if lo == 0 else None


_LOWER_LEAD_END = re.compile(r"[ \t]*(?:$|[\n.。,，;；!！、:)~吧哦呀啊呢]|[-—–][ \t]|[^\w\s])")
_LOWER_LINE = re.compile(r"^[ \t>*_(\[]*([a-z](?:[ \t]*[,、]?[ \t]*[a-z]){0,7})[ \t)*_\].。!！~]*$", re.M)
_LOWER_PAREN_END = re.compile(r"\(([a-z])\)[ \t.。!！]*$")
_EXCEPT = re.compile(
    r"\b(?:everything|all|all\s+options|all\s+of\s+them|any)\s+(?:else\s+)?(?:except|but)\s+"
    r"|除了?(?=[^。\n]{0,12}(?:以外|之外|外)?[,，]?\s*(?:都|均|其余|其他))",
    re.I,
)
_OTHERS = re.compile(
    r"(?:其余|其他|其它|剩下的|余下的)(?:选项)?(?:[A-Z、,，\s]{0,12})(?:都|均)(?:是|为)?(?:对|正确|选|可|符合|是)"
    r"|\b(?:the\s+rest|everything\s+else|all\s+(?:the\s+)?others|the\s+others|all\s+else)\b"
    r"(?![^.\n]{0,16}\b(?:not|wrong|incorrect|aren't|isn't)\b)",
    re.I,
)
