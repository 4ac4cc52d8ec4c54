"""Markdown that marks the answer: the first bold option, and rows or items ticked ✅ / [x].

Models that format their reply put the answer in bold ("### Step 1 **A. …**", "| **C** |") and
then discuss the other options in plain bullets, or tick the right rows of a table. The bold
rule takes the *first* bold option (with the bold options listed right under it), so later
plain mentions stay discussion.
"""

from __future__ import annotations

import re

from .choice_cues import Tail, tail
from .choice_layout import NEG_ITEM, Layout
from .choice_letters import group_after, skip_echo

_BOLD = re.compile(r"\*\*([^*\n]{1,160})\*\*")
_TRAILING_PAREN = re.compile(r"\(([A-Z])\)[ \t:]*$")
_MARK = re.compile(r"(?P<pos>✅|✔|☑|√|✓|\[[xX]\])|(?P<neg>❌|✗|✘|☐|⛔|\[ \])")


def bold(layout: Layout) -> frozenset[str] | None:
    """The first bold option, with the bold options listed right under it."""
    found: set[str] = set()
    last_line = -1
    for b in _BOLD.finditer(layout.text):
        letters = _bold_letters(layout, b)
        if letters is None:
            continue
        line = layout.line_of(b.start())
        if found and not layout.adjacent(last_line, line):
            break
        found |= letters
        last_line = line
    return frozenset(found) or None


def _bold_letters(layout: Layout, b: re.Match[str]) -> frozenset[str] | None:
    """ "**B. 碘解磷定**", "**C**", "**上消化道出血（B）**"; none under a heading like "其他选项", nor
    when the bold text rules the option out (its own words, "**C. 治疗前排除妊娠**", do not)."""
    inner = b.group(1)
    if layout.negative_section[layout.line_of(b.start())]:
        return None
    g = group_after(inner, 0, layout.valid, layout.options)  # read inside the span: bounded work
    if (
        g is not None
        and not g.hedged
        and tail(inner, g.start, g.end, g.letters, layout.options) in (Tail.END, Tail.POSITIVE)
    ):
        (first, *_) = sorted(g.letters)
        rest = skip_echo(inner, g.end, first, layout.options, False) if len(g.letters) == 1 else g.end
        return None if NEG_ITEM.search(inner, rest) else g.letters
    paren = _TRAILING_PAREN.search(inner)
    if paren and paren.group(1) in layout.valid and not NEG_ITEM.search(inner, 0, paren.start()):
        return frozenset(paren.group(1))
    return None


def marked(layout: Layout) -> frozenset[str] | None:
    """Options on lines ticked ✅ / ✔ / [x] (a table row or a list item), when any line is ticked.
    A row's first mark counts ("| D. RBC casts | ❌ | ✅ |" is not ticked)."""
    found: set[str] = set()
    seen_line = -1
    for m in _MARK.finditer(layout.text):
        line = layout.line_of(m.start())
        if line == seen_line:
            continue
        seen_line = line
        if m.group("pos") and (letters := _first_letters(layout, line)):
            found |= letters
    return frozenset(found) or None


def _first_letters(layout: Layout, line: int) -> frozenset[str] | None:
    for m in layout.by_line.get(line, ()):
        if not m.group.hedged and not layout.negations.before(m.group.start):
            return m.group.letters
    return None
