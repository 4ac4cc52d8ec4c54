"""Bounded JSON reading for files users hand us (suites, baselines, reports).

``json.loads`` lets a few inputs escape as exceptions callers do not expect: nesting deeper
than the interpreter's stack (``RecursionError``), integers longer than Python's digit limit
(a bare ``ValueError``), and bytes that are not UTF-8. This module turns each into one
``JSONInputError`` carrying the line and column where known, so every reader can name the file.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from .errors import UsageError

MAX_DEPTH = 100  # nesting levels; MLB items need about 6, our reports about 10
BOM = "\ufeff"
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
SURROGATE_MESSAGE = "holds a lone UTF-16 surrogate (a \\udxxx escape), which is not text"


class JSONInputError(UsageError, ValueError):
    """Text that is not bounded, strict JSON; ``line``/``column`` point at the fault when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        self.message, self.line, self.column = message, line, column
        super().__init__(message)


class _Reject(ValueError):
    pass


def _constant(name: str) -> Any:
    raise _Reject(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Reject(f"number {text[:40]} is out of range")
    return value


def decode_utf8(data: bytes) -> str:
    """UTF-8 text without a leading BOM; a bad byte raises ``JSONInputError`` naming line and column."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise JSONInputError(f"not UTF-8 text (byte 0x{data[exc.start]:02x} at column {col})", line, col) from None
    return text[1:] if text.startswith(BOM) else text


def depth_of(value: Any, limit: int) -> int:
    """Nesting depth of a parsed value, counted without recursion and stopping past ``limit``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, (dict, list)):
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def may_hold_surrogates(text: str) -> bool:
    """Cheap pre-check: lone surrogates can only come from ``\\udxxx`` escapes in UTF-8 text."""
    return _SURROGATE_ESCAPE.search(text) is not None


def unfit_at(value: Any) -> tuple[str, str] | None:
    """(path, why) of the first value JSON allows but text and scores cannot hold, or None.

    The path reads ``question``, ``options.A``, ``answer[0]`` (``""`` for the value itself).
    A string with a lone UTF-16 surrogate (``"\\ud800"``) cannot be encoded as UTF-8: it would
    fail later, when the request is sent or the report written; ``NaN`` and infinities (or
    numbers that overflow to them) would poison every mean they enter.
    """
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            if _SURROGATE.search(node):
                return path, SURROGATE_MESSAGE
        elif isinstance(node, float):
            if not math.isfinite(node):
                return path, f"{node} is not a finite number"
        elif isinstance(node, dict):
            for k, v in node.items():
                key_path = f"{path}.{k}" if path else str(k)
                if _SURROGATE.search(k):
                    return key_path, SURROGATE_MESSAGE
                stack.append((v, key_path))
        elif isinstance(node, list):
            stack.extend((v, f"{path}[{i}]") for i, v in reversed(list(enumerate(node))))
    return None


def loads(text: str, *, max_depth: int = MAX_DEPTH, finite: bool = True) -> Any:
    """``json.loads`` that only ever raises ``JSONInputError``.

    ``finite`` rejects ``NaN``, ``Infinity`` and numbers that overflow to them (suite files:
    a weight of ``Infinity`` would poison every mean); reports and baselines we wrote
    ourselves may hold them, so their readers pass ``finite=False``.
    """
    hooks: dict[str, Any] = {"parse_constant": _constant, "parse_float": _finite_float} if finite else {}
    try:
        value = json.loads(text, **hooks)
    except json.JSONDecodeError as exc:
        raise JSONInputError(f"invalid JSON at column {exc.colno}: {exc.msg}", exc.lineno, exc.colno) from None
    except RecursionError:
        raise JSONInputError(f"nested deeper than {max_depth} levels") from None
    except _Reject as exc:
        raise JSONInputError(f"invalid JSON: {exc}") from None
    except ValueError as exc:  # integers past Python's digit limit
        raise JSONInputError(f"invalid JSON: {str(exc).split(';')[0]}") from None
    if depth_of(value, max_depth) > max_depth:
        raise JSONInputError(f"nested deeper than {max_depth} levels")
    return value
