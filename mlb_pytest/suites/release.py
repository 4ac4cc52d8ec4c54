"""MLB's release format, read as-is: ``<Dataset>.json`` = ``{"system_prompt", "examples"}``.

The dataset is named by the file's stem (one of MLB's 22 names, see ``catalog``). Naming is the
contract: every ``<Dataset>.json`` is a suite file, so an empty, truncated, undecodable or
foreign file under that name is an error naming it, never a dataset silently left out of the
gate. Options are usually written inside the question (inline ``A xx B yy`` or a printed Python
list) and are split out to fill ``${options}``; CHIP-CDN questions carry their candidate terms
after ``候选标准词：``. Example ids follow the native id rule; others are slugified
deterministically and the original is kept in the item's tags as ``source_id=...``.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from .._jsonsafe import JSONInputError, decode_utf8, loads, unfit_at
from ..catalog import MLB_DATASETS, Task
from ..schema import Item
from .build import DatasetInfo, build_item
from .errors import SuiteError
from .render import OPTIONS_SLOT, split_options

RELEASE_SOURCE = "MLB benchmark release (bds18616852673/MLB_benchmark)"
RELEASE_LICENCE = "unstated by the authors (all rights reserved)"
MAX_RELEASE_BYTES = 512 * 1024 * 1024  # MLB's largest dataset file is a few tens of MB
MAX_SPLIT_CHARS = 16_384  # a choice question with its options; MLB's longest is under 2,000
ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.\-]*"  # the native id rule (schema.ItemRecord.id)
SOURCE_ID_TAG = "source_id="
_ID_RE = re.compile(ID_PATTERN)
_ID_BODY_CHARS = 48
_CANDIDATES_MARK = re.compile(r"\n?候选标准词[：:]\s*\n?")
_WS = " \t\r\n"


def is_release_file(path: Path) -> bool:
    """Named like one of MLB's datasets (``CMExam.json``): what the file holds is the loader's to judge."""
    return path.suffix == ".json" and path.stem in MLB_DATASETS


def release_id(value: Any, index: int, path: str, line: int | None, field: str) -> tuple[str, str | None]:
    """(item id, original id when it had to be changed) for one example.

    No id: ``q0000``-style by position. An id that breaks the native rule (``::``, ``[``,
    spaces, newlines, non-ASCII, empty) becomes its ASCII part plus a hash of the original, so
    the node id is safe, the same on every run, and distinct ids stay distinct.
    """
    if value is None:
        return f"q{index:04d}", None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise SuiteError(path, line, field, f"must be a string or an integer, not {type(value).__name__}")
    text = str(value)
    if _ID_RE.fullmatch(text):
        return text, None
    body = re.sub(r"[^A-Za-z0-9_.\-]+", "-", text).lstrip("_.-")[:_ID_BODY_CHARS].rstrip("-")
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return (f"{body}-{digest}" if body else f"id-{digest}"), text


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WS:
        pos += 1
    return pos


def _example_offsets(text: str) -> list[int]:
    """Character offsets of the elements of the top-level ``examples`` array (for line numbers).

    Walks the top-level object key by key (the last ``examples`` wins, as in ``json.loads``),
    so an ``"examples": [`` inside a prompt string or a nested object is never mistaken for it.
    Only called on text ``json.loads`` accepted; anything unexpected gives no offsets.
    """
    dec = json.JSONDecoder()
    out: list[int] = []
    try:
        pos = _skip_ws(text, 0)
        if text[pos] != "{":
            return []
        pos = _skip_ws(text, pos + 1)
        while pos < len(text) and text[pos] != "}":
            key, pos = dec.raw_decode(text, pos)
            pos = _skip_ws(text, _skip_ws(text, pos) + 1)  # past the colon
            if key == "examples" and text[pos] == "[":
                out = []
                pos = _skip_ws(text, pos + 1)
                while text[pos] != "]":
                    out.append(pos)
                    _, pos = dec.raw_decode(text, pos)
                    pos = _skip_ws(text, pos)
                    if text[pos] == ",":
                        pos = _skip_ws(text, pos + 1)
                pos += 1
            else:
                _, pos = dec.raw_decode(text, pos)
            pos = _skip_ws(text, pos)
            if pos < len(text) and text[pos] == ",":
                pos = _skip_ws(text, pos + 1)
    except (ValueError, IndexError, RecursionError):
        return []
    return out


class _Lines:
    """Line numbers of increasing offsets, counted once over the text (not once per example)."""

    def __init__(self, text: str) -> None:
        self._text, self._pos, self._line = text, 0, 1

    def at(self, offset: int) -> int:
        if offset < self._pos:
            self._pos, self._line = 0, 1
        self._line += self._text.count("\n", self._pos, offset)
        self._pos = offset
        return self._line


def _foreign(display: str, stem: str, found: str) -> SuiteError:
    return SuiteError(
        display,
        None,
        None,
        (
            f"not in MLB's release format ({found}): a file named {stem}.json is read as MLB's {stem} dataset and "
            "must be an object with 'system_prompt' and 'examples'; restore the file, or rename or move it "
            "(or pass --ignore) if it is not a suite"
        ),
    )


def _raw_fields(info: DatasetInfo, ex: dict[str, Any], display: str, line: int | None) -> dict[str, Any]:
    """The question and answer of one example, with the options or candidates split out of the question."""
    question = ex.get("question")
    if not isinstance(question, str) or not question.strip():
        raise SuiteError(display, line, "question", "must be a non-empty string")
    raw: dict[str, Any] = {"question": question, "answer": ex.get("answer")}
    if info.task is Task.choice and OPTIONS_SLOT in info.prompt:
        if len(question) > MAX_SPLIT_CHARS:  # looking for options costs time quadratic in the length
            raise SuiteError(
                display,
                line,
                "question",
                f"{len(question)} characters: too long to look for options in (limit {MAX_SPLIT_CHARS})",
            )
        try:
            split = split_options(question)
        except (MemoryError, RecursionError):  # ast.literal_eval of a deeply nested "list"
            split = None
        if split is None:
            raise SuiteError(
                display, line, "question", "no options (A xx B yy, or ['A xx', ...]) found in the question"
            )
        raw["question"], raw["options"] = split
    elif info.task is Task.normalization:
        parts = _CANDIDATES_MARK.split(question, maxsplit=1)
        if len(parts) != 2:
            raise SuiteError(display, line, "question", "no '候选标准词：' candidate list found in the question")
        raw["question"] = parts[0].strip()
        raw["candidates"] = [c.strip() for c in parts[1].splitlines() if c.strip()]
    return raw


def _read_text(path: Path, display: str) -> str:
    """The file's text, or a ``SuiteError`` saying why it has none (too big, empty, not UTF-8)."""
    size = path.stat().st_size
    if size > MAX_RELEASE_BYTES:
        raise SuiteError(
            display,
            None,
            None,
            f"file of {size} bytes is over the {MAX_RELEASE_BYTES // 2**20} MiB limit for one dataset",
        )
    data = path.read_bytes()
    if not data.strip():
        raise SuiteError(
            display, None, None, f"empty file: MLB's {path.stem} dataset has no items here (an interrupted download?)"
        )
    try:
        return decode_utf8(data)
    except JSONInputError as exc:
        raise SuiteError(display, exc.line, None, exc.message) from None


def load_release(path: Path, display: str) -> tuple[list[Item], list[SuiteError]]:
    """Items of one ``<Dataset>.json``; a bad example is an error naming its line and field.

    A file-level problem (empty, not UTF-8, not JSON, not the release shape, no examples)
    raises ``SuiteError``.
    """
    stem = path.stem
    text = _read_text(path, display)
    try:
        doc = loads(text, finite=False)  # NaN in one example is that example's error, not the file's
    except JSONInputError as exc:
        raise SuiteError(display, exc.line, None, exc.message) from None
    if not isinstance(doc, dict):
        raise _foreign(display, stem, f"found a JSON {type(doc).__name__}")
    missing = [k for k in ("system_prompt", "examples") if k not in doc]
    if missing:
        raise _foreign(display, stem, f"no {' or '.join(repr(k) for k in missing)}")
    prompt = doc["system_prompt"]
    if not isinstance(prompt, str) or "${question}" not in prompt:
        raise SuiteError(display, None, "system_prompt", "must be a string containing ${question}")
    unfit = unfit_at(prompt)
    if unfit is not None:
        raise SuiteError(display, None, "system_prompt", unfit[1])
    examples = doc["examples"]
    if not isinstance(examples, list):
        raise SuiteError(display, None, "examples", "must be a list of {question, answer} objects")
    if not examples:
        raise SuiteError(display, None, "examples", "is empty: the file has no items (a truncated download?)")
    spec = MLB_DATASETS[stem]
    info = DatasetInfo(
        name=spec.name,
        dimension=spec.dimension,
        task=spec.task,
        metric=spec.metric,
        prompt=prompt,
        extraction=spec.extraction,
        judge=spec.judge,
        mirrors=spec.name,
        language="zh",
        options_style=spec.options_style,
        source=RELEASE_SOURCE,
        licence=RELEASE_LICENCE,
    )
    offsets = _example_offsets(text)
    lines = _Lines(text)
    items: list[Item] = []
    errors: list[SuiteError] = []
    seen: dict[str, int | None] = {}
    for i, ex in enumerate(examples):
        line = lines.at(offsets[i]) if len(offsets) == len(examples) else None
        where = f"examples[{i}]"
        try:
            if not isinstance(ex, dict):
                raise SuiteError(display, line, where, "must be an object")
            unfit = unfit_at(ex)
            if unfit is not None:
                raise SuiteError(display, line, f"{where}.{unfit[0]}", unfit[1])
            item_id, original = release_id(ex.get("id"), i, display, line, f"{where}.id")
            if item_id in seen:
                first = seen[item_id]
                raise SuiteError(
                    display,
                    line,
                    f"{where}.id",
                    f"duplicate id {item_id!r}" + (f" (first on line {first})" if first else ""),
                )
            seen[item_id] = line
            raw = _raw_fields(info, ex, display, line)
            raw["id"] = item_id
            if original is not None:
                raw["tags"] = [SOURCE_ID_TAG + original]
            items.append(build_item(info, raw, display, line))
        except SuiteError as err:
            if err.field is None or not (err.field == where or err.field.startswith(where + ".")):
                err = SuiteError(err.path, err.line, where + (f".{err.field}" if err.field else ""), err.message)
            errors.append(err)
    return items, errors
