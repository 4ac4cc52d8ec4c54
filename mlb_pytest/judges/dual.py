"""MLB's dual-judge protocol: two judges per question; agreement decides, disagreement is disputed.

A disputed question gets a stated conservative verdict until a physician decides: a disputed
risk counts as a risk, a disputed reference or quality point counts as not met, a disputed rubric
criterion as not met (positive points) or met (negative points). A question on
which a judge abstained (``uncertain``) stays uncertain until a physician decides, whatever the
other judge says, and is scored by the same conservative rule. Decisions (adjudications) are
keyed by item, criterion and a hash of the response, so they apply again only to the very same
answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .questions import JudgeQuestion, conservative_yes
from .verdict import Verdict


def response_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def adjudication_key(item_key: str, criterion: str, response: str) -> str:
    return f"{item_key}\x1f{criterion}\x1f{response_hash(response)}"


def combine(
    item_key: str, q: JudgeQuestion, v1: Verdict, v2: Verdict | None, decisions: Mapping[str, bool]
) -> tuple[Verdict, dict[str, Any]]:
    """The verdict a question ends with, and the record of how it was reached.

    A physician's decision wins; else an abstention leaves the question uncertain; else two
    judges that disagree leave it disputed, with the conservative verdict.
    """
    record: dict[str, Any] = {"kind": q.kind, "criterion": q.criterion, **_side(1, v1)}
    if q.kind == "rubric":
        record.update(points=q.points, tags=list(q.tags))
    if v2 is not None:
        record.update(_side(2, v2))
    decided = decisions.get(adjudication_key(item_key, q.criterion, q.response))
    abstained = next((v for v in (v1, v2) if v is not None and v.uncertain), None)
    if decided is not None:
        final, source = _stated(decided, v1, v2), "adjudicated"
    elif abstained is not None:
        final, source = abstained, "uncertain"
        record.update(leaning="yes" if abstained.yes else "no", p_yes=abstained.p_yes)
    elif v2 is None or v1.yes == v2.yes:
        final, source = v1, "agreed" if v2 is not None else "single"
    else:
        final, source = _stated(conservative_yes(q), v1, v2), "disputed"  # conservative: a disputed risk is a risk
    record.update(verdict=final.word, source=source, response_hash=response_hash(q.response))
    return final, record


def _side(n: int, v: Verdict) -> dict[str, Any]:
    """One judge's verdict in a record: ``judge1``/``rationale1`` (and ``p_yes1`` when it states one)."""
    side: dict[str, Any] = {f"judge{n}": v.word, f"rationale{n}": v.rationale}
    if v.p_yes is not None:
        side[f"p_yes{n}"] = v.p_yes
    return side


def _stated(final: bool, v1: Verdict, v2: Verdict | None) -> Verdict:
    """A verdict the protocol states (decided or conservative), with the rationale of a judge that gave it."""
    return Verdict(final, v1.rationale if final == v1.yes else (v2.rationale if v2 else ""), v1.raw)


def load_decisions(path: Path) -> dict[str, bool]:
    """Adjudications file (JSONL: item, criterion, response_hash, decision yes/no); {} when absent."""
    out: dict[str, bool] = {}
    if not path.is_file():
        return out
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            decision = str(row["decision"]).lower()
            if decision not in ("yes", "no"):
                raise ValueError("decision must be yes or no")
            out[f"{row['item']}\x1f{row['criterion']}\x1f{row['response_hash']}"] = decision == "yes"
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{n}: bad adjudication row ({exc})") from None
    return out


def merge_decisions(review_rows: Iterable[Mapping[str, Any]], target: Path) -> tuple[int, int]:
    """Add the rows that carry a physician's decision to the adjudications file (atomically)."""
    from .._atomic import write_text_atomic

    existing: dict[tuple[str, str, str], dict[str, Any]] = {}
    if target.is_file():
        load_decisions(target)  # refuse to extend a broken file
        for line in target.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                existing[(row["item"], row["criterion"], row["response_hash"])] = row
    added = skipped = 0
    for row in review_rows:
        decision = str(row.get("decision") or "").lower()
        if decision not in ("yes", "no"):
            skipped += 1
            continue
        key = (row["item"], row["criterion"], row["response_hash"])
        existing[key] = {
            "item": key[0],
            "criterion": key[1],
            "response_hash": key[2],
            "decision": decision,
            "reviewer": row.get("reviewer", ""),
            "note": row.get("note", ""),
        }
        added += 1
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in existing.values())
    write_text_atomic(target, text)
    return added, skipped
