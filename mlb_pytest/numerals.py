"""Numbers written in words, English and Chinese: one reader for every part that compares quantities.

Why one module: the choice scorer's paraphrase features (``scoring/choice_paraphrase.py``) and the
judge's number check (``judges/quantities.py``) both need "five days" and "一百毫克" as 5 and 100,
and two readers would drift apart on the same text. Floor 0: imports nothing of the package.
"""

from __future__ import annotations

EN_NUMBERS: dict[str, int] = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen".split()
    )
    if i
} | {"twenty": 20, "thirty": 30}
ZH_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
ZH_UNITS = {"十": 10, "百": 100, "千": 1000}
ZH_NUMERAL_CHARS = "".join(ZH_DIGITS) + "".join(ZH_UNITS)


def zh_value(run: str) -> int | None:
    """A Chinese numeral up to 9,999 as an int ("一百零五" 105, "十五" 15, "二十" 20); None if it is not one.

    Two digits in a row ("二三", two or three) are not one number: None, so a caller can read them as a range.
    """
    if not run:
        return None
    total, digit = 0, None
    for c in run:
        if c == "零":
            digit = None  # a place left empty: 一百零五
        elif c in ZH_DIGITS:
            if digit is not None:
                return None
            digit = ZH_DIGITS[c]
        elif c in ZH_UNITS:
            total += (1 if digit is None else digit) * ZH_UNITS[c]
            digit = None
        else:
            return None
    return total + (digit or 0)
