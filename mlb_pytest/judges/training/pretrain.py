"""Stage 1 of the bundled judge (``mlb judge pretrain``): learn entailment from human-labelled public data.

Our own annotation rows teach the judge our writers' style; public sets labelled by people teach
it the task (does the premise state the hypothesis?). A row becomes a judge question of kind
``point``: the hypothesis is the criterion, the premise the response, and the answer is *yes*
only for ``entailment`` (neutral and contradiction are both "not met"). Only sets whose licence
allows redistributing derived weights train here (``../shared/judge_data/README.md`` sorts them);
the others, and the test splits of these, are for held-out measurement (``mlb judge eval
--public``). The data stays where it is: each file's sha256 is recorded in the adapter's config.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .adapter import Settings, train_adapter
from .paths import BUILD, TrainingInputError, need_dir, need_file

# (folder, file, rows kept (0: all), licence as stated by the source): training sets only
SOURCES: tuple[tuple[str, str, int, str], ...] = (
    ("check_covid", "train.jsonl", 0, "MIT (expert-labelled health claims vs CORD-19 abstracts)"),
    ("scifact_rte", "train.jsonl", 0, "CC BY 4.0 claims, ODC-By 1.0 abstracts"),
    ("rqe", "train.jsonl", 1200, "CC BY 4.0 (NLM medical question entailment)"),
    ("general_en_nli", "mnli_dev_matched.jsonl", 2500, "MNLI: OANC-derived, mostly free / CC BY-SA 3.0"),
    ("general_en_nli", "snli_dev.jsonl", 1500, "SNLI CC BY-SA 4.0"),
)
DEV: tuple[tuple[str, str, int], ...] = (("check_covid", "dev.jsonl", 0),)


def _keep(row_id: str, seed: int) -> int:
    return int(hashlib.sha256(f"{seed}/{row_id}".encode()).hexdigest()[:12], 16)


def read_rows(path: Path, limit: int, seed: int) -> list[dict[str, Any]]:
    """Judge rows from one normalised file; ``limit`` keeps a seeded sample balanced over ``label_nli``."""
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            premise, hypothesis, label = str(raw["premise"]), str(raw["hypothesis"]), str(raw["label_nli"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise TrainingInputError(f"{path}:{n}: not a judge_data row ({exc})") from None
        rows.append(
            {
                "id": f"{path.parent.name}/{raw.get('id', n)}",
                "kind": "point",
                "point": hypothesis,
                "response": premise,
                "label": "yes" if label == "entailment" else "no",
                "label_nli": label,
                "dataset": path.parent.name,
                "item": str(raw.get("id", n)),
            }
        )
    if limit and limit < len(rows):
        groups: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            groups.setdefault(r["label_nli"], []).append(r)
        per = limit // len(groups)
        rows = [r for g in groups.values() for r in sorted(g, key=lambda r: _keep(r["id"], seed))[:per]]
    return rows


def load_sources(
    root: Path, limit: int = 0, seed: int = 13
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Train rows, dev rows and the record of each training file (rows, licence, sha256), read in place."""
    need_dir(root, "; pass --judge-data PATH (see ../shared/judge_data/README.md)")
    train: list[dict[str, Any]] = []
    sources = []
    for folder, name, keep, licence in SOURCES:
        path = root / folder / name
        if not path.is_file():
            raise TrainingInputError(f"{path}: missing; every training source must be present to reproduce the adapter")
        rows = read_rows(path, min(x for x in (keep, limit) if x) if (keep or limit) else 0, seed)
        train += rows
        sources.append(
            {
                "folder": folder,
                "file": name,
                "rows": len(rows),
                "licence": licence,
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            }
        )
    dev = [r for folder, name, keep in DEV for r in read_rows(need_file(root / folder / name), keep or limit, seed)]
    return train, dev, sources


def pretrain(
    root: Path,
    out: Path,
    settings: Settings,
    *,
    base: Path | None = None,
    fresh: bool = False,
    limit: int = 0,
    command: str = "mlb judge pretrain",
) -> dict[str, Any]:
    """Pre-train on the public sets under ``root`` and write the adapter to ``out``; returns its config."""
    train, dev, sources = load_sources(root, limit, settings.seed)
    yes = sum(r["label"] == "yes" for r in train)
    print(
        f"pre-training on {len(train)} rows ({yes} entailment) from {len(sources)} files; dev {len(dev)} rows",
        flush=True,
    )
    return train_adapter(
        train,
        dev,
        out,
        settings,
        base=base,
        checkpoint=BUILD / f"{out.name}.ckpt",
        fresh=fresh,
        extra_config={
            "stage": "pretrain",
            "sources": sources,
            "dev_source": [f"{f}/{n}" for f, n, _ in DEV],
            "command": command,
        },
    )
