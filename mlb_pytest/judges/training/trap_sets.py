"""A training folder with the trap sets other writers wrote beside the annotations (``mlb judge build traps``).

Why: the encoder trained on one writer's rows is near chance on negation and numbers written by
others (``judge/MODEL_CARD.md``). The first held-out sets (``judge/data/heldout*``) were each written
apart, by a different AI writer, around exactly those traps; read many times, they are no longer
clean measurements, but they are the only multi-writer trap rows there are. The folder holds the
annotation files as they are, plus the chosen sets with each case given to ``train`` or ``dev`` by a
hash of dataset and case (about 15% dev), so that ``mlb judge train --data FOLDER`` also selects its
epoch on traps. The sets not chosen (the later writers', the public sets) stay held out. The folder
goes under ``build/``: nothing is copied into the repo.
"""

from __future__ import annotations

import hashlib
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

from .paths import TrainingInputError, need_dir
from .rowfiles import write_rows

TRAP_SETS = ("heldout", "heldout2", "heldout4", "heldout5")  # read many times; the later sets stay held out
DEV_SHARE = 0.15


def split_of_case(dataset: str, item: str, dev_share: float = DEV_SHARE) -> str:
    """``dev`` for about ``dev_share`` of the cases, ``train`` for the rest; a hash, so file order never matters."""
    h = int(hashlib.sha256(f"traps/{dataset}/{item}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "dev" if h < dev_share else "train"


def _rows(folder: Path) -> list[dict[str, Any]]:
    """The set's rows as ``mlb judge eval`` reads them (rows a second reader dropped left out)."""
    from ..evaluate import load_annotations  # here: building the mlb parser imports this module

    try:
        rows = load_annotations(need_dir(folder))
    except ValueError as exc:  # the message names the file and line
        raise TrainingInputError(str(exc)) from None
    for row in rows:
        if not row.get("dataset"):
            raise TrainingInputError(f"{folder}: row {row['id']}: field 'dataset' missing")
    return rows


def write_folder(out: Path, annotations: Path, sets: list[Path]) -> Counter[str]:
    """The annotation files copied as they are, and each set rewritten with its cases' splits; counts by split."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.jsonl"):
        old.unlink()
    for f in sorted(need_dir(annotations).glob("*.jsonl")):
        shutil.copyfile(f, out / f.name)
    counts: Counter[str] = Counter()
    for folder in sets:
        rows = [{**r, "split": split_of_case(str(r["dataset"]), str(r.get("item") or r["id"]))} for r in _rows(folder)]
        write_rows(out / f"traps_{folder.name}.jsonl", rows)
        counts.update(str(r["split"]) for r in rows)
    return counts
