"""Options named by their text instead of their letter ("EB病毒", "Oral corticosteroids", "第三项").

Matching goes from exact to loose, and stops at the first step that names options without
ambiguity: the whole reply is one option's text; then, with negated mentions cut out ("不是X",
"rather than X"), every listed part is one option's text, contains exactly one, or paraphrases
one; exactly one option's text appears in the reply; the reply is a piece of exactly one option;
finally a paraphrase close to one option (``choice_paraphrase``: shared words, character n-grams,
quantities and medical concepts, where a feature shared by several options counts less). A loose
match must beat the runner-up clearly, otherwise nothing is returned: a wrong letter is worse than
none, and the model fallback (``extractor_prompt``) reads what the rules cannot.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache

from .choice_paraphrase import MAX_CHARS, affirmed, closest

_DROP = re.compile(r"[\W_]+")
_DECIMAL = re.compile(r"(\d)\.(\d)")
_PARTS = re.compile(r"([,，、;；\n/&]+|\s+(?:and|plus|as\s+well\s+as)\s+|以及|及其|及|并且|加上)")
_JOINED = re.compile(r"\s+(?:and|plus)\s+|及")  # joins words inside one item too ("swelling of the lips and tongue")
_ENUMERATION = re.compile(r"、[^、\n]{1,40}、|,[^,\n]{1,60},\s*(?:and|or)\s")
_AND = re.compile(r"和|与|\s+and\s+")

MIN_PART_COVERAGE = 0.25  # a part of a list must cover a good share of the option it is read as

_ORDINAL_ZH = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "七": 6, "八": 7}
_ORDINAL_EN = {"first": 0, "second": 1, "third": 2, "fourth": 3, "fifth": 4, "sixth": 5, "1st": 0, "2nd": 1,
               "3rd": 2, "4th": 3, "5th": 4, "6th": 5}
_ORDINAL = re.compile(
    r"第([一二三四五六七八]|[1-8])(?:个)?(?:选项|项|个)|\bthe\s+(first|second|third|fourth|fifth|sixth|1st|2nd|3rd|4th|5th|6th)"
    r"\s+(?:option|choice|answer)\b",
    re.I,
)


def norm(text: str) -> str:
    """Lower-cased NFKC text without spaces or punctuation: what two spellings of one option share
    (a decimal point stays: "3.0 mg" is not "30 mg")."""
    return _DROP.sub("", _DECIMAL.sub(r"\1p\2", unicodedata.normalize("NFKC", text).casefold()))


def ordinal_choice(text: str, options: Mapping[str, str]) -> tuple[str, ...] | None:
    """"第三项", "the second option": the option in that place, when the reply names one place."""
    letters = list(options)
    found: set[str] = set()
    for m in _ORDINAL.finditer(text):
        raw = m.group(1) or m.group(2)
        index = _ORDINAL_ZH.get(raw, _ORDINAL_EN.get(raw.lower(), int(raw) - 1 if raw.isdigit() else -1))
        if 0 <= index < len(letters):
            found.add(letters[index])
    return tuple(found) if len(found) == 1 else None


@lru_cache(maxsize=256)
def _normed_options(items: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return {k: n for k, v in items if (n := norm(v))}


def text_choice(text: str, options: Mapping[str, str], fuzzy: bool = True) -> tuple[str, ...] | None:
    """Letters of the options the reply names by their text, or None when that is not clear."""
    normed = _normed_options(tuple(options.items()))
    whole = norm(text)
    if not whole or not normed:
        return None
    exact = _exact(whole, normed)
    if exact:
        return (exact,)
    text = affirmed(text, options)
    whole = norm(text)
    if not whole:
        return None
    listed = _listed(text, options, normed, fuzzy)
    if listed:
        return listed
    parts = _parts(text)
    if len(parts) >= 3 and _ENUMERATION.search(unicodedata.normalize("NFKC", text)):
        return _one_part(parts, options, normed) if fuzzy else None
    inside = _contained(whole, normed)
    if inside:
        return inside
    if fuzzy and len(text) <= MAX_CHARS:
        close = closest(text, options)
        if close:
            return (close,)
    return None


def _exact(part: str, normed: Mapping[str, str]) -> str | None:
    hits = [k for k, v in normed.items() if v == part]
    return hits[0] if len(hits) == 1 else None


def _contained(whole: str, normed: Mapping[str, str]) -> tuple[str, ...] | None:
    """One option's text inside the reply (the longest when one option contains another), or the
    reply inside exactly one option's text."""
    inside = [k for k, v in normed.items() if len(v) >= 2 and v in whole]
    inside = [k for k in inside if not any(k != o and normed[k] in normed[o] for o in inside)]
    if len(inside) == 1:
        return (inside[0],)
    if not inside and len(whole) >= 2:
        holders = [k for k, v in normed.items() if whole in v]
        if len(holders) == 1:
            return (holders[0],)
    return None


def _parts(text: str) -> list[str]:
    return [p for p in _PARTS.split(unicodedata.normalize("NFKC", text))[::2] if norm(p)]


def _joined_parts(text: str) -> list[tuple[str, str]]:
    """(the separator before it, part) for each part of a list."""
    pieces = _PARTS.split(unicodedata.normalize("NFKC", text))
    return [(pieces[i - 1] if i else "", pieces[i]) for i in range(0, len(pieces), 2) if norm(pieces[i])]


def _one_part(parts: list[str], options: Mapping[str, str], normed: Mapping[str, str]) -> tuple[str, ...] | None:
    """An enumeration that is not a list of options ("Tell the patient, apologize, and file a
    report"): one option close to one of its parts and to no other. A part naming an option
    outright means a list the rules only half read ("dry cough, swelling of the lips, …"): none."""
    if any(_exact(norm(p), normed) or _single(_contained(norm(p), normed)) for p in parts):
        return None
    hits = {hit for p in parts if (hit := closest(p, options)) is not None}
    return (hits.pop(),) if len(hits) == 1 else None


def _listed(text: str, options: Mapping[str, str], normed: Mapping[str, str], fuzzy: bool) -> tuple[str, ...] | None:
    """A list of option texts ("胆石症、大量饮酒", "MMR, varicella, and …"): every part must name one.
    A part that names none after "and" belongs to the part before it ("swelling of the lips and
    tongue"), when the two together still name one."""
    parts = _joined_parts(text)
    if len(parts) < 2:
        parts = [("", p) for p in _AND.split(unicodedata.normalize("NFKC", text)) if norm(p)]
        fuzzy = False  # "和" joins words inside one option too often to split on it loosely
    if len(parts) < 2:
        return None
    named: list[tuple[str, str]] = []  # (part, letter)
    for sep, part in parts:
        hit = _part_hit(part, options, normed, fuzzy)
        if hit is None and fuzzy and named and _JOINED.fullmatch(sep):
            merged = named[-1][0] + sep + part
            hit = _part_hit(merged, options, normed, fuzzy)
            if hit is not None:
                named[-1] = (merged, hit)
                continue
        if hit is None:
            return None
        named.append((part, hit))
    letters = {letter for _, letter in named}
    return tuple(sorted(letters)) if len(letters) >= 2 else None


def _part_hit(part: str, options: Mapping[str, str], normed: Mapping[str, str], fuzzy: bool) -> str | None:
    """The one option a part of a list names: its text, an option inside it, or (fuzzy) a paraphrase."""
    p = norm(part)
    hit = _exact(p, normed) or _single(_contained(p, normed))
    if hit is None and fuzzy:
        hit = closest(part, options, MIN_PART_COVERAGE)
    return hit


def _single(found: tuple[str, ...] | None) -> str | None:
    return found[0] if found and len(found) == 1 else None
