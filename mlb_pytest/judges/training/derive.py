"""Constructed training rows: whole JSON answers against single points, labelled by construction.

The hand-written rows mostly pair a point with a short excerpt; in a run, a SmartCare point is
judged against the model's whole JSON answer, and MLB's release items bring points derived
from the answer's fields (``诊断：…``, ``推荐检查：…（依据：…）``, ``性别：不详``). So for each bundled
SmartCare item this writes rows that teach that shape: its reference answer as the response
meets its own points and the points derived from it (yes); the same answer with the entry for a
point removed, or a record field blanked to 不详 or taken from another case, does not (no).
Only cases of the train split get such rows (the dev and test figures stay on hand-written rows
and unseen cases), and they are marked as constructed, not read by a second reader.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from ...suites.build import RECORD_FIELDS, derive_points
from .paths import SUITES as SUITES_DIR
from .paths import need_file
from .splits import split_of

OUT_NAME = "derived_json.jsonl"
SEED = 7
SUITES = {
    "DxReasoning": "smartcare/DxReasoning.jsonl",
    "WorkupPlan": "smartcare/WorkupPlan.jsonl",
    "RecordDraft": "smartcare/RecordDraft.jsonl",
}
# the reader names the script that first wrote these rows: kept, so the rows stay byte for byte the same
REVIEW = {"reader": "none: labelled by construction (judge/derive_rows.py)", "verdict": "ok", "notes": ""}
YES_PER_KIND, NO_PER_ITEM = 2, 3  # constructed rows stay a minority, about balanced


def _items(dataset: str, suites: Path) -> list[dict[str, Any]]:
    path = need_file(suites / SUITES[dataset], " (the bundled SmartCare suite; pass --suites FOLDER)")
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    items = [json.loads(line) for line in lines if line.strip()]
    return [
        i for i in items if isinstance(i.get("answer"), dict) and (i.get("review") or {}).get("verdict") != "dropped"
    ]


def _without(answer: dict[str, Any], dataset: str, k: int) -> tuple[dict[str, Any], int] | None:
    """The answer with its k-th entry removed, and the index of the derived point that loses it."""
    a = json.loads(json.dumps(answer, ensure_ascii=False))
    if dataset == "DxReasoning":
        bases = a.get("诊断依据")
        if isinstance(bases, list) and k < len(bases) and len(bases) > 1:
            del bases[k]
            return a, k + 1  # derived points: 诊断, then one per basis
    if dataset == "WorkupPlan":
        tests, reasons = a.get("推荐检查和检验"), a.get("解释依据")
        if isinstance(tests, list) and k < len(tests) and len(tests) > 1:
            del tests[k]
            if isinstance(reasons, list) and k < len(reasons):
                del reasons[k]
            return a, k
    return None


def rows_for(dataset: str, rng: random.Random, suites: Path = SUITES_DIR) -> list[dict[str, Any]]:
    """The constructed rows of one SmartCare dataset (its train-split cases only)."""
    items = _items(dataset, suites)
    out: list[dict[str, Any]] = []

    seen: set[tuple[str, str]] = set()

    def row(item: dict[str, Any], n: int, point: str, answer: dict[str, Any], label: str, trap: str, note: str) -> None:
        response = json.dumps(answer, ensure_ascii=False)
        if (point, response) in seen:  # an own point can read exactly like a derived one
            return
        seen.add((point, response))
        out.append(
            {
                "id": f"derived-{dataset}-{item['id']}-{n}",
                "item": item["id"],
                "kind": "point",
                "dataset": dataset,
                "context": item["question"],
                "point": point,
                "response": response,
                "label": label,
                "trap": trap,
                "lang": "zh",
                "note": note,
                "review": REVIEW,
                "split": "train",
            }
        )

    for idx, item in enumerate(items):
        if split_of(f"{dataset}/{item['id']}") != "train":  # cases of the dev and test splits stay unseen
            continue
        answer = item["answer"]
        derived = derive_points(dataset, answer) or []
        own = list(item.get("reference_points") or [])
        n = 0
        for p in rng.sample(own, min(YES_PER_KIND, len(own))):
            row(item, n, p, answer, "yes", "meets", "the item's reference answer meets its own reference point")
            n += 1
        for p in rng.sample(derived, min(YES_PER_KIND, len(derived))):
            row(item, n, p, answer, "yes", "meets", "the point is taken from this very answer")
            n += 1
        if dataset == "RecordDraft":
            other = items[(idx + 1) % len(items)]["answer"]
            fields = [f for f in RECORD_FIELDS if f in answer]
            for f in rng.sample(fields, min(NO_PER_ITEM, len(fields))):
                changed = dict(answer)
                value = answer[f]
                blank = "不详" if not isinstance(value, list) else ["不详"]
                if str(value).strip("[]'\" ") == "不详":
                    changed[f], why = (
                        other.get(f, value),
                        "the field is filled from another case where the reference says 不详",
                    )
                else:
                    changed[f], why = blank, "the field says 不详 where the reference records it"
                if changed[f] == value:
                    continue
                point = next(p for p in derived if p.startswith(f + "："))
                row(item, n, point, changed, "no", "contradiction", why)
                n += 1
        else:
            for k in rng.sample(range(len(derived)), min(NO_PER_ITEM, len(derived))):
                cut = _without(answer, dataset, k)
                if cut is None:
                    continue
                changed, lost = cut
                row(
                    item,
                    n,
                    derived[lost],
                    changed,
                    "no",
                    "omits",
                    "the entry this point needs was removed from the answer",
                )
                n += 1
    return out


def derived_rows(suites: Path = SUITES_DIR) -> list[dict[str, Any]]:
    """Every dataset's constructed rows, in the order (and with the seed) the committed file has."""
    rng = random.Random(SEED)
    return [r for ds in SUITES for r in rows_for(ds, rng, suites)]
