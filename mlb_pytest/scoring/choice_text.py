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

from .choice_paraphrase import MAX_CHARS, affirmed, bare, closest, mentioned

_DROP = re.compile(r"[\W_]+")
_DECIMAL = re.compile(r"(\d)\.(\d)")
_PARTS = re.compile(
    r"([,，、;；\n/&]+|\s+(?:and|plus|as\s+well\s+as)\s+|以及|及其|及(?!时)|并且|加上)"
)  # "及时" is "timely"
_SENTENCE_END = re.compile(r"[。!！?？；;\n]|\.(?:\s|$)|\s[—–-]+\s|—")
_CONCLUDES = re.compile(r"所以|因此|综上|总之|故选|答案|\b(?:so|therefore|thus|hence|answer|overall)\b", re.I)
_CONTRASTS = re.compile(r"但是?|然而|不过|\b(?:but|however|whereas|although)\b", re.I)
_LEAD_WORD = re.compile(
    r"[:：—]|为|是|有|包括|应该?|需要|建议|\b(?:include|includes|including|are|is|should|must|need\s+to)\b", re.I
)
_TAIL_WORD = re.compile(r"都|均|全|\b(?:all|both|are|were|can|may)\b", re.I)
_LEAD_IN = re.compile(r"^[^:：\n]{1,60}[:：]")
_JOINED = re.compile(r"\s+(?:and|plus)\s+|及")  # joins words inside one item too ("swelling of the lips and tongue")
_ENUMERATION = re.compile(r"、[^、\n]{1,40}、|,[^,\n]{1,60},\s*(?:and|or)\s")
_AND = re.compile(r"和|与|\s+and\s+")

MIN_PART_COVERAGE = 0.3  # a part of a list must cover a good share of the option it is read as
PART_MARGIN = 1.5  # within a list, one feature more than the runner-up tells two options apart

_ORDINAL_ZH = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "七": 6, "八": 7}
_ORDINAL_EN = {
    "first": 0,
    "second": 1,
    "third": 2,
    "fourth": 3,
    "fifth": 4,
    "sixth": 5,
    "1st": 0,
    "2nd": 1,
    "3rd": 2,
    "4th": 3,
    "5th": 4,
    "6th": 5,
}
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
    """ "第三项", "the second option": the option in that place, when the reply names one place."""
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
    listed = _listed(_after_lead(text, normed), options, normed, fuzzy)
    if listed:
        return listed
    parts = _parts(text)
    if len(parts) >= 3 and _ENUMERATION.search(unicodedata.normalize("NFKC", text)):
        if not (fuzzy and _one_part(parts, options, normed)):
            return None
    elif len(parts) >= 3 and _half_read(parts, options, normed):
        return None
    inside = _contained(whole, normed)
    if inside:
        return inside
    if fuzzy and len(text) <= MAX_CHARS and not _weighs_options(text, whole, normed):
        close = closest(text, options)
        if close:
            return (close,)
    return None


def lead_choice(text: str, options: Mapping[str, str]) -> tuple[str, ...] | None:
    """A reply that opens with its answer and then discusses the others ("肾上腺素。地塞米松起效
    太慢…", "Amlodipine — a calcium channel blocker. Lisinopril is less effective…"): options
    named in the first sentence, when it says little else and no later sentence concludes."""
    end = _SENTENCE_END.search(text)
    if end is None or _CONCLUDES.search(text, end.end()):
        return None
    first = affirmed(text[: end.start()], options)
    found = text_choice(first, options)
    return found if found and bare(first, options, found) else None


def _weighs_options(text: str, whole: str, normed: Mapping[str, str]) -> bool:
    """The reply names several options outright, or weighs pros against cons ("X is quick but…;
    Y is cheap but…"): it discusses options, and no paraphrase in it is a choice."""
    return len(_written(whole, normed)) >= 2 or len(_CONTRASTS.findall(text)) >= 2


def _exact(part: str, normed: Mapping[str, str]) -> str | None:
    hits = [k for k, v in normed.items() if v == part]
    return hits[0] if len(hits) == 1 else None


def _contained(whole: str, normed: Mapping[str, str]) -> tuple[str, ...] | None:
    """One option's text inside the reply (the longest when one option contains another), or the
    reply inside exactly one option's text."""
    inside = _written(whole, normed)
    if len(inside) == 1:
        return (inside[0],)
    if not inside and len(whole) >= 2:
        holders = [k for k, v in normed.items() if whole in v]
        if len(holders) == 1:
            return (holders[0],)
    return None


def _written(whole: str, normed: Mapping[str, str]) -> list[str]:
    """Options whose text the reply writes out (the longest where one option contains another;
    a number only as a whole number: "50mg" is not written in "250mg")."""
    inside = [k for k, v in normed.items() if len(v) >= 2 and _number_safe(v).search(whole)]
    return [k for k in inside if not any(k != o and normed[k] in normed[o] for o in inside)]


@lru_cache(maxsize=1024)
def _number_safe(value: str) -> re.Pattern[str]:
    """An option's normalised text as a pattern that a longer number does not contain."""
    return re.compile(rf"(?<!\d)(?<!\dp){re.escape(value)}" if value[0].isdigit() else re.escape(value))


def _parts(text: str) -> list[str]:
    """The non-empty parts of a list, without their separators."""
    return [p for p in _PARTS.split(unicodedata.normalize("NFKC", text))[::2] if norm(p)]


def _joined_parts(text: str) -> list[tuple[str, str]]:
    """(the separator before it, part) for each part of a list."""
    pieces = _PARTS.split(unicodedata.normalize("NFKC", text))
    return [(pieces[i - 1] if i else "", pieces[i]) for i in range(0, len(pieces), 2) if norm(pieces[i])]


def _one_part(parts: list[str], options: Mapping[str, str], normed: Mapping[str, str]) -> bool:
    """Whether an enumeration that is not a list of options ("Tell the patient, apologize, and
    file a report") is about one option at most, so that the reply as a whole may name it. A
    part naming an option outright means a list the rules only half read ("dry cough, swelling
    of the lips, …"); parts about different options, a discussion ("Steroids reduce
    inflammation, acyclovir targets the virus, …")."""
    if any(_exact(norm(p), normed) or _single(_contained(norm(p), normed)) for p in parts):
        return False
    return len({hit for p in parts if (hit := mentioned(p, options)) is not None}) <= 1


def _half_read(parts: list[str], options: Mapping[str, str], normed: Mapping[str, str]) -> bool:
    """A list with one option written out and another one paraphrased ("The pill, recent major
    surgery, being immobilised…"): reading the written one alone would be a partial answer."""
    exact = {hit for p in parts if (hit := _exact(norm(p), normed))}
    return len(exact) == 1 and any((hit := mentioned(p, options)) and hit not in exact for p in parts)


def _listed(text: str, options: Mapping[str, str], normed: Mapping[str, str], fuzzy: bool) -> tuple[str, ...] | None:
    """A list of option texts ("胆石症、大量饮酒", "MMR, varicella, and …"): every part must name one,
    and say little else (the first may lead in: "一般表现为下午低烧、…", the last may round off:
    "…都会升高血钾"). A part that names none after "and" belongs to the part before it ("swelling
    of the lips and tongue"), when the two together still name one."""
    parts = _joined_parts(text)
    if len(parts) < 2:
        parts = [("", p) for p in _AND.split(unicodedata.normalize("NFKC", text)) if norm(p)]
        fuzzy = False  # "和" joins words inside one option too often to split on it loosely
    if len(parts) < 2:
        return None
    named: list[tuple[str, set[str]]] = []  # (part, letters)
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
    if not (
        all(bare(part, options, hit) for part, hit in named[1:-1])
        and _rounds_off(*named[-1], options, normed, fuzzy)
        and (len(named) >= 3 or _leads_in(*named[0], options, normed, fuzzy))
    ):
        return None  # "X lowers the pressure; Y protects the kidneys": options discussed, not listed
    letters = set().union(*(hit for _, hit in named))
    return tuple(sorted(letters)) if len(letters) >= 2 else None


def _leads_in(part: str, hit: set[str], options: Mapping[str, str], normed: Mapping[str, str], fuzzy: bool) -> bool:
    """The first part of a list names its options and says little else, or only leads in to them
    ("一般表现为下午低烧", "The live ones — MMR"); not "Epinephrine is not the only option"."""
    if bare(part, options, hit):
        return True
    leads = list(_LEAD_WORD.finditer(part))
    rest = part[leads[-1].end() :] if leads else ""
    return bool(norm(rest)) and _part_hit(rest, options, normed, fuzzy) == hit and bare(rest, options, hit)


def _rounds_off(part: str, hit: set[str], options: Mapping[str, str], normed: Mapping[str, str], fuzzy: bool) -> bool:
    """The last part of a list names its options and says little else, or then says something of
    the whole list ("…和缬沙坦都会升高血钾", "…and cancer all raise the risk")."""
    if bare(part, options, hit):
        return True
    tail = _TAIL_WORD.search(part)
    head = part[: tail.start()] if tail else ""
    return bool(norm(head)) and _part_hit(head, options, normed, fuzzy) == hit and bare(head, options, hit)


def _part_hit(part: str, options: Mapping[str, str], normed: Mapping[str, str], fuzzy: bool) -> set[str] | None:
    """The options a part of a list names: one by its text, an option inside it, or (fuzzy) a
    paraphrase; or, joined by "and"/"和", one per piece ("母婴和性接触传播", "咯血和消瘦")."""
    pieces = [q for q in _AND.split(part) if norm(q)]
    if len(pieces) > 1:
        hits = [_piece_hit(q, options, normed, fuzzy) for q in pieces]
        if None not in hits:
            return {hit for hit in hits if hit}
    hit = _piece_hit(part, options, normed, fuzzy)
    return {hit} if hit else None


def _piece_hit(part: str, options: Mapping[str, str], normed: Mapping[str, str], fuzzy: bool) -> str | None:
    """The one option a piece of a list names, exactly or (fuzzy) by a paraphrase."""
    p = norm(part)
    hit = _exact(p, normed) or _single(_contained(p, normed))
    if hit is None and fuzzy:  # a list item is short: one word no other option has will do
        hit = closest(part, options, MIN_PART_COVERAGE, min_shared=1.0, margin=PART_MARGIN)
    return hit


def _after_lead(text: str, normed: Mapping[str, str]) -> str:
    """A list after its lead-in ("The live vaccines: MMR, …", "典型表现有：…") without the lead-in,
    when the lead-in names no option."""
    colon = _LEAD_IN.search(text)
    if colon is None or _contained(norm(text[: colon.start()]), normed):
        return text
    return text[colon.end() :]


def _single(found: tuple[str, ...] | None) -> str | None:
    return found[0] if found and len(found) == 1 else None
