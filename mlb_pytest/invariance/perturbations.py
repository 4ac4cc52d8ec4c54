"""Deterministic text perturbations whose answer must not change (``--mlb-perturb``).

Each perturbation maps an item's text to a variant, or says why it does not apply. They are
pure functions of the text and the item id (the seed), so a rerun asks exactly the same variant
and the response cache serves it. What each one does:

- ``drug-names``: a generic name becomes its brand (or a brand its generic) from the table in
  ``drug_names.py``, everywhere in the item (question and options alike).
- ``typos``: one to three character-level slips in the question stem only (never in the options
  or the template): two adjacent letters inside an English word of five or more letters swap, or
  two adjacent Chinese characters swap. Digits, units, negations (``不/无/未/否/非/没``, "no",
  "not") and laterality or direction characters are never touched, so the slip cannot change
  the facts.
- ``demographics``: the patient's age moves by one year inside its five-year bracket (47 -> 48,
  49 -> 48, 45 -> 46), only for ages 18-64, so no guideline threshold (40, 45, 50, 65 ...) is
  crossed; and the patient's sex is swapped, but only where nothing in the item can depend on
  it (no pregnancy, sex-specific organs, sex-dependent lab values or risk scores, no obstetric,
  gynaecological or urological specialty).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from .drug_names import table

Perturbation = Callable[[str, str, str], "str | None"]  # (text, language, seed) -> variant or None

# --- drug names ------------------------------------------------------------------------------------

_ZH_PREFIX_GUARD = ("地", "左", "右", "司", "甲", "旋", "氢", "乙")  # 地氯雷他定, 左西替利嗪, 艾司奥美拉唑 ...


def _swap_zh(text: str, pairs: dict[str, str]) -> str:
    names = sorted(pairs, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(n) for n in names))

    def sub(m: re.Match[str]) -> str:
        before = text[max(0, m.start() - 1) : m.start()]
        return m.group(0) if before and before in _ZH_PREFIX_GUARD else pairs[m.group(0)]

    return pattern.sub(sub, text)


def _swap_en(text: str, pairs: dict[str, str]) -> str:
    lookup = {k.lower(): v for k, v in pairs.items()}
    names = sorted(pairs, key=len, reverse=True)
    pattern = re.compile(r"(?<![A-Za-z-])(" + "|".join(re.escape(n) for n in names) + r")(?![A-Za-z-])", re.I)

    def sub(m: re.Match[str]) -> str:
        new = lookup[m.group(0).lower()]
        return new[0].upper() + new[1:] if m.group(0)[0].isupper() else new

    return pattern.sub(sub, text)


def _names(text: str, name: str, zh: bool) -> bool:
    """The text names this drug as a word of its own (not inside a longer drug name)."""
    if zh:
        return any(
            m.start() == 0 or text[m.start() - 1] not in _ZH_PREFIX_GUARD for m in re.finditer(re.escape(name), text)
        )
    return re.search(rf"(?<![A-Za-z-]){re.escape(name)}(?![A-Za-z-])", text, re.I) is not None


def drug_pairs(text: str, language: str) -> dict[str, str]:
    """The name swaps this text allows: generic -> brand for generics it names, brand -> generic
    for brands it names (never both ways for one drug)."""
    zh = language.startswith("zh")
    tab = table(language)
    found: dict[str, str] = {}
    for generic, brand in tab.items():
        if _names(text, generic, zh):
            found[generic] = brand
        elif _names(text, brand, zh):
            found[brand] = generic
    return found


def swap_drug_names(text: str, language: str, pairs: dict[str, str]) -> str:
    """Apply the swaps chosen by :func:`drug_pairs` (the same ones to every part of an item)."""
    if not pairs:
        return text
    return _swap_zh(text, pairs) if language.startswith("zh") else _swap_en(text, pairs)


# --- typos ------------------------------------------------------------------------------------------

_ZH_KEEP = set("不无未否非没勿禁忌左右上下前后内外双单侧阴阳正负高低增减升降大小多少") | set("0123456789")
_EN_KEEP = {"no", "not", "non", "never", "none", "denies", "without", "left", "right", "negative", "positive"}
_HAN = re.compile(r"[\u4e00-\u9fff]")
_WORD = re.compile(r"[A-Za-z]{5,}")


def _rng(seed: str, salt: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}\x00{salt}".encode()).digest()[:8], "big")


def typo_sites(text: str, language: str) -> list[int]:
    """Positions ``i`` where swapping ``text[i]`` and ``text[i+1]`` is a harmless slip."""
    if language.startswith("zh"):
        return [
            i
            for i in range(len(text) - 1)
            if _HAN.match(text[i])
            and _HAN.match(text[i + 1])
            and text[i] != text[i + 1]
            and text[i] not in _ZH_KEEP
            and text[i + 1] not in _ZH_KEEP
        ]
    sites = []
    for m in _WORD.finditer(text):
        word = m.group(0)
        if word.lower() in _EN_KEEP or word.isupper():  # acronyms (HbA1c, COPD) stay as written
            continue
        for j in range(1, len(word) - 2):  # the first and last letters stay, as in a real slip
            if word[j] != word[j + 1]:
                sites.append(m.start() + j)
    return sites


def add_typos(text: str, language: str, seed: str) -> str | None:
    """One slip per ~20 words (Chinese: per ~40 characters), one to three, at seeded sites at
    least three characters apart; None when the text has no safe site."""
    sites = typo_sites(text, language)
    if not sites:
        return None
    size = len(_HAN.findall(text)) // 40 if language.startswith("zh") else len(text.split()) // 20
    want = max(1, min(3, size))
    order = sorted(sites, key=lambda i: _rng(seed, str(i)))
    chosen: list[int] = []
    for i in order:
        if all(abs(i - c) >= 3 for c in chosen):
            chosen.append(i)
        if len(chosen) == want:
            break
    chars = list(text)
    for i in chosen:
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


# --- demographics -----------------------------------------------------------------------------------

_SEX_SPECIFIC = re.compile(
    r"妊娠|孕|怀孕|产后|产妇|分娩|哺乳|月经|经期|闭经|绝经|更年期|乳腺|乳房|卵巢|子宫|宫颈|阴道|输卵管|前列腺|睾丸|阴茎|"
    r"精子|勃起|妇科|产科|男科|血红蛋白|红细胞压积|铁蛋白|肌酐|尿酸|血沉|风险评分|CHA2DS2|"
    r"pregnan|gestation|postpartum|breastfe|lactat|menstru|menopaus|amenorrh|breast|ovar|uter|cervi|vagin|"
    r"fallopian|prostat|testi|scrot|penis|penile|erectile|sperm|obstet|gyn|urolog|hemoglobin|haemoglobin|"
    r"hematocrit|ferritin|creatinine|uric acid|\bESR\b|risk score|\bHb\b",
    re.I,
)
# 他/她 stay: 他 also writes 其他 (other) and the statins (他汀); 先生 also means doctor or teacher
_ZH_SEX = [("男性", "女性"), ("男孩", "女孩"), ("男童", "女童"), ("男婴", "女婴"), ("男患", "女患")]
_ZH_BARE = re.compile(r"(?:^|(?<=[，,、：:\s（(]))([男女])(?=[，,、\s0-9）)]|性)")
_EN_SEX = [
    ("man", "woman"),
    ("men", "women"),
    ("male", "female"),
    ("boy", "girl"),
    ("gentleman", "lady"),
    ("husband", "wife"),
    ("he", "she"),
    ("him", "her"),
    ("his", "her"),
    ("himself", "herself"),
    ("mr", "ms"),
]
_ZH_AGE = re.compile(r"(\d{1,3})(\s*岁)")
_AGE_ARTICLE = re.compile(r"\b([Aa])n? (?=(\d{1,3})[- ]years?[- ]old)")
_VOWEL_NUMBER = re.compile(r"8\d?|11|18")  # numbers read with a vowel sound: eight, eighty-x, eleven, eighteen
_EN_AGE = re.compile(r"(\d{1,3})(?=(-| )year(s)?(-| )old|\s*(yo|y/o|y\.o\.)\b)|(?<=aged )(\d{1,3})", re.I)


def shift_age(age: int) -> int | None:
    """One year inside the same five-year bracket (44 -> 43, 45 -> 46), adults 18-64 only."""
    if not 18 <= age <= 64:
        return None
    return age - 1 if age % 5 == 4 else age + 1


def _shift_ages(text: str, language: str) -> str:
    pattern = _ZH_AGE if language.startswith("zh") else _EN_AGE

    def sub(m: re.Match[str]) -> str:
        digits = next(g for g in m.groups() if g and g.isdigit())
        new = shift_age(int(digits))
        return m.group(0) if new is None else m.group(0).replace(digits, str(new), 1)

    out = pattern.sub(sub, text)
    if not language.startswith("zh"):  # "a 19-year-old" -> "an 18-year-old", and back
        out = _AGE_ARTICLE.sub(lambda m: m.group(1) + ("n " if _VOWEL_NUMBER.fullmatch(m.group(2)) else " "), out)
    return out


def _swap_sex_zh(text: str) -> str:
    table = {a: b for a, b in _ZH_SEX} | {b: a for a, b in _ZH_SEX}
    out = re.sub(
        "|".join(re.escape(k) for k in sorted(table, key=len, reverse=True)), lambda m: table[m.group(0)], text
    )
    return _ZH_BARE.sub(lambda m: "女" if m.group(1) == "男" else "男", out)


def _swap_sex_en(text: str) -> str:
    forward = dict(_EN_SEX)
    backward = {b: a for a, b in _EN_SEX if b != "her"}
    words = sorted(set(forward) | set(backward) | {"her"}, key=len, reverse=True)
    pattern = re.compile(r"\b(" + "|".join(words) + r")\b", re.I)

    def sub(m: re.Match[str]) -> str:
        w = m.group(0)
        low = w.lower()
        if low == "her":  # his (before a noun) or him (at a clause end)
            rest = text[m.end() :].lstrip()
            new = "his" if rest[:1].isalpha() else "him"
        else:
            new = forward.get(low) or backward[low]
        return new[0].upper() + new[1:] if w[0].isupper() else new

    return pattern.sub(sub, text)


def sex_swappable(text: str, specialty: str) -> bool:
    """Nothing in the item (or its specialty) can make the answer depend on the patient's sex."""
    return not _SEX_SPECIFIC.search(text) and not _SEX_SPECIFIC.search(specialty or "")


def change_demographics(text: str, language: str, swap_sex: bool) -> str:
    """Shift ages (always safe within the bracket) and, when allowed, swap the patient's sex."""
    out = _shift_ages(text, language)
    if swap_sex:
        out = _swap_sex_zh(out) if language.startswith("zh") else _swap_sex_en(out)
    return out
