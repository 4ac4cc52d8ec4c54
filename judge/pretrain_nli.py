"""Stage 1 of the bundled judge: learn entailment from human-labelled public data, then fine-tune.

    python judge/pretrain_nli.py [--judge-data ../shared/judge_data]   # -> judge/pretrained/ (about 30 min)

Our own annotation rows teach the judge our writers' style; public sets labelled by people teach
it the task (does the premise state the hypothesis?). A row becomes a judge question of kind
``point``: the hypothesis is the criterion, the premise the response, and the answer is *yes*
only for ``entailment`` (neutral and contradiction are both "not met"). Only sets whose licence
allows redistributing derived weights train here (``../shared/judge_data/README.md`` sorts them);
the others, and the test splits of these, are for held-out measurement (``mlb judge eval
--public``). The data stays where it is: each file's sha256 is recorded in the adapter's config.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from train_builtin import BUILD, PRETRAINED, Settings, train_adapter  # noqa: E402

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
            raise SystemExit(f"{path}:{n}: not a judge_data row ({exc})") from None
        rows.append({"id": f"{path.parent.name}/{raw.get('id', n)}", "kind": "point", "point": hypothesis,
                     "response": premise, "label": "yes" if label == "entailment" else "no", "label_nli": label,
                     "dataset": path.parent.name, "item": str(raw.get("id", n))})
    if limit and limit < len(rows):
        groups: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            groups.setdefault(r["label_nli"], []).append(r)
        per = limit // len(groups)
        rows = [r for g in groups.values() for r in sorted(g, key=lambda r: _keep(r["id"], seed))[:per]]
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--judge-data", default=str(HERE.parent.parent / "shared" / "judge_data"),
                    help="folder of the normalised public sets (default: ../shared/judge_data)")
    ap.add_argument("--out", default=str(PRETRAINED))
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--top", type=int, default=8)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--limit", type=int, default=0, help="at most N rows per source (smoke runs)")
    ap.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    ap.add_argument("--base", default=None, help="encoder folder (default: converted multilingual-e5-small)")
    args = ap.parse_args(argv)

    root = Path(args.judge_data)
    if not root.is_dir():
        raise SystemExit(f"{root}: no such folder; pass --judge-data PATH (see ../shared/judge_data/README.md)")
    train: list[dict[str, Any]] = []
    sources = []
    for folder, name, keep, licence in SOURCES:
        path = root / folder / name
        if not path.is_file():
            raise SystemExit(f"{path}: missing; every training source must be present to reproduce the adapter")
        rows = read_rows(path, min(x for x in (keep, args.limit) if x) if (keep or args.limit) else 0, args.seed)
        train += rows
        sources.append({"folder": folder, "file": name, "rows": len(rows), "licence": licence,
                        "sha256": hashlib.sha256(path.read_bytes()).hexdigest()})
    dev = [r for folder, name, keep in DEV for r in read_rows(root / folder / name, keep or args.limit, args.seed)]
    yes = sum(r["label"] == "yes" for r in train)
    print(f"pre-training on {len(train)} rows ({yes} entailment) from {len(sources)} files; dev {len(dev)} rows",
          flush=True)
    settings = Settings(epochs=args.epochs, lr=args.lr, top=args.top, rank=args.rank, seed=args.seed,
                        min_coverage=1.0)
    out = Path(args.out)
    train_adapter(train, dev, out, settings, base=Path(args.base) if args.base else None,
                  checkpoint=BUILD / f"{out.name}.ckpt", fresh=args.fresh,
                  extra_config={"stage": "pretrain", "sources": sources,
                                "dev_source": [f"{f}/{n}" for f, n, _ in DEV],
                                "command": "python judge/pretrain_nli.py " + " ".join(argv or sys.argv[1:])})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
