"""An option named by a paraphrase of its text ("Bleeding from a lack of vitamin K" for "Vitamin K
deficiency bleeding", "夜里出汗" for "盗汗"), and mentions that rule an option out ("not X", "不是X").

The reply and every option are reduced to features: Chinese character bigrams, English word stems
(stop words dropped, abbreviations and misspellings of an option's words read as those words),
numbers (also written in words: "five days", "一百毫克"), quantities in one unit ("400 µg" is
"0.4 mg"; "ten times the usual 400 µg dose" is "4 mg"), and the medical concepts of
``choice_synonyms``. An option scores the features it shares with the reply, each weighted by how
few options have it; it is chosen only with enough evidence and a clear lead over the runner-up,
since a wrong letter is worse than none (the model fallback reads the rest).

Negated mentions are cut out of the reply before matching: what follows a contrast ("rather than
X", "而不是X", ", not X") up to the end of its clause, and the whole clause of any other negation
("X is not…", "X不能…", "don't give X", "不是X"). A negation word that the options use themselves
("Observation only; eye protection is not needed") is read as their words, not as a negation.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from ..numerals import EN_NUMBERS, ZH_DIGITS, ZH_NUMERAL_CHARS, zh_value
from .choice_synonyms import concept_spans

MAX_CHARS = 400  # longer text discusses several options; its paraphrase is not an answer
MIN_SHARED = 2.0  # e.g. one concept, or two words, no other option has
MIN_COVERAGE_ALONE = 0.5  # less evidence will do when it is most of a short option
MARGIN = 2.0  # the best option must score this many times the runner-up
CONCEPT_WEIGHT = 2.0  # a concept or a quantity with its unit says more than one word
# Routes and timing qualify what is given ("IV insulin", "IV saline"): they count as one word.
MODIFIERS = frozenset(
    {"iv", "im", "oral", "sublingual", "inhaled", "intranasal", "immediately", "fasting", "with_food"}
)
SCOPE_MAX = 120  # how far a negation reaches when no clause boundary comes first

# --- negation -----------------------------------------------------------------------------------

_QUANTITY_LIMIT = r"(?!超过|多于|少于|低于|高于|大于|小于|超)"  # "不要超过3片" limits a dose, it rules nothing out
# A contrast rules out only what follows it; any other negation, its whole clause.
_CONTRAST = re.compile(
    r"\b(?:rather\s+than|instead\s+of|other\s+than|except(?:\s+for)?|excluding|compared\s+(?:with|to))\b"
    r"|而不是|而非|除了|与其|比起|相比于?",
    re.I,
)
_NEGATION = re.compile(
    rf"""\b(?:not|never|no)\b(?!\s+(?:the\s+)?(?:more|less|fewer|later|earlier|longer|sooner|only|just|doubt|matter|further)\b)
      | \b(?:don|doesn|didn|won|shouldn|mustn|isn|aren|wasn|weren)['’]t\b
      | \b(?:exclude[sd]?|rul(?:e|ed|ing)\s+out|avoid(?:ing)?|unnecessary|inappropriate)\b
      | \b(?:is|are|be)\s+(?:wrong|incorrect|a\s+mistake)\b
      | (?:不是|并非|不选|不用|不使用|不应该?|不宜|不要|不需要|无需|不必|不能|不会|不属于|不包括|不经|不通过|不引起
          |不导致|并不|没有|没用|无效|别(?:用|选|给)|排除|除外|不考虑|避免|禁止|不对|不正确|错误|不合适|不恰当|不适合
          |不推荐){_QUANTITY_LIMIT}""",
    re.X | re.I,
)
_CONTENT = re.compile(r"[a-z]{3,}|[\u3400-\u9fff]{2}", re.I)  # words, pairs of characters: how much a clause says
_BOUNDARY = re.compile(r"[,，。;；!！?？\n:：]|\.(?!\d)|\s[-—–]+\s|—|\bbut\b|而是|但是|但|然而|却", re.I)


def affirmed(text: str, options: Mapping[str, str]) -> str:
    """The text with its negated mentions cut out (each replaced by a clause break)."""
    folded = [v.lower() for v in options.values()]
    ends = [m.start() for m in _BOUNDARY.finditer(text)]
    cuts = [
        (m.start(), _clause_end(ends, text, m.end()))
        for m in _CONTRAST.finditer(text)
        if not _own_words(m.group(), folded)
    ]
    contrasts = list(cuts)
    cuts += [
        (_clause_start(ends, text, m), _clause_end(ends, text, m.end()))
        for m in _NEGATION.finditer(text)
        if not _own_words(m.group(), folded) and not _inside(contrasts, m.start())
    ]
    if not cuts:
        return text
    out, pos = [], 0
    for start, end in sorted(cuts):
        if end <= pos:
            continue
        out.append(text[pos : max(pos, start)])
        out.append("；")
        pos = max(pos, end)
    out.append(text[pos:])
    return "".join(out)


def _own_words(cue: str, folded_options: list[str]) -> bool:
    """The options use this negation themselves: in the reply it is their wording."""
    said = _as_word(cue.lower())
    return any(said.search(v) for v in folded_options)


@lru_cache(maxsize=128)
def _as_word(cue: str) -> re.Pattern[str]:
    """The cue as a whole word: "not" is not in "notifiable"."""
    return re.compile(rf"(?<![a-z]){re.escape(cue)}(?![a-z])")


def _inside(contrasts: list[tuple[int, int]], pos: int) -> bool:
    """ "rather than not treating": a negation already cut out with its contrast (the cuts are in
    order, and so are their ends, so the last one that starts before ``pos`` decides)."""
    i = bisect.bisect_right(contrasts, (pos, float("inf"))) - 1
    return i >= 0 and contrasts[i][0] <= pos < contrasts[i][1]


def _clause_end(ends: list[int], text: str, pos: int) -> int:
    """The next clause break after ``pos``, at most ``SCOPE_MAX`` away (bounded work per cue)."""
    i = bisect.bisect_left(ends, pos)
    return min(ends[i], pos + SCOPE_MAX) if i < len(ends) else min(len(text), pos + SCOPE_MAX)


def _clause_start(ends: list[int], text: str, cue: re.Match[str]) -> int:
    """Where the clause of a negation starts; a bare verdict ("…起效慢，不合适", "…, so no") takes
    the clause before it along, which says what it is about."""
    floor = max(0, cue.start() - SCOPE_MAX)
    i = bisect.bisect_left(ends, cue.start()) - 1
    start = max(ends[i] + 1 if i >= 0 else 0, floor)
    if (
        i >= 0
        and text[ends[i]] in ",，"
        and len(_CONTENT.findall(text, start, _clause_end(ends, text, cue.end()))) <= 1
    ):
        start = max(ends[i - 1] + 1 if i >= 1 else 0, floor)
    return start


# --- numbers written in words --------------------------------------------------------------------

_EN_NUMBER = re.compile(
    r"\b(" + "|".join(EN_NUMBERS) + r")\b(?=[ \t-]+(?:mg|g|ml|micrograms?|milligrams?|grams?"
    r"|minutes?|hours?|days?|weeks?|months?|years?|tablets?|times|doses?)\b)",
    re.I,
)
_ZH_NUMBER = re.compile(
    rf"([{ZH_NUMERAL_CHARS}]{{1,9}})(个半|个)?(?=天|日|周|月|年|岁|小时|分钟|次|毫克|微克|克|毫升|片|粒|倍|mg|g|ml)"
)


def _zh_number(run: str) -> str:
    """ "一百" → "100", "十五" → "15", "二三" (two or three) → "2~3"; else the run unchanged."""
    if len(run) == 2 and all(c in ZH_DIGITS for c in run) and ZH_DIGITS[run[1]] == ZH_DIGITS[run[0]] + 1:
        return f"{ZH_DIGITS[run[0]]}~{ZH_DIGITS[run[1]]}"
    value = zh_value(run)
    return run if value is None else str(value)


def _digits(text: str) -> str:
    """Numbers written in words, as digits, where a unit follows ("five days", "一百毫克", "四个半小时")."""
    text = _EN_NUMBER.sub(lambda m: str(EN_NUMBERS[m.group(1).lower()]), text)
    return _ZH_NUMBER.sub(lambda m: _zh_number(m.group(1)) + (".5" if m.group(2) == "个半" else ""), text)


# --- features -----------------------------------------------------------------------------------

_NUM = r"\d+(?:\.\d+)?"
_UNITS = {
    "mg": ("mass", 1.0),
    "milligram": ("mass", 1.0),
    "毫克": ("mass", 1.0),
    "g": ("mass", 1000.0),
    "gram": ("mass", 1000.0),
    "克": ("mass", 1000.0),
    "kg": ("mass", 1e6),
    "mcg": ("mass", 0.001),
    "μg": ("mass", 0.001),
    "ug": ("mass", 0.001),
    "microgram": ("mass", 0.001),
    "微克": ("mass", 0.001),
    "ml": ("volume", 1.0),
    "milliliter": ("volume", 1.0),
    "millilitre": ("volume", 1.0),
    "毫升": ("volume", 1.0),
    "l": ("volume", 1000.0),
    "liter": ("volume", 1000.0),
    "litre": ("volume", 1000.0),
    "min": ("time", 1.0),
    "minute": ("time", 1.0),
    "分钟": ("time", 1.0),
    "h": ("time", 60.0),
    "hr": ("time", 60.0),
    "hour": ("time", 60.0),
    "小时": ("time", 60.0),
    "d": ("time", 1440.0),
    "day": ("time", 1440.0),
    "天": ("time", 1440.0),
    "日": ("time", 1440.0),
    "week": ("time", 10080.0),
    "周": ("time", 10080.0),
}
_UNIT = "|".join(sorted((re.escape(u) for u in _UNITS), key=len, reverse=True))
_QUANTITY = (
    rf"(?P<num>{_NUM})(?:[ \t]*(?:[~～–—至到-]|to)[ \t]*(?P<upto>{_NUM}))?[ \t]*-?[ \t]*(?P<unit>{_UNIT})"
    r"(?:s|es)?(?![a-z])"
)
_TIMES_EN = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twice": 2,
    "double": 2,
    "triple": 3,
    "half": 0.5,
}  # the last four stand without "times"
_TIMES_ZH = {"一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_MULTIPLE = re.compile(
    rf"(?<![a-z0-9.])(?:(?P<mult>{_NUM}|{'|'.join(_TIMES_EN)})[ \t]*(?:times|x|×|-?fold)|(?P<mword>twice|double|triple|half))"
    rf"[ \t]+(?:(?:the|a)[ \t]+)?(?:(?:usual|standard|normal|regular|recommended|typical|routine|starting|initial)[ \t]+)?"
    rf"(?:dose[ \t]+of[ \t]+)?{_QUANTITY}"
    rf"|{_QUANTITY.replace('num', 'znum').replace('unit', 'zunit').replace('upto', 'zupto')}[ \t]*的?[ \t]*"
    rf"(?P<zmult>\d+|[一两二三四五六七八九十])[ \t]*倍",
    re.I,
)
_PLAIN_QUANTITY = re.compile(_QUANTITY + r"|(?P<half>half an hour|半小时|半个小时)", re.I)
_PLAIN_NUMBER = re.compile(_NUM)
_WORD = re.compile(r"[a-z]+(?:-[a-z]+)*")
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_DISCOURSE = frozenset("not no never only also too just even both either but same".split())  # they discuss
_SUFFIXES = ("ations", "ation", "ions", "ion", "ings", "ing", "edly", "ed", "ies", "es", "ly", "s")
_BRITISH = re.compile(r"(?<=[a-z])(?:ae|oe)(?=[a-z])|(?<=[a-z]{3})our$")  # "haemorrhage", "diarrhoea", "colour"
_STOP = frozenset(
    "a an the and or of to in on at by for with from into as is are was were be been being it its this that these those "
    "than then there their them they he she him her his we you your our i my me should would could can may might must "
    "will shall do does did has have had not no only also very more most much such some each other about after before "
    "while which what when who how if so just any all both either give given use used using take taking start put get "
    "make patient patients option options answer choice first up us".split()
)


def _american(word: str) -> str:
    """One spelling for words of some length ("haemorrhage", "colour"; not "does")."""
    return _BRITISH.sub(lambda m: "e" if len(m.group()) == 2 else "or", word) if len(word) >= 6 else word


def _number(value: float) -> str:
    """One spelling per value, so that "4", "4.0" and "4000 µg" in mg meet."""
    return f"{value:.6g}"


def _quantity(num: str, unit: str, times: float = 1.0) -> tuple[str, float]:
    """(kind, value in the kind's base unit: mg, ml, minutes)."""
    kind, scale = _UNITS[unit.lower()]
    return kind, float(num) * scale * times


def _stem(word: str) -> str:
    """A crude stem that makes inflections meet ("decompress"/"decompression", "steroid"/"steroids")."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4 and not (suffix == "s" and word[-2] in "su"):
            word = word[: -len(suffix)] + ("y" if suffix == "ies" else "")
            break
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word[:7]


@dataclass(frozen=True)
class Profile:
    """A text's features (feature → weight), its English content words (by stem), and for each
    concept the features of the words it was read from (a reply that names the concept has said
    those words in its own)."""

    feats: dict[str, float]
    words: dict[str, str]
    spans: dict[str, frozenset[str]]

    @property
    def counts(self) -> bool:
        """Whether the text states any number."""
        return any(f[:2] in ("n:", "q:") for f in self.feats)


def features(text: str, reply: bool = True) -> Profile:
    """Concepts, quantities (blanked out once read), numbers, English stems and Chinese bigrams.
    In a reply the words a concept was read from are blanked out too, so that "IV saline" does
    not count "IV" twice; an option keeps them, so that "消化道出血" still meets "上消化道出血"."""
    t = _digits(unicodedata.normalize("NFKC", text).lower())
    feats: dict[str, float] = {}
    spans: dict[str, frozenset[str]] = {}
    chars = list(t)
    for start, end, concept in concept_spans(t):
        feats[f"c:{concept}"] = 1.0 if concept in MODIFIERS else CONCEPT_WEIGHT
        if reply:
            chars[start:end] = " " * (end - start)
        else:
            spans[f"c:{concept}"] = spans.get(f"c:{concept}", frozenset()) | frozenset(_surface(t[start:end])[0])
    t = "".join(chars)
    t = _MULTIPLE.sub(lambda m: _mask(m, feats, multiple=True), t)
    t = _PLAIN_QUANTITY.sub(lambda m: _mask(m, feats, multiple=False), t)
    for n in _PLAIN_NUMBER.findall(t):
        feats[f"n:{_number(float(n))}"] = 1.0
    surface, words = _surface(t)
    feats.update((f, 1.0) for f in surface)
    return Profile(feats, words, spans)


def _surface(t: str) -> tuple[set[str], dict[str, str]]:
    """English stems and Chinese bigrams of lower-cased text, and the English words by stem."""
    words: dict[str, str] = {}
    for token in _WORD.findall(t):
        parts = [_american(w) for w in token.split("-")]
        for word in parts + (["".join(parts)] if len(parts) > 1 else []):  # "anti-Sm" is also "antism"
            if word not in _STOP and len(word) >= 2:
                words[f"w:{_stem(word)}"] = word
    grams = {f"z:{run[i : i + 2]}" for run in _CJK_RUN.findall(t) for i in range(len(run) - 1)}
    return set(words) | grams, words


def _mask(m: re.Match[str], feats: dict[str, float], multiple: bool) -> str:
    """Records the quantities a match states (both ends of a range, with their numbers; a multiple
    of a dose only as the product) and blanks the match out of the text."""
    if multiple:
        mult = (m.group("mult") or m.group("mword") or m.group("zmult")).lower()
        times = _TIMES_EN.get(mult) or _TIMES_ZH.get(mult) or float(mult)
        stated = [_quantity(m.group("num") or m.group("znum"), m.group("unit") or m.group("zunit"), times)]
    elif m.group("half"):
        stated = [("time", 30.0)]
    else:
        numbers = [n for n in (m.group("num"), m.group("upto")) if n]
        stated = [_quantity(n, m.group("unit")) for n in numbers]
        feats.update((f"n:{_number(float(n))}", 1.0) for n in numbers)
    feats.update((f"q:{kind}:{_number(value)}", CONCEPT_WEIGHT) for kind, value in stated)
    return " " * (m.end() - m.start())


# --- matching -----------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _option_table(items: tuple[tuple[str, str], ...]) -> tuple[dict[str, Profile], dict[str, int]]:
    """Each option's features, and in how many options each feature occurs."""
    table = {k: features(v, reply=False) for k, v in items}
    df: dict[str, int] = {}
    for profile in table.values():
        for f in profile.feats:
            df[f] = df.get(f, 0) + 1
    return table, df


def closest(
    text: str,
    options: Mapping[str, str],
    min_coverage: float = 0.1,
    min_shared: float = MIN_SHARED,
    margin: float = MARGIN,
) -> str | None:
    """The option a paraphrase clearly means: enough shared evidence (``min_shared``, or most of
    the option), at least ``min_coverage`` of the option (numbers aside when the reply states
    none), and ``margin`` times the runner-up."""
    if len(text) > MAX_CHARS:
        return None
    scores = sorted(_scores(text, options), reverse=True)
    if not scores:
        return None
    shared, coverage, best = scores[0]
    if coverage < min_coverage or not (shared >= min_shared or (shared >= 1.0 and coverage >= MIN_COVERAGE_ALONE)):
        return None
    if len(scores) > 1 and shared < margin * scores[1][0]:
        return None
    return best


def mentioned(text: str, options: Mapping[str, str]) -> str | None:
    """The option a clause is most about, on any evidence (one shared word will do), if one leads."""
    if len(text) > MAX_CHARS:
        return None
    scores = sorted(_scores(text, options), reverse=True)
    if not scores or scores[0][0] < 1.0 or (len(scores) > 1 and scores[0][0] == scores[1][0]):
        return None
    return scores[0][2]


def _scores(text: str, options: Mapping[str, str]) -> list[tuple[float, float, str]]:
    """(shared evidence, share of the option covered, letter) per option. A concept of the option
    counts as named when the reply names it or writes all the words it was read from there
    ("ibuprofin" names the NSAID of "Ibuprofen"); a named concept covers those words."""
    table, df = _option_table(tuple(options.items()))
    said = features(text)
    reply = _respelled(said, table)
    scores = []
    for k, profile in table.items():
        weighed = {f: w / df[f] for f, w in profile.feats.items() if said.counts or f[:2] not in ("n:", "q:")}
        named = {c for c, words in profile.spans.items() if c in reply or (words and words <= reply.keys())}
        shared = sum(w for f, w in weighed.items() if f in reply or f in named)
        credited = set(reply).union(named, *(profile.spans[c] for c in named))
        covered = sum(w for f, w in weighed.items() if f in credited)
        scores.append((shared, covered / sum(weighed.values()) if weighed else 0.0, k))
    return scores


def bare(text: str, options: Mapping[str, str], letters: Iterable[str]) -> bool:
    """Whether the text says little besides naming these options: at most one English content
    word, or two Chinese characters, that none of them accounts for (a route or a time, "IM",
    "立即", qualifies a choice and is not counted). "Thinning bones" and "夜里出汗" name an option;
    "lisinopril protects the kidneys" and "异丙嗪能止痒" discuss one."""
    table, _ = _option_table(tuple(options.items()))
    named = [table[k] for k in letters if k in table]
    t = _digits(unicodedata.normalize("NFKC", text).lower())
    covered = bytearray(len(t))
    for start, end, concept in concept_spans(t):
        if concept in MODIFIERS or any(f"c:{concept}" in p.feats for p in named):
            covered[start:end] = b"\x01" * (end - start)
    loose = 0.0
    for m in _WORD.finditer(t):
        for word in (_american(w) for w in m.group().split("-")):
            if word in _DISCOURSE or not (
                covered[m.start()] or word in _STOP or len(word) < 2 or any(_accounts(word, p) for p in named)
            ):
                loose += 1
    for m in _CJK_RUN.finditer(t):
        run = m.group()
        for i in range(len(run) - 1):
            if any(f"z:{run[i : i + 2]}" in p.feats for p in named):
                covered[m.start() + i : m.start() + i + 2] = b"\x01\x01"
        loose += sum(0.5 for i in range(m.start(), m.end()) if not covered[i])
    return loose < 1.5


def _accounts(word: str, option: Profile) -> bool:
    """The option has this word, or one it abbreviates or misspells."""
    return f"w:{_stem(word)}" in option.feats or any(_alike(word, w) for w in option.words.values())


def _respelled(said: Profile, table: Mapping[str, Profile]) -> dict[str, float]:
    """The reply's features, each English word the options lack read as the option word it
    abbreviates or misspells ("doxy", "amoxcillin", "photofobia"), when there is one."""
    vocabulary = {stem: word for profile in table.values() for stem, word in profile.words.items()}
    found = dict(said.feats)
    for stem, word in said.words.items():
        if stem in vocabulary:
            continue
        meant = [s for s, w in vocabulary.items() if _alike(word, w)]
        if meant:
            del found[stem]
            found.update((s, 1.0) for s in meant)
    return found


def _alike(said: str, word: str) -> bool:
    """An abbreviation (a long prefix of a longer word) or a misspelling (most letter trigrams
    shared and the same first four letters, so "hypo-" never reads as "hyper-")."""
    if len(said) >= 4 and len(word) >= len(said) + 3 and word.startswith(said):
        return True
    if min(len(said), len(word)) < 5 or said[:4] != word[:4]:
        return False
    a, b = _trigrams(said), _trigrams(word)
    return 2 * len(a & b) >= 0.6 * (len(a) + len(b))


def _trigrams(word: str) -> set[str]:
    """Letter trigrams with the word's ends marked, so that first and last letters weigh in."""
    padded = f"^{word}$"
    return {padded[i : i + 3] for i in range(len(padded) - 2)}
