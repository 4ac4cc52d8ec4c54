"""Atomic file writes: a temp file in the same folder, fsync, then rename over the target."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def _umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it: done once, at import, before any threads write
    os.umask(mask)
    return mask


_MODE = 0o666 & ~_umask()


def write_text_atomic(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never half of one; the new one keeps the old one's mode.

    ``mkstemp`` creates its file private (0600); a baseline or report must stay as readable as a file
    written the plain way, so a new file gets the umask's mode and a replaced one keeps its own.
    """
    _write_atomic(path, lambda fh: fh.write(text))


def _write_atomic(path: Path, write: Callable[[IO[str]], object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        mode = _MODE
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", buffering=1 << 20) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    """The same text as ``json.dumps(data, indent=1)``, streamed: a 100,000-item report is never one string."""

    def write(fh: IO[str]) -> None:
        json.dump(data, fh, ensure_ascii=False, indent=1, default=str)
        fh.write("\n")

    _write_atomic(path, write)
