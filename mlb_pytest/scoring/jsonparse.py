"""Tolerant reading of the JSON answer inside a model response.

Models wrap JSON in code fences, add prose around it, use Python quoting, leave trailing commas
or stop mid-object. We look for the answer the way a reader would: inside a fence if there is
one, else the largest complete object/array in the text (ties: the last), strict JSON first
and ``json_repair`` only when no candidate parses strictly.
"""

from __future__ import annotations

import json
import re
from typing import Any

import json_repair

from .base import strip_think

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n?(.*?)(?:```|\Z)", re.S)
_CLOSE = {"{": "}", "[": "]"}
_OPEN_RE = re.compile(r"[{\[]")
_JSONISH_START = re.compile(r"""(?:\{\s*["'}]|\[\s*[{\["'\]])""")


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
    if "```" in text:
        fences = [m.group(2) for m in _FENCE.finditer(text)]
        for body in reversed(fences):  # the last fenced block is the answer; earlier ones are drafts
            value, note = _from_text(body.strip())
            if value is not None:
                return value, "fenced" if note == "embedded" else f"fenced, {note}"
    value, note = _from_text(text)
    if value is None:
        return None, note
    return value, note


def _whole_json(text: str) -> Any | None:
    """The text parsed as one JSON object or array, or None."""
    if not text or text[0] not in "{[":
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, (dict, list)) else None


def _from_text(text: str) -> tuple[Any | None, str]:
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
        value = _repair(text[first_open:])
        if value is not None:
            return value, "repaired, truncated"
    ordered = sorted(spans, key=lambda se: (se[1] - se[0], se[0]), reverse=True)
    for s, e in ordered:
        try:
            value = json.loads(text[s:e])
        except ValueError:
            continue
        if isinstance(value, (dict, list)):
            return value, "embedded"
    for s, e in ordered:
        value = _repair(text[s:e])
        if value is not None:
            return value, "repaired"
    if first_open is not None:  # an object that never closes: the output was cut off
        value = _repair(text[first_open:])
        if value is not None:
            return value, "repaired, truncated"
    return None, "JSON could not be parsed"


def _repair(fragment: str) -> Any | None:
    try:
        value = json_repair.repair_json(fragment, return_objects=True)
    except Exception:  # json_repair is defensive, but a parser must never take the run down
        return None
    # An empty container from repair means it salvaged nothing (prose in brackets), not "no answer".
    return value if isinstance(value, (dict, list)) and value else None


def _balanced_spans(text: str) -> tuple[list[tuple[int, int]], int | None]:
    """Outermost complete ``{...}``/``[...]`` spans, and the start of the first one left open."""
    spans: list[tuple[int, int]] = []
    first_open: int | None = None
    n = len(text)
    m = _OPEN_RE.search(text)
    while m is not None:
        start = m.start()
        end = _match_end(text, start, n)
        if end > 0:
            spans.append((start, end))
            m = _OPEN_RE.search(text, end)
            continue
        if end == -1 and first_open is None:
            first_open = start
        m = _OPEN_RE.search(text, start + 1)
    return spans, first_open


_SCAN = re.compile(r'"(?:[^"\\]|\\.)*"?|[{}\[\]]', re.S)


def _match_end(text: str, start: int, n: int) -> int:
    """End (exclusive) of the bracket group opened at ``start``; 0 on a mismatch, -1 if unclosed."""
    stack = [_CLOSE[text[start]]]
    for tok in _SCAN.finditer(text, start + 1):
        ch = tok.group()
        if ch == "{" or ch == "[":
            stack.append(_CLOSE[ch])
        elif ch == "}" or ch == "]":
            if ch != stack.pop():
                return 0
            if not stack:
                return tok.end()
    return -1
