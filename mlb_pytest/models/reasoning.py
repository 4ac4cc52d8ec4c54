"""Separating a reasoning model's thinking from its answer: the one home of think-stripping.

Adapters strip thinking before scoring and scorers strip again in case a stray block slipped
through (``scoring.base.strip_think`` is this function), so both must agree on the rules; and a
response is untrusted input, so the work must stay linear in its length whatever tags it holds.
"""

from __future__ import annotations

import re

# <think>, <thinking> and their closing forms, in any case; a mixed pair (<think>…</thinking>) pairs up.
_TAG = re.compile(r"<(/?)think(?:ing)?>", re.I)
_LONGEST_TAG = len("</thinking>")


def answer_spans(text: str) -> list[tuple[int, int]]:
    """The ``[start, end)`` ranges of ``text`` that are answer, not thinking: one pass over the tags.

    - ``<think>…</think>`` blocks are thinking; the text around them is answer;
    - a lone closing tag means the opening one was dropped (some servers let the chat template add
      it), so everything before it was thinking;
    - an opening tag never closed starts thinking that was cut off: the rest is thinking.
    """
    spans: list[tuple[int, int]] = []
    pos = 0
    inside = False
    for m in _TAG.finditer(text):
        closing = bool(m.group(1))
        if inside:
            if closing:
                inside, pos = False, m.end()
            continue  # a second opening tag inside a block is part of the thinking
        if closing:  # a lone closing tag: what came before was thinking
            spans, pos = [], m.end()
            continue
        if m.start() > pos:
            spans.append((pos, m.start()))
        inside = True
    if not inside and pos < len(text):
        spans.append((pos, len(text)))
    return spans


def strip_reasoning(text: str) -> str:
    """The answer without its thinking (see ``answer_spans``).

    Text without tags comes back unchanged; otherwise the answer is trimmed of surrounding
    whitespace. Where removing a block would join two fragments into a new tag (``<thi`` +
    ``nk>``), a space is put between them, so a second pass changes nothing.
    """
    if _TAG.search(text) is None:
        return text
    pieces: list[str] = []
    tail = ""  # the last few characters kept, to see a tag forming across a removed block
    for start, end in answer_spans(text):
        piece = text[start:end]
        if tail:
            window = tail + piece[:_LONGEST_TAG]
            if any(m.start() < len(tail) < m.end() for m in _TAG.finditer(window)):
                pieces.append(" ")
                tail = " "
        pieces.append(piece)
        tail = (tail + piece)[-_LONGEST_TAG:]
    return "".join(pieces).strip()
