"""Constructed training rows: a response that meets its point, with one detail of it turned wrong.

    mlb judge build perturb       # writes judge/data/annotations/derived_detail.jsonl

The weakest trap of the bundled judge is the wrong detail: a response that reads like the point
but has the side, the sign or the number wrong (右侧 for 左侧, 阴性 for 阳性, 3个月 for 6个月).
For every hand-written train-split row whose response meets its point (label yes, trap meets or
paraphrase, kind point or quality), this finds one detail the point and the response share
(a side, a direction or sign, or a number) and writes the response with that detail turned:
label no, trap wrong_detail. Its unchanged twin stays in the training data as yes, so the pair
differs by that detail only. Risk rows are left out (a turned detail does not decide whether a
risk is committed). Only train-split rows are read, so the dev and test figures stay on
hand-written rows; the rows are marked as constructed, not read by a second reader.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..evaluate import load_annotations

OUT_NAME = "derived_detail.jsonl"
SEED = 11
# the reader names the script that first wrote these rows: kept, so the rows stay byte for byte the same
REVIEW = {"reader": "none: labelled by construction (judge/perturb_rows.py)", "verdict": "ok", "notes": ""}
SOURCE_TRAPS = ("meets", "paraphrase")

# Pairs of words that turn each other's meaning: each side is swapped for the other everywhere in
# the response, so 左侧…右侧 stays consistent but wrong. Longer words first (阳性 before 阳).
SWAPS: list[tuple[str, str, str]] = [
    ("side", "左侧", "右侧"),
    ("side", "左", "右"),
    ("side", "left", "right"),
    ("sign", "阳性", "阴性"),
    ("sign", "positive", "negative"),
    ("direction", "升高", "降低"),
    ("direction", "增高", "减低"),
    ("direction", "增多", "减少"),
    ("direction", "增大", "缩小"),
    ("direction", "增快", "减慢"),
    ("direction", "高于", "低于"),
    ("direction", "大于", "小于"),
    ("direction", "超过", "低于"),
    ("direction", "向上", "向下"),
    ("direction", "上升", "下降"),
    ("direction", "抬高", "压低"),
    ("direction", "亢进", "减退"),
    ("direction", "increased", "decreased"),
    ("direction", "raised", "low"),
    ("direction", "elevated", "reduced"),
    ("direction", "high", "low"),
    ("direction", "above", "below"),
    ("presence", "可见", "未见"),
    ("presence", "伴有", "不伴"),
]

# a quantity, not part of a name: B12, CA19-9, GM1, CD59, 葡萄糖-6-磷酸 and 2型 are left alone
NUMBER = re.compile(r"(?<![\d.A-Za-z\-])\d+(?:\.\d+)?(?![\d.A-Za-z\-型])")


def _has_word(text: str, word: str) -> bool:
    if word.isascii():
        return re.search(rf"\b{re.escape(word)}\b", text, re.IGNORECASE) is not None
    return word in text


def _swap(text: str, a: str, b: str) -> str:
    """Every a becomes b and every b becomes a, in one pass (so 左侧…右侧 turns into 右侧…左侧)."""
    if a.isascii():

        def other(m: re.Match[str]) -> str:
            word = b if m.group(0).lower() == a else a
            return word.capitalize() if m.group(0)[0].isupper() else word

        return re.sub(rf"\b(?:{re.escape(a)}|{re.escape(b)})\b", other, text, flags=re.IGNORECASE)
    return re.sub(f"{re.escape(a)}|{re.escape(b)}", lambda m: b if m.group(0) == a else a, text)


def _turned_number(value: str, rng: random.Random) -> str:
    """Another value of the same shape: a decimal moves by a step or two, a count by a few, a large number doubles or halves."""
    if "." in value:
        whole, frac = value.split(".")
        step = rng.choice([1, 2]) * rng.choice([-1, 1])
        turned = max(0, int(whole) + step)
        return f"{turned}.{frac}"
    n = int(value)
    if n == 0:
        return str(rng.choice([1, 2]))
    if n < 10:  # small counts move by a step or two, never below 1
        if n < 3 or rng.random() < 0.5:
            return str(n + rng.choice([1, 2, 3]))
        return str(n - rng.choice([1, 2]))
    return str(n * 2 if rng.random() < 0.5 else max(1, n // 2))


def _replacer(value: str, new: str) -> Callable[[re.Match[str]], str]:
    """For ``re.sub``: ``new`` where the number is exactly ``value``, the number unchanged elsewhere."""
    return lambda m: new if m.group(0) == value else m.group(0)


def perturb(point: str, response: str, rng: random.Random) -> tuple[str, str] | None:
    """The response with one detail it shares with the point turned, and what was turned."""
    options: list[tuple[str, str]] = []
    for what, a, b in SWAPS:
        in_point = _has_word(point, a) or _has_word(point, b)
        if in_point and (_has_word(response, a) or _has_word(response, b)):
            turned = _swap(response, a, b)
            if turned != response:
                options.append((turned, f"{what}: {a}/{b} swapped"))
    shared = sorted(set(NUMBER.findall(point)) & set(NUMBER.findall(response)))
    for value in shared:
        new = _turned_number(value, rng)
        if new != value:
            turned = NUMBER.sub(_replacer(value, new), response)
            options.append((turned, f"number: {value} -> {new}"))
    if not options:
        return None
    # the first matching swap of a kind only (左侧 already covers 左), numbers as they come
    seen_kinds: set[str] = set()
    unique = []
    for turned, why in options:
        kind = why.split(":")[0]
        if kind != "number" and kind in seen_kinds:
            continue
        seen_kinds.add(kind)
        unique.append((turned, why))
    return rng.choice(unique)


def _kept(row: dict[str, Any]) -> dict[str, Any]:
    """The fields a constructed row takes from its source unchanged."""
    return {k: row[k] for k in ("item", "kind", "dataset", "context", "point", "lang") if k in row}


def rows_from(source: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    """A wrong-detail twin of each hand-written train row that meets its point and shares a detail with it."""
    out = []
    for r in source:
        if r["label"] != "yes" or r.get("trap") not in SOURCE_TRAPS or r["kind"] == "risk":
            continue
        if r["id"].startswith("derived-"):
            continue
        made = perturb(r["point"], r["response"], rng)
        if made is None:
            continue
        response, why = made
        out.append(
            {
                **_kept(r),
                "id": f"detail-{r['id']}",
                "response": response,
                "label": "no",
                "trap": "wrong_detail",
                "note": f"constructed from {r['id']} ({why})",
                "review": REVIEW,
                "split": "train",
            }
        )
    return out


def source_rows(data: Path) -> list[dict[str, Any]]:
    """The train-split rows of ``data`` that a twin may come from (not the twins themselves), by id."""
    return sorted(
        (r for r in load_annotations(data, "train") if not r["id"].startswith("detail-")), key=lambda r: r["id"]
    )


def detail_rows(data: Path) -> list[dict[str, Any]]:
    """The wrong-detail rows of ``data``, with the seed the committed file was written with."""
    return rows_from(source_rows(data), random.Random(SEED))


def kind_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    """How many rows turned each kind of detail (side, sign, direction, presence, number)."""
    kinds: dict[str, int] = {}
    for r in rows:
        k = r["note"].split("(")[-1].split(":")[0]
        kinds[k] = kinds.get(k, 0) + 1
    return kinds
