"""Finding the option letters a free-form reply commits to, in Chinese or English.

Models are told to answer "B" or "B,C" but reason first, answer first and discuss after, change
their mind, format with Markdown, name the option by its text, or decline. Evidence is tried from
the most explicit to the weakest, and the first rule that finds a committed answer decides:

1. ``json``: an ``answer`` (or ``choice``, ``correct``, ``答案``…) field.
2. ``answer phrase``: the *last* answer phrase that is not negated or retracted ("答案为C",
   "The answer is (C)", "改为B", "Actually, C", "Final: A, B, C, E", "所以选 **B**", "→ B"), so a
   stated change of mind wins; what follows may be letters, a list on the next lines, or the
   option's text. A later "wait", "不对" that names nothing withdraws it.

A reply that says it cannot choose ("无法确定", "I can't pick one", "none of the options", "A和C
都有道理") stops here with no answer: the rules below would turn the letters it discusses into a
lucky guess. (So do weak phrases such as "so B" inside such a reply.)

3. ``verdict``: options called correct ("A、B、C均正确", "B is correct").
4. ``marks``: rows or items ticked ✅ / ✔ / [x].
5. ``bold``: the first bold option (and bold options listed right under it); later plain
   mentions are discussion.
6. ``elimination``: "Everything except D", "C错，其余都对".
7. ``statement``: the last clause that *is* an answer (the reply opens with "B。…", ends with
   "…So C.", or lists "1. A …\n2. B …"), not a letter inside a sentence about it; an answer on
   the first line stays when only a list of the other options follows.
8. ``survivor``: all options but one ruled out, and that one named.

A reply that declines to advise ("抱歉，我不能提供…", "I can't recommend…") stops here too.

9. ``letters``: the last letter group not ruled out, when it ends its clause or is the only one.
10. ``ordinal`` ("第三项") and ``option text``, only for replies that write no letters: the
    option's own text ("EB病毒"), a list of them, or a paraphrase ("副肾素" for "肾上腺素", "high
    blood sugar" for "Hyperglycemia"; ``choice_paraphrase``), with negated mentions ("不是X", "not
    X") cut out first, and the first sentence alone when the reply opens with its answer and then
    discusses the others. Replies that discuss several options without choosing give none.

What no rule reads is left unparseable (score 0) for the model fallback (``extractor_prompt``).
Everything is linear in the reply's length (bounded windows, no nested unbounded repetition).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..schema import LETTERS, Item
from .base import Score, pass_of, strip_think
from .choice_cues import CUE, Tail, cannot_choose, declines, negated_cue, retracted, tail
from .choice_layout import Layout
from .choice_letters import group_after, read_group
from .choice_markdown import bold, marked
from .choice_text import lead_choice, norm, ordinal_choice, text_choice
from .jsonparse import parse_json_answer

_ALL_LETTERS = frozenset(LETTERS)
_ANSWER_KEYS = frozenset(
    "answer answers final_answer finalanswer choice choices option options selected selection correct "
    "correct_answer correct_answers correct_options correct_choices 答案 正确答案 最终答案 选项 正确选项 选择".split()
)
_CLAUSE_END = re.compile(r"[。.!！?？;；\n]")
_TRAILING_PAREN = re.compile(r"\(([A-Z])\)[ \t*]*$")
_INLINE_ITEM = re.compile(r"(?:[,;、]|\band\b)[ \t]*\(?([A-Z])[).:](?=[ \t])")
_REST_OF_LINE_EMPTY = re.compile(r"[ \t*_:#]*(?:\n|$)")
_BULLET_BEFORE = re.compile(r"(?:^|\n)[ \t]*(?:[-*•+·]|\d{1,2}[.)、])[ \t]*$")
_PARENTHETICAL = re.compile(r"\([^()]*\)")
CLAUSE_MAX = 160


def extract_choices(response: str, options: Mapping[str, str] | None) -> tuple[str, ...] | None:
    """Sorted option letters the response commits to, or None when it commits to none."""
    return _extract(response, options)[0]


@dataclass
class Reply:
    """One reply under extraction: its normalised text and the options it answers."""

    text: str
    options: Mapping[str, str] | None
    valid: frozenset[str]
    cannot_choose: bool = False  # says it cannot pick: only explicit answer phrases count

    @cached_property
    def layout(self) -> Layout:
        return Layout(self.text, self.valid, self.options)


Rule = Callable[[Reply], "frozenset[str] | None"]


def _extract(response: str, options: Mapping[str, str] | None) -> tuple[tuple[str, ...] | None, str]:
    if not response or not str(response).strip():
        return None, "empty"
    text = unicodedata.normalize("NFKC", strip_think(str(response))).strip()
    if options:  # compared with the normalised reply, so normalised alike ("，" is ",")
        options = {k: unicodedata.normalize("NFKC", str(v)) for k, v in options.items()}
    reply = Reply(text, options, frozenset(options) if options else _ALL_LETTERS)
    reply.cannot_choose = cannot_choose(text, options)
    for stops, rules in _STAGES:
        if stops is not None and stops(reply):
            return None, "declined"
        for name, rule in rules:
            found = rule(reply)
            if found:
                return tuple(sorted(found)), name
    return None, "none"


# --- 1. JSON ------------------------------------------------------------------------------------


def _json(r: Reply) -> frozenset[str] | None:
    if "{" not in r.text:
        return None
    value, _ = parse_json_answer(r.text)
    if not isinstance(value, dict):
        return None
    for key, val in value.items():
        if str(key).strip().lower() in _ANSWER_KEYS:
            return _json_value(val, r)
    return None


def _json_value(val: Any, r: Reply) -> frozenset[str] | None:
    letters: set[str] = set()
    for part in val if isinstance(val, list) else [val]:
        if not isinstance(part, str):
            return None
        part = unicodedata.normalize("NFKC", part).strip()
        g = group_after(part, 0, r.valid, r.options)
        if g is not None and not g.hedged:
            letters |= g.letters
        elif r.options and (mapped := text_choice(part, r.options, fuzzy=False)):
            letters.update(mapped)
        else:
            return None
    return frozenset(letters) or None


# --- 2. answer phrases --------------------------------------------------------------------------


def _answer_phrases(r: Reply) -> frozenset[str] | None:
    """Letters after the last answer phrase that commits to something (a later "wait", "不对"
    that names nothing withdraws it)."""
    best: frozenset[str] | None = None
    for cue in CUE.finditer(r.text):
        if retracted(r.text, cue.start()) or negated_cue(r.text, cue.start()):
            continue
        found = _after_cue(r, cue)
        if found:
            best = found
        elif cue.group("revision") is not None:
            best = None  # "I'll say A. Wait, no: …": what came before is withdrawn; later rules decide
    return best


def _after_cue(r: Reply, cue: re.Match[str]) -> frozenset[str] | None:
    text, strong = r.text, cue.group("strong") is not None
    if not strong and (r.cannot_choose or _BULLET_BEFORE.search(text, max(0, cue.start() - 8), cue.start())):
        return None  # "• Option A – fever": an item of a list, read with the list
    if _REST_OF_LINE_EMPTY.match(text, cue.end(), cue.end() + 48):  # "正确选项：\n1）A …\n2）B …"
        listed = r.layout.list_after(r.layout.line_of(cue.end()))
        if listed:
            return listed
    g = group_after(text, cue.end(), r.valid, r.options, allow_lower=cue.group("copula") is None)
    if g is not None:
        if g.hedged:
            return None
        kind = tail(text, g.start, g.end, g.letters, r.options)
        if kind in (Tail.NEGATIVE, Tail.QUESTION) or (not strong and kind is Tail.PREDICATE):
            return None
        return g.letters | _inline_items(r, g.end)
    clause = _clause(text, cue.end())
    paren = _TRAILING_PAREN.search(clause)
    if paren and paren.group(1) in r.valid:
        return frozenset(paren.group(1))
    if strong and cue.group("revision") is None and r.options:
        return _named_in_clause(clause, r.options)
    return None


def _clause(text: str, start: int) -> str:
    end = _CLAUSE_END.search(text, start, start + CLAUSE_MAX)
    return text[start : end.start() if end else min(len(text), start + CLAUSE_MAX)]


def _inline_items(r: Reply, end: int) -> frozenset[str]:
    """ "Correct options: A) capacity, B) disclosure, …, E) understanding": the other listed letters."""
    if end >= len(r.text) or r.text[end] not in ").:":
        return frozenset()
    line_end = r.text.find("\n", end)
    line_end = len(r.text) if line_end < 0 else line_end
    return frozenset(m.group(1) for m in _INLINE_ITEM.finditer(r.text, end, line_end) if m.group(1) in r.valid)


def _named_in_clause(clause: str, options: Mapping[str, str]) -> frozenset[str] | None:
    """ "答案：穿心莲", "应该是穿心莲。": an option's text making up most of the clause after the phrase."""
    clause = _PARENTHETICAL.sub("", clause)
    said = norm(clause)
    if not said or not any(v and (v in said or said in v) for v in map(norm, options.values())):
        return None
    found = text_choice(clause, options, fuzzy=False)
    if not found:
        return None
    named = sum(len(norm(options[k])) for k in found)
    return frozenset(found) if named * 3 >= 2 * len(norm(clause)) else None


# --- the rest --------------------------------------------------------------------------------


def _verdicts(r: Reply) -> frozenset[str] | None:
    """Options called correct ("A正确；C正确", "B is correct"), when no answer phrase names any."""
    found = {
        x
        for m in r.layout.mentions
        if not m.negated
        and not m.group.hedged
        and (m.tail is Tail.POSITIVE or (m.tail is Tail.AFFIRMED and m.clause_start))
        for x in m.group.letters
    }
    return frozenset(found) or None


def _lone_lower(r: Reply) -> frozenset[str] | None:
    """The whole reply is a lower-case letter group ("b, d", "c")."""
    g = read_group(r.text, 0, r.valid, r.options, lower=True)
    return g.letters if g is not None and g.end == len(r.text) and not g.hedged else None


def _ordinal(r: Reply) -> frozenset[str] | None:
    found = ordinal_choice(r.text, r.options) if r.options else None
    return frozenset(found) if found else None


def _option_text(r: Reply) -> frozenset[str] | None:
    """A reply without letters names options by their text: as a whole, in a first sentence that
    says little else, in its last or first line, or exactly (no paraphrase) in one line only
    ("好的。\n\n糖尿病肾病、糖尿病视网膜病变\n\n希望对你有帮助")."""
    if not r.options or r.layout.restated or any(not m.group.hedged for m in r.layout.mentions):
        return None  # a reply that writes letters named its answer by them, or by none
    lines = [line for line in r.text.split("\n") if line.strip()]
    found = text_choice(r.text, r.options) or lead_choice(r.text, r.options)
    if found:
        return frozenset(found)
    for part in [lines[-1], lines[0]] if len(lines) > 1 else []:
        found = text_choice(part, r.options)
        if found:
            return frozenset(found)
    named = {found for line in lines[1:-1] if (found := text_choice(line, r.options, fuzzy=False))}
    return frozenset(named.pop()) if len(named) == 1 else None


_EXPLICIT_RULES: tuple[tuple[str, Rule], ...] = (
    ("json", _json),
    ("answer phrase", _answer_phrases),
)
_LAYOUT_RULES: tuple[tuple[str, Rule], ...] = (
    ("verdict", _verdicts),
    ("marks", lambda r: marked(r.layout)),
    ("bold", lambda r: bold(r.layout)),
    ("elimination", lambda r: r.layout.eliminated()),
    ("statement", lambda r: r.layout.statements()),
    ("survivor", lambda r: r.layout.survivor()),
)
_WEAK_RULES: tuple[tuple[str, Rule], ...] = (
    ("letters", _lone_lower),
    ("letters", lambda r: r.layout.last_group()),
    ("ordinal", _ordinal),
    ("option text", _option_text),
)
# (when to stop with no answer, then the rules to try), in order.
_STAGES: tuple[tuple[Callable[[Reply], bool] | None, tuple[tuple[str, Rule], ...]], ...] = (
    (None, _EXPLICIT_RULES),
    (lambda r: r.cannot_choose, _LAYOUT_RULES),
    (lambda r: declines(r.text, r.options), _WEAK_RULES),
)


def score_choice(item: Item, response: str) -> Score:
    """Exact set match of chosen letters against the gold letters (1.0 or 0.0)."""
    expected = tuple(sorted(item.expected or ()))
    got, method = _extract(response, item.options)
    details: dict[str, Any] = {"expected": list(expected), "extracted": list(got) if got else None, "method": method}
    exp_s = ",".join(expected)
    if got is None:
        return Score(
            0.0,
            pass_of(0.0, item.pass_threshold),
            f"expected {exp_s}; no option letter found",
            details,
            unparseable=True,
        )
    value = 1.0 if got == expected else 0.0
    return Score(value, pass_of(value, item.pass_threshold), f"expected {exp_s}; got {','.join(got)}", details)
