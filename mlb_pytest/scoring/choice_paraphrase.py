"""An option named by a paraphrase of its text ("Bleeding from a lack of vitamin K" for "Vitamin K
deficiency bleeding", "夜里出汗" for "盗汗"), and mentions that rule an option out ("not X", "不是X").

The reply and every option are reduced to features: Chinese character bigrams, English word stems
(stop words dropped), numbers, quantities in one unit ("400 µg" is "0.4 mg"; "ten times the usual
400 µg dose" is "4 mg"), and the medical concepts of ``choice_synonyms``, which stand in for the
words they were read from. An option scores the features it shares with the reply, each weighted
by how few options have it; it is chosen only with enough evidence and a clear lead over the
runner-up, since a wrong letter is worse than none (the model fallback reads the rest).

Negated mentions are cut out of the reply before matching: what follows "not", "rather than",
"不是", "排除"… up to the end of its clause, and a whole clause that says "X is not…", "X不对".
A negation word that the options use themselves ("Observation only; eye protection is not
needed") is read as their words, not as a negation.
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

_FORWARD_NEG = re.compile(
    r"""\b(?:not|never|no)\b(?!\s+(?:more|less|fewer|later|earlier|longer|sooner|only|just|doubt|matter|further)\b)
      | \b(?:don|doesn|didn|won|shouldn|mustn)['’]t\b | \b(?:do|does|did|should|must)\s+not\b
      | \b(?:rather\s+than|instead\s+of|other\s+than|except(?:\s+for)?|excluding|exclude|rul(?:e|ed|ing)\s+out
            |avoid|avoiding)\b
      | (?:而不是|而非|不是|并非|不选|不用|不使用|不应该?(?:选|用|使用|给)?|不宜|不要|不需要|无需|不必|别(?:用|选|给)
            |排除|除外|不考虑|避免|禁止)(?!超过|多于|少于|低于|高于|大于|小于|超)""",
    re.X | re.I,
)
_CLAUSE_NEG = re.compile(
    r"""\b(?:is|are|was|were)\s+(?:not|never)\b | \b(?:isn|aren|wasn|weren)['’]t\b | \b(?:is|are)\s+(?:wrong|incorrect)\b
      | 不是(?:正确|最佳)?的?(?:答案|选择|首选) | 不对 | 不正确 | 错误""",
    re.X | re.I,
)
_BOUNDARY = re.compile(r"[,，。;；!！?？\n:：]|\.(?!\d)|\s[-—–]+\s|—|\bbut\b|而是|但是|但|然而|却", re.I)


def affirmed(text: str, options: Mapping[str, str]) -> str:
    """The text with its negated mentions cut out (each replaced by a clause break)."""
    folded = [v.lower() for v in options.values()]
    ends = [m.start() for m in _BOUNDARY.finditer(text)]
    cuts: list[tuple[int, int]] = []
    for m in _CLAUSE_NEG.finditer(text):
        if not _own_words(m.group(), folded):
            cuts.append((_clause_start(ends, text, m.start()), _clause_end(ends, text, m.end())))
    for m in _FORWARD_NEG.finditer(text):
        if not _own_words(m.group(), folded):
            cuts.append((m.start(), _clause_end(ends, text, m.end())))
    if not cuts:
        return text
    out, pos = [], 0
    for start, end in sorted(cuts):
        if end <= pos:
            continue
        out.append(text[pos:max(pos, start)])
        out.append("；")
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _own_words(cue: str, folded_options: list[str]) -> bool:
    """The options use this negation themselves: in the reply it is their wording."""
    cue = cue.lower()
    return any(cue in v for v in folded_options)


def _clause_end(ends: list[int], text: str, pos: int) -> int:
    i = bisect.bisect_left(ends, pos)
    return min(ends[i], pos + SCOPE_MAX) if i < len(ends) else min(len(text), pos + SCOPE_MAX)


def _clause_start(ends: list[int], text: str, pos: int) -> int:
    i = bisect.bisect_right(ends, pos - 1) - 1
    start = ends[i] + 1 if i >= 0 else 0
    return max(start, pos - SCOPE_MAX)


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
    "d": ("time", 1440.0), "day": ("time", 1440.0), "天": ("time", 1440.0),
}
_UNIT = "|".join(sorted((re.escape(u) for u in _UNITS), key=len, reverse=True))
_QUANTITY = rf"(?P<num>{_NUM})(?:[ \t]*[~～–—至到-][ \t]*(?P<upto>{_NUM}))?[ \t]*-?[ \t]*(?P<unit>{_UNIT})(?:s|es)?(?![a-z])"
_TIMES_EN = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
             "ten": 10, "twice": 2, "double": 2, "triple": 3, "half": 0.5}  # the last four stand without "times"
_TIMES_ZH = {"一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_MULTIPLE = re.compile(
    rf"(?<![a-z0-9.])(?:(?P<mult>{_NUM}|{'|'.join(_TIMES_EN)})[ \t]*(?:times|x|×|-?fold)|(?P<mword>twice|double|triple|half))"
    rf"[ \t]+(?:(?:the|a)[ \t]+)?(?:(?:usual|standard|normal|regular|recommended|typical|routine|starting|initial)[ \t]+)?"
    rf"(?:dose[ \t]+of[ \t]+)?{_QUANTITY}"
    rf"|{_QUANTITY.replace('num', 'znum').replace('unit', 'zunit').replace('upto', 'zupto')}[ \t]*的?[ \t]*(?P<zmult>\d+|[一两二三四五六七八九十])[ \t]*倍",
    re.I,
)
_PLAIN_QUANTITY = re.compile(_QUANTITY + r"|(?P<half>half an hour|半小时|半个小时)", re.I)
_PLAIN_NUMBER = re.compile(_NUM)
_WORD = re.compile(r"[a-z]+")
_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_SUFFIXES = ("ations", "ation", "ions", "ion", "ings", "ing", "edly", "ed", "ies", "es", "ly", "s")
_STOP = frozenset(
    "a an the and or of to in on at by for with from into as is are was were be been being it its this that these those "
    "than then there their them they he she him her his we you your our i my me should would could can may might must "
    "will shall do does did has have had not no only also very more most much such some each other about after before "
    "while which what when who how if so just any all both either give given use used using take taking start put get "
    "make patient patients option options answer choice first".split()
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


def features(text: str) -> Profile:
    """Concepts and quantities first (the words they were read from are masked), then numbers,
    English stems and Chinese bigrams of what is left."""
    t = unicodedata.normalize("NFKC", text).lower()
    feats: dict[str, float] = {}
    chars = list(t)
    for start, end, concept in concept_spans(t):
        feats[f"c:{concept}"] = 1.0 if concept in MODIFIERS else CONCEPT_WEIGHT
        chars[start:end] = " " * (end - start)
    t = "".join(chars)
    t = _MULTIPLE.sub(lambda m: _mask(m, feats, multiple=True), t)
    t = _PLAIN_QUANTITY.sub(lambda m: _mask(m, feats, multiple=False), t)
    for n in _PLAIN_NUMBER.findall(t):
        feats[f"n:{_number(float(n))}"] = 1.0
    words = {f"w:{_stem(w)}": w for w in _WORD.findall(t) if w not in _STOP and len(w) >= 3}
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


def closest(text: str, options: Mapping[str, str], min_coverage: float = 0.1) -> str | None:
    """The option a paraphrase clearly means: enough shared evidence (``MIN_SHARED``, or most of
    the option), at least ``min_coverage`` of the option, and ``MARGIN`` times the runner-up."""
    if len(text) > MAX_CHARS:
        return None
    table, df = _option_table(tuple(options.items()))
    reply = _respelled(features(text), table)
    scores: list[tuple[float, float, str]] = []
    for k, profile in table.items():
        total = sum(w / df[f] for f, w in profile.feats.items())
        shared = sum(w / df[f] for f, w in profile.feats.items() if f in reply)
        scores.append((shared, shared / total if total else 0.0, k))
    scores.sort(reverse=True)
    if not scores:
        return None
    shared, coverage, best = scores[0]
    if coverage < min_coverage or not (shared >= MIN_SHARED or (shared >= 1.0 and coverage >= MIN_COVERAGE_ALONE)):
        return None
    if len(scores) > 1 and shared < MARGIN * scores[1][0]:
        return None
    return best


def _respelled(reply: Profile, table: Mapping[str, Profile]) -> set[str]:
    """The reply's features, with each English word the options lack read as the option word it
    abbreviates or misspells ("doxy", "amoxcillin", "photofobia")."""
    found = set(reply.feats)
    vocabulary = {stem: word for profile in table.values() for stem, word in profile.words.items()}
    for stem, word in reply.words.items():
        if stem in vocabulary:
            continue
        found.update(s for s, w in vocabulary.items() if _alike(word, w))
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
