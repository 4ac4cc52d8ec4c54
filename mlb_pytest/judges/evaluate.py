"""``mlb judge eval``: a judge's agreement with human labels on annotation rows.

Rows (JSONL): {"id", "kind": "point"|"risk", "dataset", "context", "point", "response",
"label": "yes"|"no", "split", optional "trap" (what the response tries: paraphrase, partial,
negation, wrong_number, passing_mention, injection, ...)}. Reports accuracy, precision / recall /
F1 with "yes" as the positive class, Cohen's kappa, the confusion matrix, breakdowns per dataset
and per trap, and the flip rate on injection rows (the share the judge got wrong).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..statistics import cohen_kappa

LABELS = ("yes", "no")


def annotation_files(path: Path) -> list[Path]:
    """A JSONL file, or every ``*.jsonl`` in a folder (``judge/data/annotations/``), in name order."""
    if path.is_dir():
        files = sorted(path.glob("*.jsonl"))
        if not files:
            raise ValueError(f"{path}: no .jsonl annotation files in this folder")
        return files
    if not path.is_file():
        raise ValueError(f"{path}: no such annotation file or folder")
    return [path]


def load_annotations(path: Path, split: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Rows of one split (all when None); rows a second reader dropped are left out."""
    rows = []
    for file in annotation_files(path):
        for n, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{file}:{n}: invalid JSON: {exc.msg}") from None
            for field in ("id", "kind", "point", "response", "label"):
                if field not in row:
                    raise ValueError(f"{file}:{n}: field '{field}' missing")
            if row["kind"] not in ("point", "risk") or row["label"] not in LABELS:
                raise ValueError(f"{file}:{n}: kind must be point|risk and label yes|no")
            if (row.get("review") or {}).get("verdict") == "dropped":
                continue
            if split is None or row.get("split") == split:
                rows.append(row)
    return rows[:limit] if limit else rows


def data_digest(path: Path) -> str:
    """sha256 over the annotation files (names and bytes): which data a judge was trained on."""
    digest = hashlib.sha256()
    for file in annotation_files(path):
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def metrics(pairs: Sequence[tuple[bool, bool]]) -> dict[str, Any]:
    """(human, judge) yes/no pairs -> accuracy, precision/recall/F1 (yes positive), kappa, confusion."""
    tp = sum(h and j for h, j in pairs)
    tn = sum(not h and not j for h, j in pairs)
    fp = sum(not h and j for h, j in pairs)
    fn = sum(h and not j for h, j in pairs)
    n = len(pairs)
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = (2 * precision * recall / (precision + recall)) if precision and recall else (0.0 if tp == 0 and n else None)
    return {"n": n, "accuracy": (tp + tn) / n if n else None, "precision": precision, "recall": recall, "f1": f1,
            "kappa": cohen_kappa(list(pairs)),
            "confusion": {"human_yes_judge_yes": tp, "human_yes_judge_no": fn, "human_no_judge_yes": fp,
                          "human_no_judge_no": tn}}


def evaluate_rows(rows: Iterable[Mapping[str, Any]], verdicts: Mapping[str, bool]) -> dict[str, Any]:
    rows = [r for r in rows if r["id"] in verdicts]
    pair = lambda r: (r["label"] == "yes", verdicts[r["id"]])  # noqa: E731
    out = metrics([pair(r) for r in rows])
    for field, name in (("dataset", "per_dataset"), ("trap", "per_trap")):
        groups: dict[str, list[tuple[bool, bool]]] = {}
        for r in rows:
            groups.setdefault(str(r.get(field) or "none"), []).append(pair(r))
        out[name] = {k: metrics(v) for k, v in sorted(groups.items())}
    inj = [r for r in rows if r.get("trap") == "injection"]
    out["injection_flip_rate"] = (sum(verdicts[r["id"]] != (r["label"] == "yes") for r in inj) / len(inj)) if inj else None
    return out


def report_lines(result: Mapping[str, Any]) -> list[str]:
    def f(x: Any) -> str:
        return "-" if x is None else f"{x:.3f}"

    c = result["confusion"]
    lines = [f"rows {result['n']}: accuracy {f(result['accuracy'])}, precision {f(result['precision'])}, "
             f"recall {f(result['recall'])}, F1 {f(result['f1'])} (yes positive), kappa {f(result['kappa'])}",
             f"confusion: human yes/judge yes {c['human_yes_judge_yes']}, human yes/judge no {c['human_yes_judge_no']}, "
             f"human no/judge yes {c['human_no_judge_yes']}, human no/judge no {c['human_no_judge_no']}"]
    for name in ("per_dataset", "per_trap"):
        for k, m in result[name].items():
            lines.append(f"  {name[4:]} {k}: n {m['n']}, accuracy {f(m['accuracy'])}, kappa {f(m['kappa'])}")
    lines.append(f"injection flip rate: {f(result['injection_flip_rate'])}")
    return lines
