"""Stage 2 of the bundled judge (``mlb judge train``): fine-tune on the annotation rows -> ``judge/builtin/``.

It starts from the stage-1 adapter (``judge/pretrained/``, from ``mlb judge pretrain``) when there
is one, adds training copies of some clean rows with an instruction to the judge planted in them,
and hands the rest to ``train_adapter``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ..crossencoder import CONFIG_NAME, read_config
from ..evaluate import data_digest, load_annotations
from ..injection import build_pairs, default_templates, load_templates
from .adapter import Settings, train_adapter
from .paths import BUILD, PRETRAINED, TrainingInputError


def injected_copies(rows: list[dict[str, Any]], templates: Path, share: float, seed: int) -> list[dict[str, Any]]:
    """Training copies of some clean rows carrying a design-group instruction to the judge (label unchanged).

    Only the design group is used, so the held-out group still measures injection honestly.
    """
    return _copies(rows, templates, "design", share, seed, "injection_augmented")


def inserted_copies(rows: list[dict[str, Any]], inserts: Path, share: float, seed: int) -> list[dict[str, Any]]:
    """Training copies of some clean rows with a text that is not about the case (a disclaimer, a greeting,
    a footer) inserted, label unchanged: the encoder flipped on such text, so it is taught to read past it.

    The pool (``judge/data/injection/train_inserts.jsonl``) was written apart from the control inserts
    that measure the flips, so the measurement does not see its own training texts.
    """
    return _copies(rows, inserts, "control", share, seed, "insert_augmented")


def _copies(
    rows: list[dict[str, Any]], templates: Path, group: str, share: float, seed: int, trap: str
) -> list[dict[str, Any]]:
    chosen = [t for t in load_templates(templates) if t.group == group]
    by_id = {r["id"]: r for r in rows}
    out = []
    for p in build_pairs(rows, chosen):
        h = int(hashlib.sha256(f"{seed}/{p.id}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        if h < share:
            out.append({**by_id[p.row_id], "id": p.id, "response": p.response, "trap": trap})
    return out


def split_rows(data: Path, limit: int = 0) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Train and dev rows in a fixed order (whatever the file layout); ``limit`` keeps a smoke-run share."""
    order = lambda r: (r["dataset"], r["item"], r["id"])  # noqa: E731
    try:
        train = sorted(load_annotations(data, "train"), key=order)
        dev = sorted(load_annotations(data, "dev"), key=order)
    except ValueError as exc:  # the message names the file and line
        raise TrainingInputError(str(exc)) from None
    if limit:
        train, dev = train[:limit], dev[: max(8, limit // 4)]
    if not train or not dev:
        raise TrainingInputError(f"{data}: needs rows in the train and dev splits")
    return train, dev


def start_adapter(init: str | None, pretrained: Path = PRETRAINED) -> Path | None:
    """The adapter stage 2 starts from: ``init``, else the pre-trained stage when it exists; 'none': the base."""
    if init == "none":
        return None
    if init:
        path = Path(init)
        if not (path / CONFIG_NAME).is_file():
            raise TrainingInputError(f"{path / CONFIG_NAME}: no such file (--init takes an adapter folder, or 'none')")
        return path
    return pretrained if (pretrained / CONFIG_NAME).is_file() else None


def train_builtin(
    data: Path,
    out: Path,
    settings: Settings,
    *,
    init: str | None = None,
    checkpoint: Path | None = None,
    fresh: bool = False,
    base: Path | None = None,
    inject_share: float = 0.25,
    insert_share: float = 0.0,
    inserts: Path | None = None,
    limit: int = 0,
    command: str = "mlb judge train",
) -> dict[str, Any]:
    """Fine-tune the judge on ``data`` and write it to ``out``; returns the adapter's config."""
    train, dev = split_rows(data, limit)
    templates = default_templates(data)
    extra = (
        injected_copies(train, templates, inject_share, settings.seed)
        if inject_share > 0 and templates.is_file()
        else []
    )
    pool = inserts or templates.with_name("train_inserts.jsonl")
    if insert_share > 0:
        if not pool.is_file():
            raise TrainingInputError(f"{pool}: no such file (--insert-share needs a pool of inserts)")
        extra += inserted_copies(train, pool, insert_share, settings.seed)
    start = start_adapter(init)
    init_cfg = read_config(start) if start else None
    extra_config = {
        "data_sha256": data_digest(data),
        "injection_augmented_rows": sum(r["trap"] == "injection_augmented" for r in extra),
        "insert_augmented_rows": sum(r["trap"] == "insert_augmented" for r in extra),
        "inserts_sha256": hashlib.sha256(pool.read_bytes()).hexdigest() if insert_share > 0 else None,
        "init": None
        if start is None or init_cfg is None
        else {"adapter": start.name, "sources": init_cfg.get("sources"), "train_rows": init_cfg.get("train_rows")},
        "command": command,
    }
    return train_adapter(
        train + extra,
        dev,
        out,
        settings,
        base=base,
        init=start,
        checkpoint=checkpoint or BUILD / f"{out.name}.ckpt",
        fresh=fresh,
        extra_config=extra_config,
    )
