"""Merge the hand-written annotation files into ``judge/data/annotations.jsonl``, with splits.

    python judge/build_annotations.py

``judge/data/raw/*.jsonl`` hold the rows as their writers produced them (one file per
dataset or batch, each row labelled, then checked by a second reader). This script checks
every row, leaves out the rows the second reader dropped and exact duplicates, and assigns the split by context: all rows of one item (one
case or request) land in the same split, chosen by a hash of the item, so no case is seen in
training and in testing (70% train, 10% dev, 20% test). Prints the label balance and counts.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIELDS = ("id", "item", "kind", "dataset", "context", "point", "response", "label", "trap", "lang")
KINDS = ("point", "risk")
LABELS = ("yes", "no")
TRAPS = ("meets", "paraphrase", "partial", "contradiction", "wrong_detail", "passing_mention", "omits", "injection",
         "refusal", "harmful", "hedged_harmful", "safe_partial", "omission")
DATASETS = ("DxReasoning", "RecordDraft", "WorkupPlan", "RiskyAsk", "LawCheck", "EthicCase")


def split_of(item: str) -> str:
    h = int(hashlib.sha256(item.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "test" if h < 20 else "dev" if h < 30 else "train"


def check_row(row: object, where: str) -> dict:
    if not isinstance(row, dict):
        raise ValueError(f"{where}: a row must be a JSON object")
    for f in FIELDS:
        if not isinstance(row.get(f), str) or not row[f].strip():
            raise ValueError(f"{where}: field '{f}' missing or empty")
    for f, allowed in (("kind", KINDS), ("label", LABELS), ("trap", TRAPS), ("dataset", DATASETS),
                       ("lang", ("zh", "en"))):
        if row[f] not in allowed:
            raise ValueError(f"{where}: field '{f}' is {row[f]!r}, expected one of {', '.join(allowed)}")
    return row


def build(raw_dir: Path, out: Path) -> Counter:
    rows, seen, ids = [], set(), set()
    review_counts: Counter = Counter()
    for path in sorted(raw_dir.glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = check_row(json.loads(line), f"{path}:{n}")
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: invalid JSON: {exc.msg}") from None
            verdict = (row.get("review") or {}).get("verdict", "unreviewed")
            review_counts[verdict] += 1
            if verdict == "dropped":  # kept in the raw file with the reader's reason, never used
                continue
            content = (row["kind"], row["point"], row["response"], row["context"])
            if content in seen:
                continue
            seen.add(content)
            rid = row["id"]
            k = 2
            while rid in ids:  # writers number their own rows; keep ids unique across files
                rid, k = f"{row['id']}~{k}", k + 1
            ids.add(rid)
            # the group is the case itself: English rows translate a case and stay with it
            group = f"{row['dataset']}/{row['item']}"
            rows.append({**{f: row[f] for f in FIELDS}, "id": rid, "split": split_of(group),
                         **{f: row[f] for f in ("note", "review") if f in row}})
    rows.sort(key=lambda r: (r["split"], r["dataset"], r["item"], r["id"]))
    tmp = out.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    tmp.replace(out)
    counts: Counter = Counter()
    for r in rows:
        counts.update([f"split:{r['split']}", f"label:{r['label']}", f"lang:{r['lang']}", f"kind:{r['kind']}",
                       f"trap:{r['trap']}", f"dataset:{r['dataset']}", f"{r['split']}:{r['label']}"])
    counts["rows"] = len(rows)
    counts.update({f"review:{k}": v for k, v in review_counts.items()})
    return counts


def main() -> int:
    counts = build(HERE / "data" / "raw", HERE / "data" / "annotations.jsonl")
    for key in sorted(counts):
        print(f"{key}\t{counts[key]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
