"""Quantities in clinical text: a number with its unit, in one base unit per dimension.

Why: a cross-encoder reads 0.5 mg and 5 mg as nearly the same text, so a wrong dose, threshold
or duration passes as a paraphrase. A number with a unit is one of the few things in an answer
that can be compared exactly: 500 mg is 0.5 g, bid is 每日两次, 72 小时 is 3 天. This module
only reads quantities; ``number_check`` decides what a mismatch means for a verdict.

Every pattern is a linear scan; text without digits or numerals costs one regex search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..numerals import EN_NUMBERS, ZH_NUMERAL_CHARS, zh_value

_CN_NUMBER = rf"[{ZH_NUMERAL_CHARS}]{{1,9}}"
_EN_WORDS = {**EN_NUMBERS, "half": 0.5}
_EN_NUMBER = r"\b(?:" + "|".join(sorted(_EN_WORDS, key=len, reverse=True)) + r")\b"
_NUMBER = rf"(?:\d+(?:\.\d+)?|\.\d+|{_CN_NUMBER}|半|{_EN_NUMBER})"
_RANGE_SEP = r"\s*(?:~|～|-|–|—|至|到|to)\s*"

# (unit pattern, dimension, factor to the dimension's base unit); longer and compound units first
_UNITS: tuple[tuple[str, str, float], ...] = (
    (r"×\s*10\^?9\s*/\s*L|x\s*10\^?9\s*/\s*L", "e9/l", 1.0),
    (r"m?mol\s*/\s*L|μmol\s*/\s*L|umol\s*/\s*L", "", 1.0),  # the dimension is the unit itself
    (r"g\s*/\s*L", "mass/volume", 1e3),  # mass concentrations in mg/L: 7 g/dL is 70 g/L
    (r"g\s*/\s*dL", "mass/volume", 1e4),
    (r"mg\s*/\s*dL", "mass/volume", 10.0),
    (r"mg\s*/\s*L", "mass/volume", 1.0),
    (r"mg\s*/\s*mL", "mass/volume", 1e3),
    (r"(?:μ|u)g\s*/\s*mL", "mass/volume", 1.0),
    (r"(?:μ|u)g\s*/\s*dL", "mass/volume", 1e-2),
    (r"(?:μ|u)g\s*/\s*L|ng\s*/\s*mL", "mass/volume", 1e-3),
    (r"pg\s*/\s*mL|ng\s*/\s*L", "mass/volume", 1e-6),
    (r"(?:m|μ|u)?g\s*/\s*kg(?:\s*/\s*d(?:ay)?)?|ml\s*/\s*kg|mL\s*/\s*kg", "", 1.0),
    (r"m?(?:I)?U\s*/\s*(?:m)?L|mEq\s*/\s*L", "", 1.0),
    (r"ml\s*/\s*\(?min|mL\s*/\s*\(?min", "ml/min", 1.0),
    (r"次\s*/\s*分(?:钟)?|bpm|beats?\s+per\s+minute|/\s*min(?![A-Za-z])", "per_min", 1.0),
    (r"mmHg|毫米汞柱", "mmhg", 1.0),
    (r"cmH2O", "cmh2o", 1.0),
    (r"kg\s*/\s*m(?:2|²|\^2)", "scale:bmi", 1.0),  # a figure in kg/m² is a body-mass index
    (r"mg\s*/\s*\(\s*kg\s*[·.]\s*d\s*\)", "mg/kg/d", 1.0),
    (r"kg|公斤|千克", "mass", 1e6),
    (r"lbs?(?![A-Za-z])|pounds?(?![A-Za-z])", "mass", 453592.37),
    (r"mg|毫克", "mass", 1.0),
    (r"μg|ug|mcg|micrograms?(?![A-Za-z])|微克", "mass", 1e-3),
    (r"milligrams?(?![A-Za-z])", "mass", 1.0),
    (r"ng|纳克", "mass", 1e-6),
    (r"g(?![a-zA-Z/])|克", "mass", 1e3),
    (r"ml|mL|毫升", "volume", 1.0),
    (r"dl|dL", "volume", 100.0),
    (r"L(?![a-zA-Z])|升(?![高至到降])", "volume", 1000.0),
    (r"(?:I)?U(?![a-zA-Z/])|国际单位|单位", "units", 1.0),
    (r"℃|°\s*C|摄氏度", "celsius", 1.0),
    (r"%|％|percent(?![A-Za-z])", "percent", 1.0),
    (r"mm(?![a-zA-Z])|毫米", "length", 1.0),
    (r"cm(?![a-zA-Z])|厘米", "length", 10.0),
    (r"分钟|min(?:utes?)?(?![A-Za-z])|mins(?![A-Za-z])", "time", 1 / 60),
    (r"小时|h(?:ours?|rs?)?(?![A-Za-z])", "time", 1.0),
    (r"天|days?(?![A-Za-z])|日(?!期)", "time", 24.0),
    (r"周|星期|weeks?(?![A-Za-z])|wks?(?![A-Za-z])", "time", 168.0),
    (r"个月|months?(?![A-Za-z])|月(?!\s*\d)", "time", 720.0),
    (r"岁|-?years?[- ]old", "age", 1.0),
    (r"年|years?(?![A-Za-z])", "time", 8760.0),
    (r"片|粒|tablets?(?![A-Za-z])|tabs?(?![A-Za-z])|capsules?(?![A-Za-z])", "tablets", 1.0),
)
_UNIT = "|".join(f"(?:{u})" for u, _, _ in _UNITS)
_UNIT_RES = [(re.compile(rf"(?:{u})", re.I if d in ("time", "age", "tablets") else 0), d, f) for u, d, f in _UNITS]
_QUANTITY = re.compile(rf"(?<![A-Za-z0-9.\-])({_NUMBER})(?:{_RANGE_SEP}({_NUMBER}))?\s*({_UNIT})", re.I)
_BP = re.compile(r"(?<![\d.])(\d{2,3})\s*/\s*(\d{2,3})\s*(?:mmHg|毫米汞柱)")
_GESTATION = re.compile(r"(?<![\d.])(\d{1,2})\s*\+\s*([0-6])\s*周")  # 36+2周: weeks and days of pregnancy
_SCALE = re.compile(  # a named score or ratio without a unit: INR 2.8, GCS 8分, LVEF 35%
    r"(?<![A-Za-z])(INR|pH|GCS|NIHSS|Apgar|BMI|LVEF|EF|MELD|CURB-65|qSOFA|FEV1/FVC|PHQ-9|MMSE|ASA)\s*(?:评分|score|值|为|是|of|was|is|=|：|:)?\s*"
    r"(?:为|是|=|：|:)?\s*(\d+(?:\.\d+)?)(?:\s*[-~～至]\s*(\d+(?:\.\d+)?))?(?![\d.])(?!\s*[%％])",
    re.I,
)
_DATE = re.compile(
    r"\d{1,4}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*[日号])?|\d{1,2}\s*月\s*\d{1,2}\s*[日号]|(?:19|20)\d{2}\s*年"
)
_RATIO = re.compile(r"(?<![\d.])1\s*[:：]\s*(\d{2,6})(?![\d.])")

_TIMES = {"once": 1, "twice": 2, "three": 3, "four": 4, "thrice": 3}
_ABBREV = {"qd": 1, "od": 1, "qn": 1, "qhs": 1, "bid": 2, "tid": 3, "qid": 4}
_FREQ_ABBREV = re.compile(r"(?<![a-zA-Z])(q\.?d|o\.?d|q\.?n|qhs|b\.?i\.?d|t\.?i\.?d|q\.?i\.?d)\.?(?![a-zA-Z])", re.I)
_FREQ_EVERY = re.compile(rf"(?:每|q|every)\s*({_NUMBER})\s*(?:小时|h(?:ours?|rs?)?)(?![a-z])", re.I)
_FREQ_CN = re.compile(rf"(?:每日|每天|一日|一天|日)\s*({_NUMBER})\s*次")
_FREQ_EN = re.compile(
    r"\b(once|twice|thrice|three|four|\d+)\s*(?:times\s*)?(?:a|per|each|every)\s*day\b|\b(once|twice)\s+daily\b"
    r"|\b(three|four|\d+)\s+times\s+daily\b",
    re.I,
)


@dataclass(frozen=True)
class Quantity:
    """A value or a range in its dimension's base unit, and where the text states it."""

    low: float
    high: float
    dim: str
    start: int
    end: int
    text: str

    def same_as(self, other: Quantity, rel: float = 1e-3) -> bool:
        """Equal in value (to ``rel``, a thousandth by default): 500 mg and 0.5 g, 3 天 and 72 小时."""
        return self.dim == other.dim and _close(self.low, other.low, rel) and _close(self.high, other.high, rel)


def _close(a: float, b: float, rel: float = 1e-3) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-9)


def number_value(text: str) -> float | None:
    """An Arabic, Chinese (up to 9,999) or English numeral as a float."""
    t = text.strip()
    if t == "半":
        return 0.5
    if t.lower() in _EN_WORDS:
        return float(_EN_WORDS[t.lower()])
    try:
        return float(t)
    except ValueError:
        value = zh_value(t)
        return None if value is None else float(value)


def _unit(unit_text: str) -> tuple[str, float] | None:
    for rx, dim, factor in _UNIT_RES:
        if rx.fullmatch(unit_text.strip()):
            return (dim or re.sub(r"\s+", "", unit_text).lower().replace("μ", "u").replace("/day", "/d")), factor
    return None


def quantities(text: str) -> list[Quantity]:
    """Every quantity the text states, in order: doses, lab values, durations, frequencies, pressures."""
    found: list[Quantity] = []
    taken: list[tuple[int, int]] = []

    def add(low: float, high: float, dim: str, m: re.Match[str]) -> None:
        if any(s < m.end() and m.start() < e for s, e in taken):
            return
        low, high = min(low, high), max(low, high)  # "5~3 天" is still the range 3 to 5
        taken.append((m.start(), m.end()))
        found.append(Quantity(low, high, dim, m.start(), m.end(), m.group()))

    for m in _DATE.finditer(text):  # a date is no quantity, and its parts are none either
        taken.append((m.start(), m.end()))
    for m in _GESTATION.finditer(text):
        weeks = float(m.group(1)) + float(m.group(2)) / 7
        add(weeks * 168, weeks * 168, "time", m)
    for m in _SCALE.finditer(text):
        add(float(m.group(2)), float(m.group(3) or m.group(2)), "scale:" + m.group(1).lower(), m)
    for m in _BP.finditer(text):
        pair = float(m.group(1)) * 1000 + float(m.group(2))  # systolic and diastolic compared as one value
        add(pair, pair, "bp", m)
    for m in _RATIO.finditer(text):
        add(float(m.group(1)), float(m.group(1)), "ratio", m)
    for m in _FREQ_ABBREV.finditer(text):
        times = float(_ABBREV[m.group(1).replace(".", "").lower()])
        add(times, times, "per_day", m)
    for m in _FREQ_EVERY.finditer(text):
        hours = number_value(m.group(1))
        if hours:
            add(24 / hours, 24 / hours, "per_day", m)
    for m in _FREQ_CN.finditer(text):
        count = number_value(m.group(1))
        if count:
            add(count, count, "per_day", m)
    for m in _FREQ_EN.finditer(text):
        word = next(g for g in m.groups() if g)
        said = _TIMES.get(word.lower()) or (float(word) if word.isdigit() else None)
        if said:
            add(said, said, "per_day", m)
    for m in _QUANTITY.finditer(text):
        unit = _unit(m.group(3))
        low = number_value(m.group(1))
        high = number_value(m.group(2)) if m.group(2) else low
        if unit is None or low is None or high is None:
            continue
        dim, factor = unit
        add(low * factor, high * factor, dim, m)
    return sorted(found, key=lambda q: q.start)
