"""Tolerant reading of the JSON answer inside a model response.

Models wrap JSON in code fences, add prose around it, use Python quoting, leave trailing commas
or stop mid-object. We look for the answer the way a reader would: inside a fence if there is
one, else the largest complete object/array in the text (ties: the last), strict JSON first
and ``json_repair`` only when no candidate parses strictly.

A response is untrusted input, so every step is linear in its length: the bracket scan has a
budget and falls back to a single pass on adversarial input, deep nesting is refused rather than
recursed into, and ``json_repair`` (quadratic on some inputs) only sees small fragments; larger
ones are read as Python literals or closed where they were cut off.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from typing import Any

import json_repair

from .base import strip_think

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n?(.*?)(?:```|\Z)", re.S)
_CLOSE = {"{": "}", "[": "]"}
_OPEN_RE = re.compile(r"[{\[]")
_JSONISH_START = re.compile(r"""(?:\{\s*["'}]|\[\s*[{\["'\]])""")


# json_repair is quadratic on some inputs (about 0.25 s for 3,000 characters of '{"'): it only
# sees fragments up to this size, and at most REPAIR_BUDGET characters per response.
REPAIR_MAX_CHARS = 2_000
REPAIR_BUDGET = 4_000
# The retrying bracket scan may read this many characters per character of text (plus a little)
# before it falls back to one pass; ordinary answers need about one.
SCAN_BUDGET_FACTOR = 4


@dataclass
class _Budget:
    """What one response may still spend on json_repair."""

    repair_left: int = REPAIR_BUDGET


def parse_json_answer(response: str) -> tuple[Any | None, str | None]:
    """The JSON object or array a response answers with, and a note on how it was found.

    Returns ``(value, note)``; ``value`` is a dict or list, or None with ``note`` saying why.
    Notes: "json", "fenced", "embedded", "repaired" (json_repair had to fix it).
    """
    if response is None:
        return None, "empty response"
    text = strip_think(str(response)).strip()
    if not text:
        return None, "empty response"
    whole = _whole_json(text)  # fast path: the whole response is the JSON
    if whole is not None:
        return whole, "json"
    budget = _Budget()
    if "```" in text:
        fences = [m.group(2) for m in _FENCE.finditer(text)]
        for body in reversed(fences):  # the last fenced block is the answer; earlier ones are drafts
            value, note = _from_text(body.strip(), budget)
            if value is not None:
                return value, "fenced" if note == "embedded" else f"fenced, {note}"
    value, note = _from_text(text, budget)
    if value is None:
        return None, note
    return value, note


def _loads(text: str) -> Any | None:
    """``json.loads`` that answers None for invalid or too deeply nested text."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _whole_json(text: str) -> Any | None:
    """The text parsed as one JSON object or array, or None."""
    if not text or text[0] not in "{[":
        return None
    value = _loads(text)
    return value if isinstance(value, (dict, list)) else None


def _from_text(text: str, budget: _Budget) -> tuple[Any | None, str]:
    if not text:
        return None, "empty response"
    whole = _whole_json(text)
    if whole is not None:
        return whole, "embedded"
    spans, first_open = _balanced_spans(text)
    if not spans and first_open is None:
        return None, "no JSON object or array in the response"
    if first_open is not None and _JSONISH_START.match(text, first_open) and all(s > first_open for s, _ in spans):
        # Output cut off inside a JSON value: its complete parts are fragments of it, not the answer.
        value = _repair(text[first_open:], budget)
        if value is not None:
            return value, "repaired, truncated"
    ordered = sorted(spans, key=lambda se: (se[1] - se[0], se[0]), reverse=True)
    for s, e in ordered:
        value = _loads(text[s:e])
        if isinstance(value, (dict, list)):
            return value, "embedded"
    for s, e in ordered:
        value = _repair(text[s:e], budget)
        if value is not None:
            return value, "repaired"
    if first_open is not None:  # an object that never closes: the output was cut off
        value = _repair(text[first_open:], budget)
        if value is not None:
            return value, "repaired, truncated"
    return None, "JSON could not be parsed"


def _repair(fragment: str, budget: _Budget) -> Any | None:
    """A container salvaged from a broken fragment, or None; bounded work whatever the fragment."""
    if len(fragment) <= min(REPAIR_MAX_CHARS, budget.repair_left):
        budget.repair_left -= len(fragment)
        try:
            value = json_repair.repair_json(fragment, return_objects=True)
        except Exception:  # json_repair is defensive, but a parser must never take the run down
            return None
    else:
        value = _python_literal(fragment)
        if value is None:
            value = _close_cut_off(fragment)
    # An empty container from repair means it salvaged nothing (prose in brackets), not "no answer".
    return value if isinstance(value, (dict, list)) and value else None


def _python_literal(text: str) -> Any | None:
    """A Python-style container (single quotes, None/True, trailing commas) as JSON values, or None."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, (dict, list)) and _json_like(value) else None


def _json_like(value: Any) -> bool:
    """Only what JSON can say: no tuples, sets, bytes or non-string keys (iterative, no recursion)."""
    todo = [value]
    while todo:
        v = todo.pop()
        if isinstance(v, dict):
            if not all(isinstance(k, str) for k in v):
                return False
            todo.extend(v.values())
        elif isinstance(v, list):
            todo.extend(v)
        elif not (v is None or isinstance(v, (str, int, float, bool))):
            return False
    return True


_CUT_SCAN = re.compile(r'"(?:[^"\\]|\\.)*(")?|[{}\[\],]', re.S)


def _close_cut_off(fragment: str) -> Any | None:
    """A JSON value cut off mid-way, closed where it stops or at its last comma (one pass)."""
    stack: tuple[str, Any] | None = None  # linked list of expected closers: snapshots cost nothing
    at_comma: tuple[int, tuple[str, Any] | None] | None = None
    open_string = False
    for tok in _CUT_SCAN.finditer(fragment):
        ch = tok.group()
        if ch[0] == '"':
            open_string = tok.group(1) is None
        elif ch in "{[":
            stack = (_CLOSE[ch], stack)
        elif ch in "}]":
            if stack is None or stack[0] != ch:
                return None
            stack = stack[1]
        else:
            at_comma = (tok.start(), stack)
    candidates = [fragment + ('"' if open_string else "") + _closers(stack)]
    if at_comma is not None:
        candidates.append(fragment[: at_comma[0]] + _closers(at_comma[1]))
    for text in candidates:
        value = _loads(text)
        if value is None:
            value = _python_literal(text)
        if isinstance(value, (dict, list)):
            return value
    return None


def _closers(stack: tuple[str, Any] | None) -> str:
    out = []
    while stack is not None:
        out.append(stack[0])
        stack = stack[1]
    return "".join(out)


def _balanced_spans(text: str) -> tuple[list[tuple[int, int]], int | None]:
    """Outermost complete ``{...}``/``[...]`` spans, and the start of the first one left open.

    Each opener is scanned from itself (so an opener inside a broken string is still tried); when
    that re-reading exceeds its budget (crafted input), the rest is read in a single pass.
    """
    spans: list[tuple[int, int]] = []
    first_open: int | None = None
    n = len(text)
    budget = SCAN_BUDGET_FACTOR * n + 256
    m = _OPEN_RE.search(text)
    while m is not None:
        start = m.start()
        end, read = _match_end(text, start, budget)
        budget -= read
        if budget < 0:
            rest, still_open = _one_pass(text, start)
            spans.extend(rest)
            return spans, first_open if first_open is not None else still_open
        if end > 0:
            spans.append((start, end))
            m = _OPEN_RE.search(text, end)
            continue
        if end == -1 and first_open is None:
            first_open = start
        m = _OPEN_RE.search(text, start + 1)
    return spans, first_open


_SCAN = re.compile(r'"(?:[^"\\]|\\.)*"?|[{}\[\]]', re.S)


def _match_end(text: str, start: int, budget: int) -> tuple[int, int]:
    """End (exclusive) of the group opened at ``start`` (0 on a mismatch, -1 if unclosed), and
    how many characters were read; reading stops once it passes ``budget``."""
    stack = [_CLOSE[text[start]]]
    for tok in _SCAN.finditer(text, start + 1):
        ch = tok.group()
        if ch == "{" or ch == "[":
            stack.append(_CLOSE[ch])
        elif ch == "}" or ch == "]":
            if ch != stack.pop():
                return 0, tok.end() - start
            if not stack:
                return tok.end(), tok.end() - start
        if tok.end() - start > budget:
            return 0, tok.end() - start
    return -1, len(text) - start


def _one_pass(text: str, start: int) -> tuple[list[tuple[int, int]], int | None]:
    """Outermost complete groups from ``start`` on, each character read once; a mismatched closer
    abandons the groups open at that point. Also the first group still open at the end."""
    matched: list[tuple[int, int]] = []
    pos = start
    while (m := _OPEN_RE.search(text, pos)) is not None:
        stack = [(m.start(), _CLOSE[m.group()])]
        pos = len(text)
        for tok in _SCAN.finditer(text, m.end()):
            ch = tok.group()
            if ch == "{" or ch == "[":
                stack.append((tok.start(), _CLOSE[ch]))
            elif ch == "}" or ch == "]":
                if stack[-1][1] != ch:
                    pos = tok.end()
                    break
                matched.append((stack.pop()[0], tok.end()))
                if not stack:
                    pos = tok.end()
                    break
        else:
            return _outermost(matched), stack[0][0]
    return _outermost(matched), None


def _outermost(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    outer: list[tuple[int, int]] = []
    for s, e in sorted(spans, key=lambda se: (se[0], -se[1])):
        if not outer or s >= outer[-1][1]:
            outer.append((s, e))
    return outer
