"""Check the judge annotation files and give every row its split, in place (``mlb judge build splits``).

The files hold the rows as their writers produced them (one file per dataset, two more on new
cases), each labelled, then checked by a second reader (``review``: ok, relabelled,
retrapped or dropped, with the reason; dropped rows stay in the file and are never used).
Every row is checked (fields, allowed values, unique ids, no content written twice) and the
split is assigned by case: all rows of one item land in the same split, chosen by a hash
of dataset and item, so no case is seen both in training and in testing (70% train, 10% dev,
20% test). A file is rewritten (atomically) only when a split changed.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

from ..._atomic import write_text_atomic
from .paths import TrainingInputError, need_dir

FIELDS = ("id", "item", "kind", "dataset", "context", "point", "response", "label", "trap", "lang")
KINDS = ("point", "risk")
LABELS = ("yes", "no")
TRAPS = (
    "meets",
    "paraphrase",
    "partial",
    "contradiction",
    "wrong_detail",
    "passing_mention",
    "omits",
    "injection",
    "refusal",
    "harmful",
    "hedged_harmful",
    "safe_partial",
    "omission",
)
DATASETS = ("DxReasoning", "RecordDraft", "WorkupPlan", "RiskyAsk", "LawCheck", "EthicCase")
REVIEWS = ("ok", "relabelled", "retrapped", "dropped")


def split_of(group: str) -> str:
    """The split of a case (``dataset/item``): a hash, so it never depends on file order."""
    h = int(hashlib.sha256(group.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "test" if h < 20 else "dev" if h < 30 else "train"


def check_row(row: object, where: str) -> dict[str, Any]:
    """The row, when every field is present and allowed; otherwise an error naming ``where``."""
    if not isinstance(row, dict):
        raise ValueError(f"{where}: a row must be a JSON object")
    for f in FIELDS:
        if not isinstance(row.get(f), str) or not row[f].strip():
            raise ValueError(f"{where}: field '{f}' missing or empty")
    for f, allowed in (
        ("kind", KINDS),
        ("label", LABELS),
        ("trap", TRAPS),
        ("dataset", DATASETS),
        ("lang", ("zh", "en")),
    ):
        if row[f] not in allowed:
            raise ValueError(f"{where}: field '{f}' is {row[f]!r}, expected one of {', '.join(allowed)}")
    review = row.get("review")
    if not isinstance(review, dict) or review.get("verdict") not in REVIEWS:
        raise ValueError(f"{where}: field 'review' must say the second reader's verdict ({', '.join(REVIEWS)})")
    return row


def build(folder: Path) -> Counter[str]:
    """Check every ``*.jsonl`` in ``folder``, write the splits into it, and count the rows kept."""
    files = sorted(need_dir(folder).glob("*.jsonl"))
    if not files:
        raise TrainingInputError(f"{folder}: no .jsonl annotation files in this folder")
    counts: Counter[str] = Counter()
    seen: dict[tuple[str, ...], tuple[str, str, bool]] = {}
    ids: dict[str, str] = {}
    for path in files:
        lines = path.read_text(encoding="utf-8").splitlines()
        out, changed = [], False
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{path.name}:{n}"
            try:
                row = check_row(json.loads(line), where)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: invalid JSON: {exc.msg}") from None
            if row["id"] in ids:
                raise ValueError(f"{where}: id {row['id']!r} already used at {ids[row['id']]}")
            ids[row["id"]] = where
            verdict = row["review"]["verdict"]
            counts[f"review:{verdict}"] += 1
            split = split_of(f"{row['dataset']}/{row['item']}")  # English rows translate a case: same group
            if row.get("split") != split:
                row["split"], changed = split, True
            out.append(json.dumps(row, ensure_ascii=False))
            if verdict == "dropped":
                continue
            content = (row["kind"], row["point"], row["response"], row["context"])
            constructed = str(row["review"].get("reader", "")).startswith("none: labelled by construction")
            if content in seen:
                first, label, first_constructed = seen[content]
                if not (constructed or first_constructed):
                    raise ValueError(f"{where}: the same row as {first} (drop one of them)")
                if label != row["label"]:
                    raise ValueError(
                        f"{where}: constructed as {row['label']!r} but {first} labels the same row {label!r}"
                    )
                counts["constructed rows that a writer also wrote, same label"] += 1
            else:
                seen[content] = (where, row["label"], constructed)
            counts.update(
                [
                    "rows",
                    f"split:{split}",
                    f"label:{row['label']}",
                    f"lang:{row['lang']}",
                    f"kind:{row['kind']}",
                    f"trap:{row['trap']}",
                    f"dataset:{row['dataset']}",
                    f"{split}:{row['label']}",
                ]
            )
        if changed:
            write_text_atomic(path, "\n".join(out) + "\n")
    return counts


def count_lines(counts: Counter[str]) -> list[str]:
    """The counts as ``key<TAB>count`` lines, sorted by key (what the script printed)."""
    return [f"{key}\t{counts[key]}" for key in sorted(counts)]
