"""Escaping and number formats of the page: every value from a report goes through ``esc``."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from typing import Any

MAX_TEXT = 4000  # characters of one prompt or response shown; the JSON report has all of it


def esc(value: Any) -> str:
    """HTML-escaped text of any value (quotes too, so it is safe in attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def num(x: Any, signed: bool = False) -> str:
    """A score with three decimals, ``–`` for anything that is not a number."""
    if not isinstance(x, (int, float)) or isinstance(x, bool):
        return "–"
    x = round(float(x), 3) + 0.0
    return f"{x:+.3f}" if signed else f"{x:.3f}"


def interval(ci: Any) -> str:
    return "–" if not ci or ci[0] is None or ci[1] is None else f"{ci[0]:.3f}–{ci[1]:.3f}"


def p_text(x: Any) -> str:
    return "–" if not isinstance(x, (int, float)) else f"{x:.3g}"


def count(x: float) -> str:
    """A token count as 1,234; a duration such as wall_s keeps a decimal."""
    return f"{x:,.1f}" if isinstance(x, float) and not x.is_integer() else f"{x:,.0f}"


def text_block(value: Any, limit: int = MAX_TEXT) -> str:
    """A long value as escaped, wrapped text, cut at ``limit`` characters with a note."""
    if value is None:
        return '<span class="muted">–</span>'
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        text = ", ".join(value)
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    cut = ""
    if len(text) > limit:
        cut = f'<span class="muted"> … ({len(text) - limit:,} more characters in the JSON report)</span>'
        text = text[:limit]
    return f'<pre class="text">{esc(text)}{cut}</pre>'


def kv(pairs: Iterable[tuple[str, Any]]) -> str:
    """A definition list of the pairs whose value is given (values are HTML already)."""
    body = "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in pairs if v not in (None, ""))
    return f'<dl class="kv">{body}</dl>'
