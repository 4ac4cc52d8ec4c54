"""Turning a prompt template, a question and its options into the messages sent to a model."""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence

from ..schema import LETTERS

QUESTION_SLOT = "${question}"
OPTIONS_SLOT = "${options}"

_ROLE_LABEL = {"patient": "用户", "user": "用户", "doctor": "医生", "assistant": "医生"}


def format_options(options: Mapping[str, str], style: str) -> str:
    """Write options the way MLB's prompts show them: ``A.xx`` lines or a printed Python list."""
    if style == "list":
        return "[" + ", ".join(repr(f"{k} {v}") for k, v in options.items()) + "]"
    return "\n".join(f"{k}.{v}" for k, v in options.items())


def format_dialogue(turns: Sequence[Mapping[str, str]]) -> str:
    """A dialogue as the consultation transcript MLB's SmartServ questions embed."""
    return "\n".join(f"{_ROLE_LABEL.get(t['role'], t['role'])}：{t['content']}" for t in turns)


def render_prompt(template: str, question: str, options_text: str | None) -> str:
    """Fill the template; options go into ``${options}`` or, without that slot, after the question."""
    if OPTIONS_SLOT in template:
        body = template.replace(OPTIONS_SLOT, options_text or "")
        return body.replace(QUESTION_SLOT, question)
    if options_text:
        question = f"{question}\n{options_text}"
    return template.replace(QUESTION_SLOT, question)


# --- parsing options written inside a question (MLB release files) ---------------------------

_LIST_START = re.compile(r"\[?\s*(['\"])A\s*[\s.．、:：)）]")
_OPTIONS_LABEL = re.compile(r"\s*(选项|options?)\s*[：:]?\s*$", re.I)


def _marker(letter: str) -> re.Pattern[str]:
    # A letter not glued to Latin text, followed by a separator or whitespace: "A.", "A、", "A ", "(A)".
    return re.compile(rf"(?<![A-Za-z0-9]){letter}(?:\s*[.．、:：)）]\s*|\s+)")


_MARKERS = {c: _marker(c) for c in LETTERS[:12]}


def _stem(text: str) -> str:
    return _OPTIONS_LABEL.sub("", text.rstrip()).rstrip()


def split_python_list(question: str) -> tuple[str, dict[str, str]] | None:
    """``stem['A xx', 'B yy']`` (brackets optional) -> (stem, {A: xx, B: yy}), or None."""
    for m in _LIST_START.finditer(question):
        tail = question[m.start() :].strip()
        if not tail.startswith("["):
            tail = f"[{tail}]"
        try:
            values = ast.literal_eval(tail)
        except (ValueError, SyntaxError):
            continue
        if not isinstance(values, list) or len(values) < 2:
            continue
        out: dict[str, str] = {}
        for v in values:
            mm = re.match(r"\s*([A-Z])\s*[.．、:：)）]?\s*(.*)$", v, re.S) if isinstance(v, str) else None
            if not mm or mm.group(1) in out:
                break
            out[mm.group(1)] = mm.group(2).strip()
        else:
            if list(out) == list(LETTERS[: len(out)]):
                return _stem(question[: m.start()]), out
    return None


def split_inline(question: str) -> tuple[str, dict[str, str]] | None:
    """``stem A xx B yy C zz`` -> (stem, options): the longest A, B, C... chain, latest on ties."""
    best: tuple[int, int, list[tuple[int, int]]] | None = None
    for a in _MARKERS["A"].finditer(question):
        chain = [(a.start(), a.end())]
        pos = a.end()
        for letter in LETTERS[1:12]:
            nxt = _MARKERS[letter].search(question, pos)
            if not nxt:
                break
            chain.append((nxt.start(), nxt.end()))
            pos = nxt.end()
        if len(chain) >= 2 and (best is None or len(chain) >= best[0]):
            best = (len(chain), a.start(), chain)
    if best is None:
        return None
    chain = best[2]
    options: dict[str, str] = {}
    for i, (_, end) in enumerate(chain):
        stop = chain[i + 1][0] if i + 1 < len(chain) else len(question)
        text = question[end:stop].strip().rstrip(",，;；")
        if not text:
            return None
        options[LETTERS[i]] = text
    return _stem(question[: chain[0][0]]), options


def split_options(question: str) -> tuple[str, dict[str, str]] | None:
    """Split options written inside a question, in either of MLB's two styles."""
    return split_python_list(question) or split_inline(question)
