"""Does the response state the point's quantities, or other values for the same thing?

Why: a wrong dose or threshold is the error the encoder misses most often and the one a
physician forgives least, and it is one of the few that can be checked exactly. For each
quantity in the criterion (``肾上腺素0.5 mg``), the check looks in the response for quantities of
the same dimension stated near a word the criterion puts next to it (``肾上腺素``): if there are
such quantities and none has the criterion's value (500 μg counts as 0.5 mg, 400 μg is inside
0.4~0.8 mg), the response states another value for the same thing. A criterion value found
anywhere in the response, a quantity with no named subject, or one the response never restates
leave the decision to the encoder: the check only ever says "no", and only when it can show why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .quantities import Quantity, quantities

NUMBER_CHECK_VERSION = "numbers/3"  # part of the builtin judge's identity

_CLAUSE_END = re.compile(r"[。；;！？!?\n]|[,，:：、](?=\s*\D)|\.(?=\s)")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_WORD = re.compile(r"[A-Za-z][A-Za-z\-]{2,}")
_FUNCTION_HAN = set(
    "的了在为于是应每日天次给予口服建议控制目标以上下低高超过至约及和或与可需将其后前内时用量不得少多达到行一两"
)
_STOP_WORDS = {
    "the", "and", "for", "with", "per", "day", "daily", "dose", "than", "below", "above", "least", "most",
    "give", "given", "take", "start", "starts", "recommend", "recommends", "advise", "advises", "should",
    "over", "under", "each", "every", "times", "twice", "once", "from", "into", "that", "this", "target",
    "level", "value", "about", "mg", "days", "weeks", "hours", "months", "years", "less", "more", "not",
}  # fmt: skip


# 150/95 mmHg is a blood pressure and 38.5 ℃ a temperature, whatever words surround them
_NAMED_BY_UNIT = frozenset({"bp", "celsius"})


@dataclass(frozen=True)
class NumberFinding:
    """A quantity of the criterion that the response states otherwise, with what it states instead."""

    criterion: str
    stated: tuple[str, ...]

    def reason(self) -> str:
        return f"number check: the criterion's {self.criterion} is stated as {' / '.join(self.stated)} in the response"


def anchor_tokens(text: str, q: Quantity, before: int, after: int) -> set[str]:
    """The words next to a quantity within its clause: what it is a quantity of."""
    left = text[max(0, q.start - before) : q.start]
    cut = [m.end() for m in _CLAUSE_END.finditer(left)]
    left = left[cut[-1] :] if cut else left
    right = text[q.end : q.end + after]
    stop = _CLAUSE_END.search(right)
    right = right[: stop.start()] if stop else right
    return _tokens(left) | _tokens(right)


def _tokens(span: str) -> set[str]:
    out = {w.lower() for w in _WORD.findall(span) if w.lower() not in _STOP_WORDS}
    han = "".join(ch if _HAN.match(ch) else " " for ch in span)
    for run in han.split():
        for i in range(len(run) - 1):
            pair = run[i : i + 2]
            if not (pair[0] in _FUNCTION_HAN and pair[1] in _FUNCTION_HAN):
                out.add(pair)
    return out


_ABOVE_BEFORE = re.compile(
    r"(?:≥|>|＞|大于|高于|超过|达到|above|over|more\s+than|at\s+least|greater\s+than|exceeding)\s*(?:等于)?\s*$", re.I
)
_BELOW_BEFORE = re.compile(
    r"(?:≤|<|＜|小于|低于|不超过|不足|below|under|less\s+than|at\s+most|up\s+to|within)\s*(?:等于)?\s*$", re.I
)
_ABOVE_AFTER = re.compile(r"^\s*(?:以上|之后|后|起|or\s+(?:more|higher|above|greater)|and\s+above)")
_BELOW_AFTER = re.compile(r"^\s*(?:以下|以内|之内|内|or\s+(?:less|lower|below|fewer))")


def comparator(text: str, q: Quantity) -> str | None:
    """``>`` or ``<`` when the text states a bound (``≥7``, ``低于3.9``, ``20周后``), else None."""
    left, right = text[max(0, q.start - 14) : q.start], text[q.end : q.end + 12]
    if _BELOW_BEFORE.search(left) or _BELOW_AFTER.search(right):
        return "<"
    if _ABOVE_BEFORE.search(left) or _ABOVE_AFTER.search(right):
        return ">"
    return None


def _consistent(q: Quantity, bound: str | None, s: Quantity, s_bound: str | None) -> bool:
    """A stated value agrees with the criterion's: the same value, or a patient's value inside its bound."""
    if _overlaps(q, s):
        return True
    if bound is None or s_bound is not None:
        return False  # a bound restated as another bound must be the same bound
    return s.low >= q.low if bound == ">" else s.high <= q.high


def _overlaps(a: Quantity, b: Quantity) -> bool:
    """Same dimension and a shared value (a value inside a stated range counts)."""
    # a month is 4 or 4.3 weeks, 半月 is two weeks; elsewhere only unit-conversion rounding (999 mg is not 1 g)
    eps = 0.08 if a.dim == "time" else 1e-6
    return a.dim == b.dim and b.low <= a.high * (1 + eps) + 1e-9 and b.high >= a.low * (1 - eps) - 1e-9


_DIGITS = re.compile(r"\d+(?:\.\d+)?(?:\s*/\s*\d+)?")


def _bare_number_in(q: Quantity, response: str, stated: list[Quantity]) -> bool:
    """The criterion's figure written in the response without its unit (``1小时10.6``, ``165/102和168/104 mmHg``).

    A figure that carries a unit of its own is not bare: 2周 does not restate 2个月, nor 75 mg 75 μg."""
    m = _DIGITS.search(q.text)
    if m is None:
        return False
    figure = re.sub(r"\s+", "", m.group())
    pattern = r"\s*/\s*".join(re.escape(part) for part in figure.split("/"))
    for found in re.finditer(rf"(?<![\d.]){pattern}(?![\d.]|\s*/\s*\d)", response):
        if not any(s.start <= found.start() < s.end for s in stated):
            return True
    return False


def check_numbers(criterion: str, response: str) -> NumberFinding | None:
    """The first criterion quantity that the response states as another value, else None."""
    wanted = quantities(criterion)
    if not wanted:
        return None
    stated = quantities(response)
    if not stated:
        return None
    han = bool(_HAN.search(criterion))
    before, after = (16, 6) if han else (40, 16)
    for q in wanted:
        if any(_overlaps(q, s) for s in stated) or _bare_number_in(q, response, stated):
            continue  # the value is there, whatever it is said of: the encoder decides
        if q.dim in _NAMED_BY_UNIT or q.dim.startswith("scale:"):  # INR 4.8 names what it measures
            same = [s for s in stated if s.dim == q.dim]
        else:
            anchors = anchor_tokens(criterion, q, before, after)
            if not anchors:
                continue
            same = [s for s in stated if s.dim == q.dim and anchors & anchor_tokens(response, s, before, after)]
        bound = comparator(criterion, q)
        if same and not any(_consistent(q, bound, s, comparator(response, s)) for s in same):
            return NumberFinding(q.text, tuple(dict.fromkeys(s.text for s in same)))
    return None
