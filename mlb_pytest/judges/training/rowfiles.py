"""Constructed rows written as JSONL, atomically: a reader sees the old file or the new one."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..._atomic import write_text_atomic


def write_rows(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """One compact JSON object per line, non-ASCII kept as is (the committed files' bytes)."""
    write_text_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
