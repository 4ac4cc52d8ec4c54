"""Scoring CHIP-CDN term normalisation: set F1 over the standard terms the model chose.

Gold is one or more candidate lines, each a set of ICD terms joined by ``##``. Models answer with
a line, several lines, or terms separated by commas; we compare term sets so that choosing part
of a line earns partial credit, and report tp/fp/fn for the dataset micro-F1 MLB uses.
Some standard terms contain a comma themselves ("下肢未特指的损伤,水平未特指"), so a fragment
split on a comma is re-joined when the joined text is a known term.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Set
from typing import Any

from ..schema import Item
from .base import Score, f1_summary, normalize_span, pass_of, preview, strip_think
from .jsonparse import parse_json_answer

_COARSE = re.compile(r"#{2,}|\n+")
_FINE = re.compile(r"([,;、])")
_LABEL = re.compile(
    r"(?:(?:归一化|标准化)?(?:后的)?(?:术语|标准词)|候选标准词|答案|输出|结果|normali[sz]ed\s+terms?|answer)"
    r"\s*(?:为|是|is|are)?\s*[:=]\s*",
    re.I,
)
_BULLET = re.compile(r"^\s*(?:[-*•>]+|\d+\s*[.)、])\s*")
_FENCE = re.compile(r"```[A-Za-z]*")


def split_terms(text: str) -> list[str]:
    """Split a ``##``-joined candidate line into its normalised terms."""
    return [t for t in (normalize_span(p) for p in _COARSE.split(text)) if t]


def _vocabulary(item: Item) -> set[str]:
    lines: Iterable[str] = list(item.candidates or ()) + list(_gold_lines(item))
    return {t for line in lines for t in split_terms(line)}


def _gold_lines(item: Item) -> list[str]:
    exp = item.expected
    if isinstance(exp, str):
        return [exp]
    return [str(e) for e in exp or ()]


def response_terms(response: str, vocabulary: Set[str] = frozenset()) -> list[str]:
    """Normalised terms a response names, in order, without duplicates.

    ``vocabulary`` (the item's candidate terms) lets a term that contains a comma stay whole.
    """
    text = unicodedata.normalize("NFKC", strip_think(str(response or "")))
    stripped = text.strip()
    if stripped and stripped[0] in "[{":
        value, _ = parse_json_answer(stripped)
        if isinstance(value, dict):
            value = next(iter(value.values()), None) if len(value) == 1 else list(value.values())
        if isinstance(value, list):
            text = "\n".join(str(v) for v in value if isinstance(v, (str, int, float)))
    text = _FENCE.sub("\n", text)
    out: list[str] = []
    for line in text.split("\n"):
        labels = list(_LABEL.finditer(line))
        if labels:  # "根据描述，归一化术语为：X##Y" -> only what follows the (last) label
            line = line[labels[-1].end() :]
        line = _BULLET.sub("", line)
        for piece in _COARSE.split(line):
            out.extend(_split_piece(piece, vocabulary))
    return list(dict.fromkeys(t for t in out if t))  # first occurrence of each, in order


def _split_piece(piece: str, vocabulary: Set[str]) -> list[str]:
    whole = normalize_span(piece)
    if not whole or whole in vocabulary or not _FINE.search(piece):
        return [whole]
    bits = _FINE.split(piece)  # [text, sep, text, sep, text...]
    texts, seps = bits[0::2], bits[1::2]
    out: list[str] = []
    i = 0
    while i < len(texts):
        # Longest run of fragments that re-joins into a known term, else the single fragment.
        for j in range(len(texts), i, -1):
            joined = texts[i] + "".join(seps[k] + texts[k + 1] for k in range(i, j - 1))
            norm = normalize_span(joined)
            if j == i + 1 or norm in vocabulary:
                out.append(norm)
                i = j
                break
    return out


def score_normalization(item: Item, response: str) -> Score:
    """Term-set F1 of the chosen standard terms against the gold line(s)."""
    gold = {t for line in _gold_lines(item) for t in split_terms(line)}
    pred = set(response_terms(response, _vocabulary(item)))
    if not pred:
        details: dict[str, Any] = {"tp": 0, "fp": 0, "fn": len(gold), "missing": sorted(gold), "terms": []}
        return Score(
            0.0,
            pass_of(0.0, item.pass_threshold),
            f"no terms in the response; expected {preview(sorted(gold))}",
            details,
            unparseable=True,
        )
    missing, extra = sorted(gold - pred), sorted(pred - gold)
    tp, fp, fn = len(gold & pred), len(extra), len(missing)
    f1, parts = f1_summary(tp, fp, fn, missing, extra)
    details = {"tp": tp, "fp": fp, "fn": fn, "missing": missing, "extra": extra, "terms": sorted(pred)}
    return Score(f1, pass_of(f1, item.pass_threshold), "; ".join(parts), details)
