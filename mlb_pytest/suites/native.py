"""The project's own suite format: JSONL, a dataset header line then one item per line.

See ``suites/README.md`` for the field reference.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..schema import DatasetHeader, Item, ItemRecord
from .build import DatasetInfo, build_item
from .errors import SuiteError, from_validation


def _decode(path: str, lineno: int, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SuiteError(path, lineno, None, f"invalid JSON at column {exc.colno}: {exc.msg}") from None


def info_from_header(header: DatasetHeader) -> DatasetInfo:
    return DatasetInfo(
        name=header.dataset,
        dimension=header.dimension,
        task=header.task,
        metric=header.metric,
        prompt=header.prompt,
        extraction=header.extraction,
        judge=header.judge,
        mirrors=header.mirrors,
        language=header.language,
        options_style=header.options_style,
        pass_threshold=header.pass_threshold,
        source=header.source,
        licence=header.licence,
    )


def load_native(path: Path, display: str) -> tuple[list[Item], list[SuiteError]]:
    """Items of one file; a bad item line becomes an error and the other lines still load."""
    lines = path.read_text(encoding="utf-8").splitlines()
    header_at: int | None = None
    header: DatasetHeader | None = None
    items: list[Item] = []
    errors: list[SuiteError] = []
    seen: dict[str, int] = {}
    for lineno, text in enumerate(lines, 1):
        if not text.strip():
            continue
        if header is None:
            data = _decode(display, lineno, text)
            try:
                header = DatasetHeader.model_validate(data)
            except ValidationError as exc:
                raise from_validation(display, lineno, exc) from None
            header_at = lineno
            info = info_from_header(header)
            continue
        try:
            data = _decode(display, lineno, text)
            if not isinstance(data, dict):
                raise SuiteError(display, lineno, None, "an item line must be a JSON object")
            try:
                record = ItemRecord.model_validate(data)
            except ValidationError as exc:
                raise from_validation(display, lineno, exc) from None
            if record.id in seen:
                raise SuiteError(display, lineno, "id", f"duplicate id {record.id!r} (first on line {seen[record.id]})")
            seen[record.id] = lineno
            if record.review is not None and record.review.verdict == "dropped":
                continue  # kept in the file with the reviewer's reason, never run
            raw = record.model_dump(exclude_none=True)
            if record.dialogue:
                raw["dialogue"] = [t.model_dump() for t in record.dialogue]
            items.append(build_item(info, raw, display, lineno))
        except SuiteError as err:
            errors.append(err)
    if header_at is None:
        raise SuiteError(display, None, "mlb_suite", "file has no dataset header line")
    return items, errors
