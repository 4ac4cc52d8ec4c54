"""What every scorer returns, and the small helpers the scorers share.

Scorers are pure functions of (item, response) so that a run can be re-scored from a replay
file; nothing here imports pytest.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

from ..models.reasoning import strip_reasoning
from ..statistics import micro_f1 as _stats_micro_f1
from ..statistics import micro_f1_of_items


@dataclass(frozen=True)
class Score:
    """One item's verdict from the rules (or a placeholder when a judge is needed)."""

    score: float | None  # 0..1; None = not scored by rules (open items need a judge)
    passed: bool  # score >= item.pass_threshold
    explanation: str  # one human line: what was expected, what was found
    details: dict[str, Any] = field(default_factory=dict)  # JSON-serialisable evidence
    unparseable: bool = False  # no answer could be found in the response (scored 0)


strip_think = strip_reasoning  # one home for think-stripping: models/reasoning.py

# A response longer than this is cut before scoring: every parser is linear, but a runaway or
# hostile generation of megabytes must not cost minutes of parsing or judge time per item.
MAX_RESPONSE_CHARS = 64_000


def cap_response(text: str) -> tuple[str, int]:
    """The response cut to ``MAX_RESPONSE_CHARS`` and how many characters were cut (0 when none)."""
    cut = len(text) - MAX_RESPONSE_CHARS
    if cut <= 0:
        return text, 0
    return text[:MAX_RESPONSE_CHARS], cut


# The F1 formula lives in statistics.py; the scorers' names for it:
f1_from_counts = _stats_micro_f1  # an item's F1 from its (tp, fp, fn)
micro_f1 = micro_f1_of_items  # a dataset's micro-F1 from its items' (tp, fp, fn)


_OPENERS = "([{（【《「『<"
_CLOSERS = ")]}）】》」』>"
_PAIR = dict(zip(_CLOSERS, _OPENERS))
_QUOTES = "\"'`“”‘’"
_KEEP = "+%°#"


def _is_edge_junk(ch: str) -> bool:
    if ch.isspace() or ch in _QUOTES:
        return True
    return unicodedata.category(ch)[0] in "PZS" and ch not in _KEEP


def normalize_span(text: Any) -> str:
    """Canonical form of an extracted span: NFKC, trimmed of edge punctuation/quotes, Latin lower-cased.

    An edge bracket whose partner sits inside the span is kept ("心功能Ⅱ级(NYHA)"), so only the
    wrapping punctuation a model adds ("（高血压）", "“高血压”。") is removed.
    """
    s = unicodedata.normalize("NFKC", str(text)).strip().lower()
    start, end = 0, len(s)
    while True:
        while start < end and s[start] not in _OPENERS and _is_edge_junk(s[start]):
            start += 1
        while end > start and s[end - 1] not in _PAIR and _is_edge_junk(s[end - 1]):
            end -= 1
        if start < end and s[start] in _OPENERS:
            if _wraps(s, start, end):
                start, end = start + 1, end - 1
                continue
            if not any(_PAIR.get(c) == s[start] for c in s[start + 1 : end]):
                start += 1
                continue
        if end > start and s[end - 1] in _PAIR and _PAIR[s[end - 1]] not in s[start : end - 1]:
            end -= 1
            continue
        return s[start:end]


def _wraps(s: str, start: int, end: int) -> bool:
    """True when the bracket at ``start`` closes exactly at ``end - 1`` ("(高血压)", not "(a)b(c)")."""
    opener = s[start]
    depth = 0
    for i in range(start, end):
        c = s[i]
        if c == opener:
            depth += 1
        elif _PAIR.get(c) == opener:
            depth -= 1
            if depth == 0:
                return i == end - 1
    return False


PASS_TOLERANCE = 1e-9  # a score this close below the threshold is float noise (a mean of samples), not a miss


def pass_of(score: float | None, threshold: float) -> bool:
    """The pass rule, its one home: a score reaches the item's threshold (tolerating float noise); no score fails."""
    return score is not None and score >= threshold - PASS_TOLERANCE


def preview(values: list[str], limit: int = 5) -> str:
    """A short comma list for explanations: the first few values and how many were left out."""
    shown = ", ".join(values[:limit])
    return shown + (f" (+{len(values) - limit} more)" if len(values) > limit else "")


def f1_summary(tp: int, fp: int, fn: int, missing: list[str], extra: list[str]) -> tuple[float, list[str]]:
    """Item F1 and the parts of its explanation: counts, then what was missed and what was extra."""
    f1 = f1_from_counts(tp, fp, fn)
    parts = [f"F1 {f1:.2f} (tp {tp}, fp {fp}, fn {fn})"]
    if missing:
        parts.append(f"missing: {preview(missing)}")
    if extra:
        parts.append(f"extra: {preview(extra)}")
    return f1, parts
