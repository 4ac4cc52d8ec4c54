"""Options named by their text instead of their letter ("EB病毒", "Oral corticosteroids", "第三项").

Matching goes from exact to loose, and stops at the first step that names options without
ambiguity: the whole reply is one option's text; every listed part is one option's text (or
contains exactly one); exactly one option's text appears in the reply; the reply is a piece of
exactly one option; finally a paraphrase close to one option (overlap of character n-grams,
where a feature shared by several options counts less). A loose match must beat the runner-up
clearly, otherwise nothing is returned: a wrong letter is worse than none, and the model
fallback (``extractor_prompt``) reads what the rules cannot.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache

_DROP = re.compile(r"[\W_]+")
_DECIMAL = re.compile(r"(\d)\.(\d)")
_PARTS = re.compile(r"[,，、;；\n/]+|\s+(?:and|plus|as\s+well\s+as)\s+|以及|及其|及|并且|加上")
_ENUMERATION = re.compile(r"、[^、\n]{1,40}、|,[^,\n]{1,60},\s*(?:and|or)\s")
_AND = re.compile(r"和|与|\s+and\s+")
_LATIN_WORD = re.compile(r"[a-z]{3,}")
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_STOP = frozenset(
    "the and with that this from into only have will should would could your their there than then when what "
    "which also been being more most very much such some each other about after before while patient patients "
    "option options answer choice".split()
)

FUZZY_MAX_CHARS = 400  # longer replies discuss several options; their paraphrase is not an answer
MIN_SHARED = 2.0  # e.g. two features no other option has
MIN_PART_COVERAGE = 0.25  # a part of a list must cover a good share of the option it is read as
MARGIN = 2.0

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
    listed = _listed(text, options, normed, fuzzy)
    if listed:
        return listed
    parts = _parts(text)
    if len(parts) >= 3 and _ENUMERATION.search(unicodedata.normalize("NFKC", text)):
        return _one_part(parts, options, normed) if fuzzy else None
    inside = _contained(whole, normed)
    if inside:
        return inside
    if fuzzy and len(text) <= FUZZY_MAX_CHARS:
        close = _closest(text, options)
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
    return [p for p in _PARTS.split(unicodedata.normalize("NFKC", text)) if norm(p)]


def _one_part(parts: list[str], options: Mapping[str, str], normed: Mapping[str, str]) -> tuple[str, ...] | None:
    """An enumeration that is not a list of options ("Tell the patient, apologize, and file a
    report"): one option close to one of its parts and to no other. A part naming an option
    outright means a list the rules only half read ("dry cough, swelling of the lips, …"): none."""
    if any(_exact(norm(p), normed) or _single(_contained(norm(p), normed)) for p in parts):
        return None
    hits = {hit for p in parts if (hit := _closest(p, options)) is not None}
    return (hits.pop(),) if len(hits) == 1 else None


def _listed(text: str, options: Mapping[str, str], normed: Mapping[str, str], fuzzy: bool) -> tuple[str, ...] | None:
    """A list of option texts ("胆石症、大量饮酒", "MMR, varicella, and …"): every part must name one."""
    parts = _parts(text)
    if len(parts) < 2:
        parts = [p for p in _AND.split(unicodedata.normalize("NFKC", text)) if norm(p)]
        fuzzy = False  # "和" joins words inside one option too often to split on it loosely
    if len(parts) < 2:
        return None
    letters: set[str] = set()
    for part in parts:
        p = norm(part)
        hit = _exact(p, normed) or _single(_contained(p, normed))
        if hit is None and fuzzy:
            hit = _closest(part, options, MIN_PART_COVERAGE)
        if hit is None:
            return None
        letters.add(hit)
    return tuple(sorted(letters)) if len(letters) >= 2 else None


def _single(found: tuple[str, ...] | None) -> str | None:
    return found[0] if found and len(found) == 1 else None


def _features(text: str) -> set[str]:
    """Character bigrams of Chinese runs, 4-grams of Latin words, and numbers."""
    t = unicodedata.normalize("NFKC", text).casefold()
    feats: set[str] = set()
    for run in _CJK_RUN.findall(t):
        feats.update(run[i:i + 2] for i in range(len(run) - 1))
        if len(run) == 1:
            feats.add(run)
    for word in _LATIN_WORD.findall(t):
        if word in _STOP:
            continue
        padded = f"^{word}$"
        feats.update(padded[i:i + 4] for i in range(len(padded) - 3))
    feats.update(_NUMBER.findall(t))
    return feats


def _closest(text: str, options: Mapping[str, str], min_coverage: float = 0.1) -> str | None:
    """The option a paraphrase is clearly closest to: most shared features, each weighted by how
    few options have it, at least ``MIN_SHARED`` of them and ``MARGIN`` times the runner-up."""
    feats = {k: _features(v) for k, v in options.items()}
    df: dict[str, int] = {}
    for fs in feats.values():
        for f in fs:
            df[f] = df.get(f, 0) + 1
    reply = _features(text)
    scores: list[tuple[float, float, str]] = []
    for k, fs in feats.items():
        total = sum(1 / df[f] for f in fs)
        shared = sum(1 / df[f] for f in fs & reply)
        scores.append((shared, shared / total if total else 0.0, k))
    scores.sort(reverse=True)
    if not scores or scores[0][0] < MIN_SHARED or scores[0][1] < min_coverage:
        return None
    if len(scores) > 1 and scores[0][0] < MARGIN * scores[1][0]:
        return None
    return scores[0][2]
