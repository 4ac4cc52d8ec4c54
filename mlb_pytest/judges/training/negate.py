"""Constructed training rows: a response that meets its point, then denies or retracts it.

    mlb judge build negate [--data judge/data/annotations] [--out FILE]

Measured on hard cases written apart from the judge, its two weakest traps are negation (the
response says the point's finding is absent, 无/未见/否认/"no") and contradiction (the response
states the point and later takes it back). Both read, word for word, much like a response that
meets the point, which is why a cross-encoder trained on clean rows says *yes* to them.

For every hand-written train-split row whose response meets its point (label yes, trap meets or
paraphrase, kind point or quality), this finds the longest phrase the point and the response share
and writes one of:

- **negation**: that phrase in the response preceded by a negation (未见 / 无 / 否认 / 不考虑 / 排除;
  "no" / "not" / "denies" / "rules out"), label no;
- **contradiction**: the response kept whole, followed by a sentence that retracts the phrase
  (e.g. 「但复核后，X不成立，予以排除。」), label no.

The unchanged twin stays in training as yes, so each pair differs only by the denial. Only
train-split rows are read: dev and test figures stay on hand-written rows. The rows are labelled by
construction and not read by a second reader; the grammar of an inserted negation is sometimes
clumsy, which is the price of a rule that knows no syntax.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

from ..evaluate import load_annotations

OUT_NAME = "derived_negation.jsonl"
SEED = 17
# the reader names the script that first wrote these rows: kept, so the rows stay byte for byte the same
REVIEW = {"reader": "none: labelled by construction (judge/negate_rows.py)", "verdict": "ok", "notes": ""}
SOURCE_TRAPS = ("meets", "paraphrase")
ZH_FINDING_NEGATIONS = ("未见", "无", "否认", "不考虑", "排除")
ZH_ACTION_NEGATIONS = ("无需", "不建议", "不需要", "不必")
ZH_ACTION = re.compile(r"^(推荐|建议|需|应|予|给予|行|完善|查|检查|说明|告知|指出|拒绝|报告)")
_NEGATED = re.compile(r"^(无|未|否|不|非|排除|没有|并非|no\b|not\b|denies\b)", re.I)
EN_NEGATIONS = ("no ", "not ", "denies ", "rules out ")
ZH_RETRACTIONS = (
    "但复核后，{p}不成立，予以排除。",
    "更正：不考虑{p}。",
    "以上有误，实际上并无{p}。",
    "不过综合来看，{p}可以排除，无需处理。",
)
EN_RETRACTIONS = (
    "On review, however, {p} does not apply and is ruled out.",
    "Correction: not {p}.",
    "That said, there is actually no {p}.",
)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_SKIP = set("，。；：、（）()《》“”\"' ,.;:!?！？\n")


def shared_phrase(point: str, response: str, lang: str) -> str | None:
    """The longest phrase of the point that the response repeats (4+ CJK characters, or 2+ English words)."""
    if lang == "en":
        words = re.findall(r"[A-Za-z][A-Za-z\-]+", point)
        best = None
        for i in range(len(words)):
            for j in range(len(words), i + 1, -1):
                phrase = " ".join(words[i:j])
                if len(phrase) >= 8 and re.search(rf"\b{re.escape(phrase)}\b", response, re.I):
                    if best is None or len(phrase) > len(best):
                        best = phrase
                    break
        return best
    best = ""
    n = len(point)
    for i in range(n):
        if point[i] in _SKIP:
            continue
        for j in range(min(n, i + 16), i + 3, -1):
            piece = point[i:j]
            if any(c in _SKIP for c in piece) or len(_CJK.findall(piece)) < 3:
                continue
            if piece in response:
                if len(piece) > len(best):
                    best = piece
                break
    return best if len(best) >= 4 else None


def negate(response: str, phrase: str, point: str, lang: str, rng: random.Random) -> str:
    """The response with the clause that carries ``phrase`` replaced by its denial.

    The negation fits the point: an action (推荐/建议/需…) is declined (无需, 不建议), a finding or
    diagnosis is denied (无, 未见, 否认, 不考虑), and anything else is disowned (并非).
    """
    if lang == "en":
        m = re.search(rf"\b{re.escape(phrase)}\b", response, re.I)
        assert m is not None
        return response[: m.start()] + rng.choice(EN_NEGATIONS) + response[m.start() :]
    at = response.index(phrase)
    start = max(response.rfind(c, 0, at) for c in "，。；：\n、,;:") + 1
    ends = [i for c in "，。；\n,;" if (i := response.find(c, at + len(phrase))) != -1]
    end = min(ends) if ends else len(response)
    if ZH_ACTION.match(point):
        denial = rng.choice(ZH_ACTION_NEGATIONS) + phrase
    elif start == at:
        denial = rng.choice(ZH_FINDING_NEGATIONS) + phrase
    else:
        denial = "并非" + response[start:end]
    return response[:start] + denial + response[end:]


def retract(response: str, phrase: str, lang: str, rng: random.Random) -> str:
    """The response kept whole, then a sentence that takes ``phrase`` back."""
    sentence = rng.choice(EN_RETRACTIONS if lang == "en" else ZH_RETRACTIONS).format(p=phrase)
    sep = " " if lang == "en" else ""
    return response.rstrip() + sep + sentence


def _kept(row: dict[str, Any]) -> dict[str, Any]:
    """The fields a constructed row takes from its source unchanged."""
    return {k: row[k] for k in ("item", "kind", "dataset", "context", "point", "lang") if k in row}


def rows_from(source: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    """A denied or retracted twin of each hand-written train row that meets its point."""
    out = []
    for r in source:
        if r["label"] != "yes" or r.get("trap") not in SOURCE_TRAPS or r["kind"] == "risk":
            continue
        lang = "en" if str(r.get("lang", "zh")).startswith("en") else "zh"
        phrase = shared_phrase(r["point"], r["response"], lang)
        if phrase is None or _NEGATED.match(phrase):
            continue
        # an English negation inserted without syntax reads as noise ("30 no times"): English rows are retracted
        trap = "contradiction" if lang == "en" else rng.choice(("negation", "contradiction"))
        made = (
            negate(r["response"], phrase, r["point"], lang, rng)
            if trap == "negation"
            else retract(r["response"], phrase, lang, rng)
        )
        out.append(
            {
                **_kept(r),
                "id": f"{trap[:3]}-{r['id']}",
                "response": made,
                "label": "no",
                "trap": trap,
                "note": f"constructed from {r['id']} ({trap} of '{phrase}')",
                "review": REVIEW,
                "split": "train",
            }
        )
    return out


def source_rows(data: Path) -> list[dict[str, Any]]:
    """The hand-written train-split rows of ``data`` (no constructed ones), by id."""
    return sorted(
        (r for r in load_annotations(data, "train") if not r["id"].startswith(("detail-", "neg-", "con-", "derived-"))),
        key=lambda r: r["id"],
    )


def negation_rows(data: Path) -> list[dict[str, Any]]:
    """The negation and contradiction rows of ``data``, with the seed of the measured experiment."""
    return rows_from(source_rows(data), random.Random(SEED))


def trap_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    """How many rows each trap (negation, contradiction) got."""
    traps: dict[str, int] = {}
    for r in rows:
        traps[r["trap"]] = traps.get(r["trap"], 0) + 1
    return traps
