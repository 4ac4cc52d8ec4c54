"""The project's own suite format: JSONL, a dataset header line then one item per line.

See ``suites/README.md`` for the field reference. The file is read as bytes and split on
``\\n`` only (as editors count lines; ``str.splitlines`` would also split inside strings at
U+2028 or U+0085), one line at a time, so a line that is too long, not UTF-8 or not JSON is an
error naming its line while the other lines still load.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from .._jsonsafe import JSONInputError, decode_utf8, loads, may_hold_surrogates, unfit_at
from ..schema import DatasetHeader, Item, ItemRecord
from .build import DatasetInfo, build_item, check_header
from .errors import SuiteError, from_validation

MAX_LINE_BYTES = 16 * 1024 * 1024  # one item; MLB's longest records are a few kB


def _text(path: str, lineno: int, raw: bytes | None) -> str:
    """One line as text; too long or not UTF-8 is a ``SuiteError`` on that line."""
    if raw is None:
        raise SuiteError(path, lineno, None, f"line longer than {MAX_LINE_BYTES // (1024 * 1024)} MiB")
    try:
        return decode_utf8(raw)
    except JSONInputError as exc:
        raise SuiteError(path, lineno, None, exc.message) from None


def _decode(path: str, lineno: int, text: str) -> Any:
    """One line's JSON value; not JSON, too deep, non-finite or not text: an error on that line."""
    try:
        value = loads(text)
    except JSONInputError as exc:
        raise SuiteError(path, lineno, None, exc.message) from None
    if may_hold_surrogates(text):  # finite numbers were checked while parsing
        unfit = unfit_at(value)
        if unfit is not None:
            raise SuiteError(path, lineno, unfit[0] or None, unfit[1])
    return value


def _lines(fh: IO[bytes]) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes without the line end), or None for a line over the size cap."""
    lineno = 0
    while True:
        raw = fh.readline(MAX_LINE_BYTES + 2)
        if not raw:
            return
        lineno += 1
        complete = raw.endswith(b"\n")
        body = (raw[:-1] if complete else raw).removesuffix(b"\r")
        if len(body) <= MAX_LINE_BYTES:
            yield lineno, body
            continue
        while raw and not raw.endswith(b"\n"):  # skip the rest of the line, a bounded piece at a time
            raw = fh.readline(1024 * 1024)
        yield lineno, None


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
    """Items of one file; a bad item line becomes an error and the other lines still load.

    A file-level problem (no header, a bad header, no item lines) raises ``SuiteError``.
    """
    header_at: int | None = None
    info: DatasetInfo | None = None
    items: list[Item] = []
    errors: list[SuiteError] = []
    seen: dict[str, int] = {}
    item_lines = 0
    with path.open("rb") as fh:
        for lineno, raw in _lines(fh):
            try:
                text = _text(display, lineno, raw)
            except SuiteError as err:
                if info is None:
                    raise  # the header line itself is unreadable: the whole file is
                item_lines += 1
                errors.append(err)
                continue
            if not text.strip():
                continue
            if info is None:
                try:
                    header = DatasetHeader.model_validate(_decode(display, lineno, text))
                except ValidationError as exc:
                    raise from_validation(display, lineno, exc) from None
                header_at = lineno
                info = check_header(info_from_header(header), display, lineno)
                continue
            item_lines += 1
            try:
                items.extend(_item(info, display, lineno, text, seen))
            except SuiteError as err:
                errors.append(err)
    if header_at is None:
        raise SuiteError(display, None, "mlb_suite", "file has no dataset header line")
    if item_lines == 0:
        raise SuiteError(display, header_at, None, "no item lines after the dataset header (a truncated file?)")
    return items, errors


def _item(info: DatasetInfo, display: str, lineno: int, text: str, seen: dict[str, int]) -> list[Item]:
    """The item of one line (none when its reviewer dropped it); raises ``SuiteError`` naming the field."""
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
        return []  # kept in the file with the reviewer's reason, never run
    fields = record.model_dump(exclude_none=True)
    if record.dialogue:
        fields["dialogue"] = [t.model_dump() for t in record.dialogue]
    return [build_item(info, fields, display, lineno)]
