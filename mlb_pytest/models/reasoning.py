"""Separating a reasoning model's thinking from its answer."""

from __future__ import annotations

import re

_THINK_BLOCK = re.compile(r"<think(?:ing)?>.*?</think(?:ing)?>", re.S | re.I)
_CLOSE = re.compile(r"</think(?:ing)?>", re.I)
_OPEN = re.compile(r"^\s*<think(?:ing)?>", re.I)


def strip_reasoning(text: str) -> str:
    """Drop ``<think>…</think>`` blocks; an answer that is all unclosed thinking becomes empty.

    Some servers drop the opening tag (the chat template adds it), so text before a lone
    ``</think>`` is thinking too.
    """
    out = _THINK_BLOCK.sub("", text)
    close = list(_CLOSE.finditer(out))
    if close:
        out = out[close[-1].end():]
    elif _OPEN.match(out):
        return ""
    return out.strip()
