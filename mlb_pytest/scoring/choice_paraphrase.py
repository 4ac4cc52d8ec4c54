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
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from .choice_synonyms import concept_spans

MAX_CHARS = 400  # longer text discusses several options; its paraphrase is not an answer
MIN_SHARED = 2.0  # e.g. one concept, or two words, no other option has
MIN_COVERAGE_ALONE = 0.5  # less evidence will do when it is most of a short option
MARGIN = 2.0  # the best option must score this many times the runner-up
CONCEPT_WEIGHT = 2.0  # a concept or a quantity with its unit says more than one word
# Routes and timing qualify what is given ("IV insulin", "IV saline"): they count as one word.
MODIFIERS = frozenset({"iv", "im", "oral", "sublingual", "inhaled", "intranasal", "immediately", "fasting", "with_food"})
SCOPE_MAX = 120  # how far a negation reaches when no clause boundary comes first

# --- negation -----------------------------------------------------------------------------------

_QUANTITY_LIMIT = r"(?!超过|多于|少于|低于|高于|大于|小于|超)"  # "不要超过3片" limits a dose, it rules nothing out
# A contrast rules out only what follows it; any other negation, its whole clause.
_CONTRAST = re.compile(r"\b(?:rather\s+than|instead\s+of|other\s+than|except(?:\s+for)?|excluding)\b|而不是|而非|除了",
                       re.I)
_NEGATION = re.compile(
    rf"""\b(?:not|never|no)\b(?!\s+(?:more|less|fewer|later|earlier|longer|sooner|only|just|doubt|matter|further)\b)
      | \b(?:don|doesn|didn|won|shouldn|mustn|isn|aren|wasn|weren|can)['’]t\b | \bcannot\b
      | \b(?:exclude[sd]?|rul(?:e|ed|ing)\s+out|avoid(?:ing)?)\b | \b(?:is|are)\s+(?:wrong|incorrect)\b
      | (?:不是|并非|不选|不用|不使用|不应该?|不宜|不要|不需要|无需|不必|不能|不会|不属于|不包括|不经|不通过|不引起
          |不导致|并不|没有|别(?:用|选|给)|排除|除外|不考虑|避免|禁止|不对|不正确|错误){_QUANTITY_LIMIT}""",
    re.X | re.I,
)
_BOUNDARY = re.compile(r"[,，。;；!！?？\n:：]|\.(?!\d)|\s[-—–]+\s|—|\bbut\b|而是|但是|但|然而|却", re.I)


def affirmed(text: str, options: Mapping[str, str]) -> str:
    """The text with its negated mentions cut out (each replaced by a clause break)."""
    folded = [v.lower() for v in options.values()]
    ends = [m.start() for m in _BOUNDARY.finditer(text)]
    cuts = [(m.start(), _clause_end(ends, text, m.end())) for m in _CONTRAST.finditer(text)
            if not _own_words(m.group(), folded)]
    cuts += [(_clause_start(ends, m.start()), _clause_end(ends, text, m.end())) for m in _NEGATION.finditer(text)
             if not _own_words(m.group(), folded) and not _inside(cuts, m.start())]
    if not cuts:
        return text
    out, pos = [], 0
    for start, end in sorted(cuts):
        if end <= pos:
            continue
        out.append(text[pos:max(pos, start)])
        out.append("；")
        pos = max(pos, end)
    out.append(text[pos:])
    return "".join(out)


def _own_words(cue: str, folded_options: list[str]) -> bool:
    """The options use this negation themselves: in the reply it is their wording."""
    cue = cue.lower()
    return any(cue in v for v in folded_options)


def _inside(cuts: list[tuple[int, int]], pos: int) -> bool:
    """"rather than not treating": a negation already cut out with its contrast."""
    return any(start <= pos < end for start, end in cuts)


def _clause_end(ends: list[int], text: str, pos: int) -> int:
    i = bisect.bisect_left(ends, pos)
    return min(ends[i], pos + SCOPE_MAX) if i < len(ends) else min(len(text), pos + SCOPE_MAX)


def _clause_start(ends: list[int], pos: int) -> int:
    i = bisect.bisect_left(ends, pos) - 1
    start = ends[i] + 1 if i >= 0 else 0
    return max(start, pos - SCOPE_MAX)


# --- numbers written in words --------------------------------------------------------------------

_EN_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
               "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30}
_EN_NUMBER = re.compile(r"\b(" + "|".join(_EN_NUMBERS) + r")\b(?=[ \t-]+(?:mg|g|ml|micrograms?|milligrams?|grams?"
                        r"|minutes?|hours?|days?|weeks?|months?|years?|tablets?|times|doses?)\b)", re.I)
_ZH_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000}
_ZH_NUMBER = re.compile(r"([零一二两三四五六七八九十百千]{1,6})(?=天|日|周|月|年|岁|小时|分钟|次|毫克|微克|克|毫升|片|粒|倍|mg|g|ml)")


def _zh_number(run: str) -> str:
    """"一百" → "100", "十五" → "15", "二三" (two or three) → "2~3"; else the run unchanged."""
    if len(run) == 2 and all(c in _ZH_DIGITS for c in run) and _ZH_DIGITS[run[1]] == _ZH_DIGITS[run[0]] + 1:
        return f"{_ZH_DIGITS[run[0]]}~{_ZH_DIGITS[run[1]]}"
    total, digit = 0, None
    for c in run:
        if c in _ZH_DIGITS:
            if digit is not None:
                return run
            digit = _ZH_DIGITS[c]
        else:
            total += (1 if digit is None else digit) * _ZH_UNITS[c]
            digit = None
    return str(total + (digit or 0))


def _digits(text: str) -> str:
    """Numbers written in words, as digits, where a unit follows ("five days", "一百毫克")."""
    text = _EN_NUMBER.sub(lambda m: str(_EN_NUMBERS[m.group(1).lower()]), text)
    return _ZH_NUMBER.sub(lambda m: _zh_number(m.group(1)), text)


# --- features -----------------------------------------------------------------------------------

_NUM = r"\d+(?:\.\d+)?"
_UNITS = {
    "mg": ("mass", 1.0), "milligram": ("mass", 1.0), "毫克": ("mass", 1.0),
    "g": ("mass", 1000.0), "gram": ("mass", 1000.0), "克": ("mass", 1000.0), "kg": ("mass", 1e6),
    "mcg": ("mass", 0.001), "μg": ("mass", 0.001), "ug": ("mass", 0.001), "microgram": ("mass", 0.001),
    "微克": ("mass", 0.001),
    "ml": ("volume", 1.0), "milliliter": ("volume", 1.0), "millilitre": ("volume", 1.0), "毫升": ("volume", 1.0),
    "l": ("volume", 1000.0), "liter": ("volume", 1000.0), "litre": ("volume", 1000.0),
    "min": ("time", 1.0), "minute": ("time", 1.0), "分钟": ("time", 1.0),
    "h": ("time", 60.0), "hr": ("time", 60.0), "hour": ("time", 60.0), "小时": ("time", 60.0),
    "d": ("time", 1440.0), "day": ("time", 1440.0), "天": ("time", 1440.0), "日": ("time", 1440.0),
    "week": ("time", 10080.0), "周": ("time", 10080.0),
}
_UNIT = "|".join(sorted((re.escape(u) for u in _UNITS), key=len, reverse=True))
_QUANTITY = (rf"(?P<num>{_NUM})(?:[ \t]*(?:[~～–—至到-]|to)[ \t]*(?P<upto>{_NUM}))?[ \t]*-?[ \t]*(?P<unit>{_UNIT})"
             r"(?:s|es)?(?![a-z])")
_TIMES_EN = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
             "ten": 10, "twice": 2, "double": 2, "triple": 3, "half": 0.5}  # the last four stand without "times"
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
_SUFFIXES = ("ations", "ation", "ions", "ion", "ings", "ing", "edly", "ed", "ies", "es", "ly", "s")
_BRITISH = re.compile(r"(?<=[a-z])(?:ae|oe)(?=[a-z])|(?<=[a-z]{3})our\b")  # "haem", "oedema", "colour"
_STOP = frozenset(
    "a an the and or of to in on at by for with from into as is are was were be been being it its this that these those "
    "than then there their them they he she him her his we you your our i my me should would could can may might must "
    "will shall do does did has have had not no only also very more most much such some each other about after before "
    "while which what when who how if so just any all both either give given use used using take taking start put get "
    "make patient patients option options answer choice first up us".split()
)


def _number(value: float) -> str:
    return f"{value:.6g}"


def _quantity(num: str, unit: str, times: float = 1.0) -> tuple[str, float]:
    kind, scale = _UNITS[unit.lower()]
    return kind, float(num) * scale * times


def _stem(word: str) -> str:
    """A crude stem that makes inflections meet ("decompress"/"decompression", "steroid"/"steroids")."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4 and not (suffix == "s" and word[-2] in "su"):
            word = word[:-len(suffix)] + ("y" if suffix == "ies" else "")
            break
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word[:7]


@dataclass(frozen=True)
class Profile:
    """A text's features (feature → weight) and its English content words, by stem."""

    feats: dict[str, float]
    words: dict[str, str]

    @property
    def counts(self) -> bool:
        """Whether the text states any number."""
        return any(f[:2] in ("n:", "q:") for f in self.feats)


def features(text: str) -> Profile:
    """Concepts, quantities (blanked out once read), numbers, English stems and Chinese bigrams."""
    t = _digits(unicodedata.normalize("NFKC", text).lower())
    feats: dict[str, float] = {}
    for _, _, concept in concept_spans(t):
        feats[f"c:{concept}"] = 1.0 if concept in MODIFIERS else CONCEPT_WEIGHT
    t = _MULTIPLE.sub(lambda m: _mask(m, feats, multiple=True), t)
    t = _PLAIN_QUANTITY.sub(lambda m: _mask(m, feats, multiple=False), t)
    for n in _PLAIN_NUMBER.findall(t):
        feats[f"n:{_number(float(n))}"] = 1.0
    words: dict[str, str] = {}
    for token in _WORD.findall(_BRITISH.sub(lambda m: "e" if len(m.group()) == 2 else "or", t)):
        parts = token.split("-")
        for word in parts + (["".join(parts)] if len(parts) > 1 else []):  # "anti-Sm" is also "antism"
            if word not in _STOP and len(word) >= 2:
                words[f"w:{_stem(word)}"] = word
    feats.update((stem, 1.0) for stem in words)
    for run in _CJK_RUN.findall(t):
        feats.update((f"z:{run[i:i + 2]}", 1.0) for i in range(len(run) - 1))
    return Profile(feats, words)


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
    table = {k: features(v) for k, v in items}
    df: dict[str, int] = {}
    for profile in table.values():
        for f in profile.feats:
            df[f] = df.get(f, 0) + 1
    return table, df


def closest(text: str, options: Mapping[str, str], min_coverage: float = 0.1, min_precision: float = 0.0,
            min_shared: float = MIN_SHARED) -> str | None:
    """The option a paraphrase clearly means: enough shared evidence (``min_shared``, or most of
    the option), at least ``min_coverage`` of the option (numbers aside when the reply states
    none), ``min_precision`` of the reply's own evidence, and ``MARGIN`` times the runner-up."""
    if len(text) > MAX_CHARS:
        return None
    table, df = _option_table(tuple(options.items()))
    said = features(text)
    reply = _respelled(said, table)
    scores: list[tuple[float, float, str]] = []
    for k, profile in table.items():
        weighed = {f: w / df[f] for f, w in profile.feats.items() if said.counts or f[:2] not in ("n:", "q:")}
        shared = sum(w for f, w in weighed.items() if f in reply)
        scores.append((shared, shared / sum(weighed.values()) if weighed else 0.0, k))
    scores.sort(reverse=True)
    if not scores:
        return None
    shared, coverage, best = scores[0]
    if coverage < min_coverage or not (shared >= min_shared or (shared >= 1.0 and coverage >= MIN_COVERAGE_ALONE)):
        return None
    if len(scores) > 1 and shared < MARGIN * scores[1][0]:
        return None
    if min_precision and _precision(reply, table[best].feats) < min_precision:
        return None
    return best


def _precision(reply: Mapping[str, float], option: Mapping[str, float]) -> float:
    """The share of the reply's evidence that the option accounts for."""
    total = sum(reply.values())
    return sum(w for f, w in reply.items() if f in option) / total if total else 0.0


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
    padded = f"^{word}$"
    return {padded[i:i + 3] for i in range(len(padded) - 2)}
