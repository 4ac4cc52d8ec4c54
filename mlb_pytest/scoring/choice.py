"""Finding the chosen option letters in a free-form answer, in Chinese or English.

Models are told to answer "B" or "B,C" but often reason first, quote options, or answer with
the option text. The final answer wins, so extraction goes from the strongest evidence to the
weakest: a JSON ``answer`` field, the last explicit answer phrase ("答案为C", "The answer is
(C)"), options declared correct ("B is correct", "A正确；C正确"), the last standalone letter
group, then the option text without its letter.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from ..schema import LETTERS, Item
from .base import Score, pass_of, strip_think
from .jsonparse import parse_json_answer

_ALL_LETTERS = frozenset(LETTERS)

# A letter token: "B", "BCE", "(C)", "**B**", "[B", "'B 红肉'" (a quoted option as MLB's list
# style prints it), "“B”". Group 1 = letters of a quoted token, group 2 = of a bare one.
_TOKEN = re.compile(
    r"""[\s(\[{<【*]*
    (?:
        ["'“‘]\s*([A-Z]+)(?:[\s.:、)\]]+[^"'“”‘’\n]*)?["'”’]
      | ["'“‘]?(?<![A-Za-z0-9])([A-Z]+)(?![A-Za-z0-9])["'”’]?
    )
    [)\]}>】*]*""",
    re.X,
)
# Lower-case letters only count right after an answer phrase and when nothing word-like follows
# ("答案：b", "The answer is (c)."), or as the whole response; "the answer is a bit..." stays out.
_LOWER_GROUP = re.compile(
    r"""[\s(\[*"'“]*([a-z](?:\s*[,、]\s*[a-z])*)[)\]*"'”]*(?=\s*(?:$|[.。,;!！?？\n]))""", re.M
)
_LOWER_LETTER = re.compile(r"[a-z]")
_UPPER_LETTER = re.compile(r"[A-Z]")
_SEP = re.compile(r"\s*(?:,|、|/|;|&|\+|\band\b|\bor\b|以及|和|与|及|或|\s)\s*", re.I)

# Phrases after which the answer letters follow. Applied to NFKC text (so "：" is ":").
_PREFIX = re.compile(
    r"""
    (?: (?:正确|最终|最佳|标准|参考)?答案
      | 正确的?(?:选项|选择)
      | (?<![不未勿别非])(?:选择|选)(?![项择])
      | 输出(?=\s*:)
      | \b(?:(?:correct|right|best|final|true)\s+)?answers?\b
      | \b(?:correct|right|best|final)\s+(?:options?|choices?)\b
      | \b(?:i\s+(?:would\s+|will\s+)?)?(?:choose|chose|select|pick)\b
      | \bgo(?:ing)?\s+with\b
    )
    (?: \s* (?: 应该是|应该为|应该选|应该|应当是|应当|应为|应是|应选|应|就是|即为|即|为|是|选择|选|选项|项
          | \b(?:is|are|would\s+be|should\s+be|will\s+be|must\s+be|option|options|choice|choices)\b
          | [:=*"'“”‘’\-—>#_] ) )*
    """,
    re.X | re.I,
)
_LETTER_LIST = r"([A-Z](?:\s*(?:,|、|和|与|及|and)\s*[A-Z])*)"
_POSTFIX = re.compile(
    rf"""(?<![A-Za-z0-9])[(\[*“"']*{_LETTER_LIST}[)\]*”"']*
    (?: \s*(?:选项|项)?\s*(?:是|为|才是)?\s*(?:正确答案|正确选项|最佳答案|最佳选项|正确|对的)(?![与吗否地描反理使认处])
      | \s+(?:is|are)\s+(?:the\s+)?(?:correct|right|best)\b )""",
    re.X,
)
# Fallback only: a lone letter glued to these is a name ("B超", "A型血", "维生素C"), not an answer.
_NOT_AFTER = re.compile(r"超|型|族|组|类|级|度|期|区|段|线|细胞|反应蛋白|受体|因子|肝|波|药")
_NOT_BEFORE = ("维生素", "维他命", "vitamin ", "Vitamin ", "Vit.", "vit.")
# "A patient ..." / "I think ...": a lone A or I followed by an ordinary word is English, not an answer.
_ENGLISH_WORD_AFTER = re.compile(r"\s+([a-z]+)")
_LETTER_VERBS = frozenset(
    "is are was were and or because since as seems appears would could should might must can will "
    "correct right wrong incorrect true false only also then too for in here which that given due "
    "option choice answer".split()
)

_ANSWER_KEYS = frozenset(
    "answer answers final_answer finalanswer choice choices option options selected selection "
    "答案 正确答案 最终答案 选项 正确选项 选择".split()
)
_TEXT_SPLIT = re.compile(r"[\s,、;/|和与及或\[\]()'\"“”‘’]+")
_NORM_DROP = re.compile(r"[\W_]+")


def extract_choices(response: str, options: Mapping[str, str] | None) -> tuple[str, ...] | None:
    """Sorted option letters the response chooses, or None when it names none."""
    return _extract(response, options)[0]


def _extract(response: str, options: Mapping[str, str] | None) -> tuple[tuple[str, ...] | None, str]:
    if not response:
        return None, "empty"
    text = unicodedata.normalize("NFKC", strip_think(str(response)))
    valid = frozenset(options) if options else _ALL_LETTERS
    if "{" in text:
        found = _from_json(text, valid, options)
        if found:
            return found, "json"
    found = _from_phrases(text, valid)
    if found:
        return found, "answer phrase"
    found = _last_group(text, valid)
    if found:
        return found, "letters"
    lone = _lower_group_at(text.strip(), 0, valid)
    if lone and _LOWER_GROUP.fullmatch(text.strip()):
        return tuple(sorted(lone[0])), "letters"
    if options:
        found = _from_option_text(text, options)
        if found:
            return found, "option text"
    return None, "none"


def _run_letters(token: re.Match[str], valid: frozenset[str]) -> str | None:
    run = token.group(1) or token.group(2)
    if len(set(run)) != len(run) or not set(run) <= valid:
        return None
    return run


def _group_at(text: str, pos: int, valid: frozenset[str]) -> tuple[set[str], int] | None:
    """Letters of the group starting at ``pos`` ("B", "B、D", "(C)", "B and D") and where it ends."""
    m = _TOKEN.match(text, pos)
    if m is None:
        return None
    run = _run_letters(m, valid)
    if run is None:
        return None
    letters = set(run)
    end = m.end()
    while True:
        sep = _SEP.match(text, end)
        if sep is None:
            break
        nxt = _TOKEN.match(text, sep.end())
        if nxt is None or nxt.end() == sep.end():
            break
        run = _run_letters(nxt, valid)
        if run is None:
            break
        letters.update(run)
        end = nxt.end()
    return letters, end


def _lower_group_at(text: str, pos: int, valid: frozenset[str]) -> tuple[set[str], int] | None:
    m = _LOWER_GROUP.match(text, pos)
    if m is None:
        return None
    letters = {c.upper() for c in _LOWER_LETTER.findall(m.group(1))}
    return (letters, m.end()) if letters <= valid else None


def _from_phrases(text: str, valid: frozenset[str]) -> tuple[str, ...] | None:
    """Letters after the last answer phrase; else every option called correct ("A正确；C正确")."""
    best: set[str] | None = None
    for m in _PREFIX.finditer(text):
        got = _group_at(text, m.end(), valid) or _lower_group_at(text, m.end(), valid)
        if got and not _english_word(text, got[1], got[0]):
            best = got[0]
    if best:
        return tuple(sorted(best))
    # No conclusion phrase: a per-option verdict list names the answer by its "correct" items.
    # (After a conclusion such verdicts are usually an explanation, so they come second.)
    claimed: set[str] = set()
    for m in _POSTFIX.finditer(text):
        letters = set(_UPPER_LETTER.findall(m.group(1)))
        if letters <= valid:
            claimed |= letters
    return tuple(sorted(claimed)) if claimed else None


def _last_group(text: str, valid: frozenset[str]) -> tuple[str, ...] | None:
    """The last standalone letter group that reads as an answer rather than a word or a name."""
    found: set[str] | None = None
    pos, n = 0, len(text)
    while pos < n:
        m = _TOKEN.search(text, pos)
        if m is None:
            break
        if m.end() == m.start():
            pos = m.end() + 1
            continue
        got = _group_at(text, m.start(), valid)
        if got is None:
            pos = m.end()
            continue
        letters, end = got
        if not _looks_like_word(text, m, end, letters):
            found = letters
        pos = max(end, m.end())
    return tuple(sorted(found)) if found else None


def _looks_like_word(text: str, token: re.Match[str], end: int, letters: set[str]) -> bool:
    start = token.start(1) if token.group(1) else token.start(2)
    if any(text.endswith(p, 0, start) for p in _NOT_BEFORE):
        return True
    if len(letters) == 1 and end == token.end():
        if _NOT_AFTER.match(text, end):
            return True
        if _english_word(text, end, letters):
            return True
    return False


def _english_word(text: str, end: int, letters: set[str]) -> bool:
    """A lone "A"/"I" followed by an ordinary lower-case word is the article or the pronoun."""
    if len(letters) != 1 or not letters & {"A", "I"}:
        return False
    w = _ENGLISH_WORD_AFTER.match(text, end)
    return w is not None and w.group(1) not in _LETTER_VERBS


def _from_json(text: str, valid: frozenset[str], options: Mapping[str, str] | None) -> tuple[str, ...] | None:
    value, _ = parse_json_answer(text)
    if not isinstance(value, dict):
        return None
    for key, val in value.items():
        if str(key).strip().lower() not in _ANSWER_KEYS:
            continue
        parts = val if isinstance(val, list) else [val]
        letters: set[str] = set()
        for part in parts:
            if not isinstance(part, str):
                return None
            part = part.strip()
            got = _group_at(part, 0, valid)
            if got:
                letters |= got[0]
            elif options and (mapped := _from_option_text(part, options)):
                letters.update(mapped)
            else:
                return None
        return tuple(sorted(letters)) or None
    return None


def _norm_text(s: str) -> str:
    return _NORM_DROP.sub("", unicodedata.normalize("NFKC", s).lower())


def _from_option_text(text: str, options: Mapping[str, str]) -> tuple[str, ...] | None:
    """Letters for an answer given as option text: exact per part, else one unambiguous containment."""
    normed = {k: _norm_text(v) for k, v in options.items()}
    by_text: dict[str, list[str]] = {}
    for k, v in normed.items():
        if v:
            by_text.setdefault(v, []).append(k)
    whole = _norm_text(text)
    if not whole:
        return None
    if len(by_text.get(whole, ())) == 1:
        return (by_text[whole][0],)
    parts = [_norm_text(p) for p in _TEXT_SPLIT.split(unicodedata.normalize("NFKC", text))]
    parts = [p for p in parts if p]
    if parts and all(len(by_text.get(p, ())) == 1 for p in parts):
        return tuple(sorted({by_text[p][0] for p in parts}))
    inside = [k for k, v in normed.items() if len(v) >= 2 and v in whole]
    inside = [k for k in inside if not any(k != o and normed[k] in normed[o] for o in inside)]
    if len(inside) == 1:
        return (inside[0],)
    if len(whole) >= 2:
        holders = [k for k, v in normed.items() if whole in v]
        if len(holders) == 1:
            return (holders[0],)
    return None


def score_choice(item: Item, response: str) -> Score:
    """Exact set match of chosen letters against the gold letters (1.0 or 0.0)."""
    expected = tuple(sorted(item.expected or ()))
    got, method = _extract(response, item.options)
    details: dict[str, Any] = {"expected": list(expected), "extracted": list(got) if got else None, "method": method}
    exp_s = ",".join(expected)
    if got is None:
        return Score(0.0, pass_of(0.0, item.pass_threshold), f"expected {exp_s}; no option letter found",
                     details, unparseable=True)
    value = 1.0 if got == expected else 0.0
    return Score(value, pass_of(value, item.pass_threshold), f"expected {exp_s}; got {','.join(got)}", details)
