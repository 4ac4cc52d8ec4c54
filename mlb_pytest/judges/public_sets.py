"""Public human-labelled NLI sets (``../shared/judge_data/<set>/``) as judge evaluation rows.

Each folder holds normalised JSONL rows ``{id, premise, hypothesis, label, label_nli, lang, ...}``,
one file per split (names vary: ``test.jsonl``, ``all.jsonl``, ``snli_dev.jsonl``). A row becomes
a judge question of kind ``point``: does the response (the premise) meet the criterion (the
hypothesis)? The human label is *yes* only for ``entailment``: neutral, contradiction and
not_entailment all mean "not stated", which for a reference point is "not met".

The rows come out in the shape of annotation rows (``evaluate.load_annotations``), so one scorer
serves both; ``label_nli`` and ``lang`` are kept for the per-class and per-language breakdowns.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

NLI_LABELS = ("entailment", "neutral", "contradiction", "not_entailment")
REQUIRED = ("id", "premise", "hypothesis", "label_nli", "lang")
SAMPLE_SEED = "mlb judge eval --public --limit"


def split_file(folder: Path, split: str | None = None, file: str | None = None) -> Path:
    """The one JSONL file to read: ``file`` exactly, or the one whose name starts with ``split``.

    Without either, a folder holding a single JSONL file means that file. Anything ambiguous is an
    error that names the folder and its files, so the user can pick one.
    """
    if not folder.is_dir():
        raise ValueError(f"{folder}: not a folder of a public set (see ../shared/judge_data/README.md)")
    files = sorted(p.name for p in folder.glob("*.jsonl"))
    listing = f"files in {folder}: {', '.join(files) or 'none'}"
    if file is not None:
        if split is not None:
            raise ValueError("give --split or --public-file, not both")
        if file not in files:
            raise ValueError(f"{folder}: no file named {file!r}; {listing}")
        return folder / file
    matches = [f for f in files if split is None or f.startswith(split)]
    if len(matches) == 1:
        return folder / matches[0]
    what = "no split given" if split is None else f"split {split!r} matches {len(matches)} files"
    raise ValueError(f"{folder}: {what}; pick one with --split PREFIX or --public-file NAME ({listing})")


def judge_row(raw: Any, dataset: str, split: str) -> dict[str, Any]:
    """One source row as an annotation row (kind point); ValueError says what is wrong with it."""
    if not isinstance(raw, dict):
        raise ValueError("not a JSON object")
    missing = [f for f in REQUIRED if f not in raw]
    if missing:
        raise ValueError(f"field(s) {', '.join(missing)} missing")
    for field in ("premise", "hypothesis", "lang"):
        if not isinstance(raw[field], str) or not raw[field].strip():
            raise ValueError(f"field '{field}' must be a non-empty string")
    if not isinstance(raw["id"], (str, int)) or isinstance(raw["id"], bool):
        raise ValueError("field 'id' must be a string or an integer")
    if raw["label_nli"] not in NLI_LABELS:
        raise ValueError(f"label_nli must be one of {'|'.join(NLI_LABELS)}, got {raw['label_nli']!r}")
    return {
        "id": str(raw["id"]),
        "kind": "point",
        "dataset": dataset,
        "context": "",
        "point": raw["hypothesis"],
        "response": raw["premise"],
        "label": "yes" if raw["label_nli"] == "entailment" else "no",
        "label_nli": raw["label_nli"],
        "lang": raw["lang"],
        "split": split,
    }


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Every row of one split file as a judge row; a bad row is an error naming file and line."""
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    split = path.stem
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = judge_row(json.loads(line), path.parent.name, split)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{n}: invalid JSON: {exc.msg}") from None
        except ValueError as exc:
            raise ValueError(f"{path}:{n}: {exc}") from None
        if row["id"] in seen:
            raise ValueError(f"{path}:{n}: id {row['id']!r} repeats line {seen[row['id']]}")
        seen[row["id"]] = n
        rows.append(row)
    if not rows:
        raise ValueError(f"{path}: no rows")
    return rows


def _rank(row_id: str, seed: str) -> int:
    return int(hashlib.sha256(f"{seed}\x1f{row_id}".encode()).hexdigest()[:16], 16)


def quotas(counts: dict[str, int], limit: int) -> dict[str, int]:
    """Rows per class, proportional to the class sizes (largest remainder), summing to ``limit``."""
    total = sum(counts.values())
    exact = {k: limit * c / total for k, c in counts.items()}
    out = {k: int(v) for k, v in exact.items()}
    by_remainder = sorted(counts, key=lambda k: (-(exact[k] - out[k]), k))
    for k in by_remainder[: limit - sum(out.values())]:
        out[k] += 1
    return out


def stratified_sample(
    rows: Sequence[dict[str, Any]], limit: int | None, seed: str = SAMPLE_SEED
) -> list[dict[str, Any]]:
    """``limit`` rows keeping each ``label_nli`` class's share, chosen by a seeded hash of the id.

    The first N rows of a file are often one class or one source document; a hash sample is the
    same on every machine and for every judge, so two judges' figures on it are comparable.
    """
    if limit is not None and limit < 1:
        raise ValueError(f"--limit must be at least 1, got {limit}")
    if limit is None or limit >= len(rows):
        return list(rows)
    classes: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        classes.setdefault(str(r["label_nli"]), []).append(r)
    keep: set[str] = set()
    for label, n in quotas({k: len(v) for k, v in classes.items()}, limit).items():
        keep.update(r["id"] for r in sorted(classes[label], key=lambda r: _rank(r["id"], seed))[:n])
    return [r for r in rows if r["id"] in keep]


def load_public(
    folder: Path, split: str | None = None, file: str | None = None, limit: int | None = None
) -> tuple[Path, list[dict[str, Any]]]:
    """The chosen split file of a public set and its judge rows (a stratified sample with ``limit``)."""
    path = split_file(folder, split, file)
    return path, stratified_sample(read_rows(path), limit)


def file_digest(path: Path) -> str:
    """sha256 of the file measured on: which data the figures are about."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
