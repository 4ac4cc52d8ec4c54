"""MLB's release format, read as-is: ``<Dataset>.json`` = ``{"system_prompt", "examples"}``.

The dataset is named by the file's stem (one of MLB's 22 names, see ``catalog``). Options are
usually written inside the question (inline ``A xx B yy`` or a printed Python list) and are
split out to fill ``${options}``; CHIP-CDN questions carry their candidate terms after
``候选标准词：``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..catalog import MLB_DATASETS, Task
from ..schema import Item
from .build import DatasetInfo, build_item
from .errors import SuiteError
from .render import OPTIONS_SLOT, split_options

RELEASE_SOURCE = "MLB benchmark release (bds18616852673/MLB_benchmark)"
RELEASE_LICENCE = "unstated by the authors (all rights reserved)"
_CANDIDATES_MARK = re.compile(r"\n?候选标准词[：:]\s*\n?")


def is_release_file(path: Path) -> bool:
    if path.suffix != ".json" or path.stem not in MLB_DATASETS:
        return False
    with path.open("rb") as fh:
        head = fh.read(4096)
    return b'"system_prompt"' in head or b'"examples"' in head


def _array_offsets(text: str, key: str) -> list[int]:
    """Character offsets of the elements of the top-level array ``key`` (for line numbers)."""
    m = re.search(rf'"{key}"\s*:\s*\[', text)
    if not m:
        return []
    dec = json.JSONDecoder()
    pos, out = m.end(), []
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            return out
        out.append(pos)
        _, pos = dec.raw_decode(text, pos)


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _raw_fields(info: DatasetInfo, ex: dict[str, Any], display: str, line: int) -> dict[str, Any]:
    question = ex.get("question")
    if not isinstance(question, str) or not question.strip():
        raise SuiteError(display, line, "question", "must be a non-empty string")
    raw: dict[str, Any] = {"question": question, "answer": ex.get("answer")}
    if info.task is Task.choice and OPTIONS_SLOT in info.prompt:
        split = split_options(question)
        if split is None:
            raise SuiteError(display, line, "question", "no options (A xx B yy, or ['A xx', ...]) found in the question")
        raw["question"], raw["options"] = split
    elif info.task is Task.normalization:
        parts = _CANDIDATES_MARK.split(question, maxsplit=1)
        if len(parts) != 2:
            raise SuiteError(display, line, "question", "no '候选标准词：' candidate list found in the question")
        raw["question"] = parts[0].strip()
        raw["candidates"] = [c.strip() for c in parts[1].splitlines() if c.strip()]
    return raw


def load_release(path: Path, display: str) -> tuple[list[Item], list[SuiteError]]:
    text = path.read_text(encoding="utf-8")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SuiteError(display, exc.lineno, None, f"invalid JSON at column {exc.colno}: {exc.msg}") from None
    if not isinstance(doc, dict):
        raise SuiteError(display, 1, None, "must be an object with system_prompt and examples")
    prompt = doc.get("system_prompt")
    if not isinstance(prompt, str) or "${question}" not in prompt:
        raise SuiteError(display, None, "system_prompt", "must be a string containing ${question}")
    examples = doc.get("examples")
    if not isinstance(examples, list):
        raise SuiteError(display, None, "examples", "must be a list of {question, answer} objects")
    spec = MLB_DATASETS[path.stem]
    info = DatasetInfo(
        name=spec.name, dimension=spec.dimension, task=spec.task, metric=spec.metric, prompt=prompt,
        extraction=spec.extraction, judge=spec.judge, mirrors=spec.name, language="zh",
        options_style=spec.options_style, source=RELEASE_SOURCE, licence=RELEASE_LICENCE,
    )
    offsets = _array_offsets(text, "examples")
    items: list[Item] = []
    errors: list[SuiteError] = []
    for i, ex in enumerate(examples):
        line = _line_of(text, offsets[i]) if i < len(offsets) else None
        try:
            if not isinstance(ex, dict):
                raise SuiteError(display, line, f"examples[{i}]", "must be an object")
            raw = _raw_fields(info, ex, display, line or 0)
            raw["id"] = str(ex.get("id") or f"q{i:04d}")
            items.append(build_item(info, raw, display, line))
        except SuiteError as err:
            errors.append(err)
    return items, errors
