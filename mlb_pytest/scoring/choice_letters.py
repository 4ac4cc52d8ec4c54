"""Option letters as a reply writes them: single letters, runs and lists, and what is not one.

A *group* is one mention of a set of letters: "B", "BCE", "(C)", "**B**", "B、D", "A, B and E",
"A项、B项", "['B 红肉', 'C 菠菜']", "A) capacity, B) disclosure" (a letter may be followed by its
own option text before the next one). Capital letters that are words are not groups: the
article "A patient", acronyms ("ACE inhibitors", "ED's"), names ("B超", "维生素C", "E. coli",
"EB病毒" when that is an option's text). Lower-case letters are groups only where the caller
says so (after an answer phrase, or a whole short reply), because "a" and "c" are also words.

Every search here looks at a bounded window past its starting point, so reading all groups of a
reply is linear in its length.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

WINDOW = 48  # how far past a letter a separator, closer or option echo is looked for
ECHO_MAX = 160  # the longest option text skipped as an echo between two letters

_UPPER_RUN = re.compile(r"(?<![A-Za-z0-9])[A-Z]+(?![A-Za-z0-9])")
_LOWER_RUN = re.compile(r"(?<![A-Za-z0-9])[a-z]+(?![A-Za-z0-9])")
_CLOSE_RUN = re.compile(r"[)\]}>】」》*\"'”’_]{0,4}")
_OPEN_RUN = re.compile(r"[(\[{<【「《*\"'“‘_]{0,4}")
# Between two letters of one group. "or"-like joins make the group a hedge, not an answer.
_JOIN = re.compile(
    r"""[ \t]*(?:(?:项|选项)[ \t]*)?
    (?: (?P<hedge>,?[ \t]*\bor\b|或者|或是|或|还是)
      | ,[ \t]*(?:and\b|&)? | 、 | / | & | \+ | \band\b | 以及 | 和 | 与 | 及 )?
    [ \t]*""",
    re.X,
)
_ASIDE = re.compile(
    r"[ \t]*\([^()\n]{1,60}\)(?=[ \t]*(?:,|、|/|&|\+|\band\b|和|与|及|以及)[ \t]*[(\[*]*[A-Z](?![A-Za-z]))"
)
_ECHO_LEAD = re.compile(r"[ \t]*(?:[.:)(\]、\-—–][ \t]*)?")
_QUOTED_ECHO = re.compile(r"[ \t.:、]+[^\"'“”‘’\n]{0,80}?(?=[\"'”’])")

# Context that makes capital letters a word or a name rather than option letters.
_NAME_AFTER = re.compile(r"超|型|族|组|类|级|度|期|区|段|线|细胞|反应蛋白|受体|因子|肝|波|药|病毒|抗原|抗体")
_NAME_BEFORE = (
    "维生素",
    "维他命",
    "vitamin ",
    "vit. ",
    "vit.",
    "type ",
    "hepatitis ",
    "group ",
    "class ",
    "stage ",
    "grade ",
    "lead ",
    "phase ",
    "factor ",
    "protein ",
    "influenza ",
    "plan ",
    "°",
)
_POSSESSIVE = re.compile(r"['’]s\b")
_HYPHENATED = re.compile(r"-[A-Za-z0-9]")
_WORD_AFTER = re.compile(r"[ \t]+([a-z][a-z'’]*)")
_ABBREV_AFTER = re.compile(r"\.[ \t]+[a-z]")
_GLUED_GRAMMAR = frozenset("均都是为项和与及或选正确对错不也才即等外中一二两三四五六")
# Words that may follow an option letter in a sentence about it ("A is wrong", "B and D").
LETTER_VERBS = frozenset(
    "is are was were and or because since as seems appears would could should might must can will "
    "correct right wrong incorrect true false only also then too for in here which that given due "
    "option options choice answer first alone out".split()
)


@dataclass(frozen=True)
class Group:
    """Letters mentioned together, where the mention starts and ends, and how it was written."""

    letters: frozenset[str]
    start: int
    end: int
    hedged: bool = False  # "A or B", "A或C": a hesitation, never an answer
    lower: bool = False
    echoed: int = 0  # letters written with their own option text ("A射干，B白头翁")

    def restates(self, valid: frozenset[str]) -> bool:
        """Every option, each with its text: the option list read back, not an answer."""
        return len(self.letters) >= 3 and self.letters == valid and self.echoed >= len(self.letters)


def _fold(s: str) -> str:
    return s.casefold()


def run_letters(run: str, valid: frozenset[str]) -> frozenset[str] | None:
    """Letters of a run ("B", "ACE") when they can be option letters: distinct and valid."""
    up = run.upper()
    letters = frozenset(up)
    return letters if len(letters) == len(up) and letters <= valid else None


def _starts_option_text(text: str, pos: int, run_end: int, options: Mapping[str, str] | None) -> bool:
    """True when an option's own text starts here ("EB病毒", "B超检查", an option "CEA")."""
    if not options:
        return False
    first = text[pos].casefold()
    for value in options.values():
        v = value.strip()
        if (
            v[:1].casefold() == first
            and len(v) >= max(2, run_end - pos)
            and _fold(text[pos : pos + len(v)]) == _fold(v)
        ):
            return True
    return False


def is_word(text: str, start: int, end: int, options: Mapping[str, str] | None) -> bool:
    """Whether the capital run text[start:end] is a word, an acronym or part of a name."""
    before = text[max(0, start - 12) : start].casefold()
    if before.endswith(_NAME_BEFORE):
        return True
    if _POSSESSIVE.match(text, end) or _HYPHENATED.match(text, end):
        return True
    if start >= 2 and text[start - 1] == "-" and text[start - 2].isalnum():
        return True
    single = end - start == 1
    if (
        not single
        and list(text[start:end]) != sorted(text[start:end])
        and not _alone_on_line(text, start, end)
        and not _CUE_BEFORE.search(text, max(0, start - 12), start)
    ):
        return True  # "ED", "DC": an acronym, unless the line holds nothing else ("BA")
    if single and _NAME_AFTER.match(text, end):
        return True
    if not single and end < len(text) and _is_cjk(text[end]) and text[end] not in _GLUED_GRAMMAR:
        return True
    if (not single or text[start] in "AI") and (w := _WORD_AFTER.match(text, end)) and w.group(1) not in LETTER_VERBS:
        return True
    if single and _ABBREV_AFTER.match(text, end) and not _at_line_start(text, start):
        return True  # "E. coli", "S. aureus"
    return _starts_option_text(text, start, end, options)


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def _alone_on_line(text: str, start: int, end: int) -> bool:
    return _at_line_start(text, start) and _LINE_REST_EMPTY.match(text, end, end + WINDOW) is not None


_CUE_BEFORE = re.compile(r"(?:[:选是为]|答案|\banswer|\bis|\bare)[ \t*(\[【]*$", re.I)
_LINE_REST_EMPTY = re.compile(r"[ \t*)\]】.。!！]*(?:\n|$)")


def _at_line_start(text: str, pos: int) -> bool:
    line_start = text.rfind("\n", max(0, pos - WINDOW), pos) + 1
    if line_start == 0 and pos > WINDOW:
        return False
    return all(c in " \t>#*-+•·[]()0123456789.)、" for c in text[line_start:pos])


def skip_echo(text: str, pos: int, letter: str, options: Mapping[str, str] | None, quoted: bool) -> int:
    """Past the option's own text written right after its letter ("A. 射干", "'B 红肉'"), else ``pos``."""
    if options and letter in options:
        lead = _ECHO_LEAD.match(text, pos, pos + WINDOW)
        at = lead.end() if lead else pos
        value = options[letter].strip()
        if value and len(value) <= ECHO_MAX and _fold(text[at : at + len(value)]) == _fold(value):
            return at + len(value)
    if quoted:
        m = _QUOTED_ECHO.match(text, pos, pos + 96)
        if m:
            return m.end()
    return pos


def read_group(
    text: str, pos: int, valid: frozenset[str], options: Mapping[str, str] | None = None, lower: bool = False
) -> Group | None:
    """The group whose first letter run starts at ``pos`` (wrappers before it already skipped)."""
    run_re = _LOWER_RUN if lower else _UPPER_RUN
    m = run_re.match(text, pos)
    if m is None:
        return None
    letters = run_letters(m.group(), valid)
    if letters is None or (not lower and is_word(text, m.start(), m.end(), options)):
        return None
    found, end, hedged, first_kind = set(letters), m.end(), False, None
    echoed = int(skip_echo(text, end, m.group()[-1].upper(), options, False) > end)
    while True:
        nxt = _next_in_group(text, end, m.group()[-1].upper(), valid, options, lower, run_re)
        if nxt is None:
            break
        run, hedge, kind = nxt
        echoed += int(skip_echo(text, run.end(), run.group()[-1].upper(), options, False) > run.end())
        if first_kind is not None and kind not in (first_kind, "and"):
            break  # "A B C，D、E 不选": a new separator starts a new group
        first_kind = first_kind or kind
        found |= run_letters(run.group(), valid) or set()
        hedged |= hedge
        end = run.end()
        m = run
    return Group(frozenset(found), pos, end, hedged, lower, echoed)


def _join_kind(between: str) -> str:
    """The separator between two letters, by kind: "A, B and C" is one list, "A B C，D" two."""
    s = between.strip(" \t*()[]{}<>【】「」《》\"'“”‘’_项选")
    if not s:
        return "space"
    if any(w in s for w in ("and", "和", "与", "及", "&", "or", "或", "还是")):
        return "and"
    return s[0]


def _next_in_group(
    text: str,
    end: int,
    last: str,
    valid: frozenset[str],
    options: Mapping[str, str] | None,
    lower: bool,
    run_re: re.Pattern[str],
) -> tuple[re.Match[str], bool, str] | None:
    quoted = end >= 2 and text[end - 2] in "\"'“‘"
    after = skip_echo(text, end, last, options, quoted)
    if (aside := _ASIDE.match(text, after, after + ECHO_MAX)) is not None:
        after = aside.end()  # "B（白头翁）、D（穿心莲）", "B (doxycycline) and D"
    close = _CLOSE_RUN.match(text, after, after + 8)
    close_end = close.end() if close else after
    join = _JOIN.match(text, close_end, close_end + WINDOW)
    if join is None or join.end() == after:
        return None
    opening = _OPEN_RUN.match(text, join.end(), join.end() + 8)
    start = opening.end() if opening else join.end()
    if "*" in text[after:close_end] and "*" not in text[join.end() : start]:
        return None  # "选 **B**，A、C适用于…": bold closes the answer
    run = run_re.match(text, start)
    if run is None or run_letters(run.group(), valid) is None:
        return None
    if not lower and is_word(text, run.start(), run.end(), options):
        return None
    if lower and not text[close_end : join.end()].strip() and len(run.group()) > 1:
        return None  # "a bcd": a word, not letters
    if lower and run.end() < len(text) and text[run.end()].isalnum():
        return None  # "a b d e，c不能选": a glued letter starts a new clause
    return run, join.group("hedge") is not None, _join_kind(text[after:start])


def iter_groups(text: str, valid: frozenset[str], options: Mapping[str, str] | None = None) -> Iterator[Group]:
    """Every capital-letter group of the text, in order, skipping words and names."""
    pos = 0
    for m in _UPPER_RUN.finditer(text):
        if m.start() < pos:
            continue
        group = read_group(text, m.start(), valid, options)
        if group is not None:
            pos = group.end
            yield group


def group_after(
    text: str, pos: int, valid: frozenset[str], options: Mapping[str, str] | None = None, allow_lower: bool = False
) -> Group | None:
    """The group that starts at ``pos`` once spaces and wrappers ("**", "(", "【") are skipped."""
    m = _LEAD.match(text, pos, pos + WINDOW)
    start = m.end() if m else pos
    group = read_group(text, start, valid, options)
    if group is None and allow_lower:
        group = read_group(text, start, valid, options, lower=True)
        if group is not None and not _lower_ends_clean(text, group.end):
            return None
    return group


_LEAD = re.compile(r"[ \t]*(?:\n[ \t]*){0,3}[(\[{<【「《*\"'“‘_ \t]*")
_LOWER_END = re.compile(r"[)\]}>】*\"'”’ \t]*(?:$|[\n.。,，;；!！?？、:~～吧哦呀啊呢]|[^\w\s])")


def _lower_ends_clean(text: str, end: int) -> bool:
    """A lower-case group is a letter only when nothing word-like follows ("the answer is a bit")."""
    return _LOWER_END.match(text, end, end + WINDOW) is not None
