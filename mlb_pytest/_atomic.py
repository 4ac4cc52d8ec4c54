"""Atomic file writes: a temp file in the same folder, fsync, then rename over the target."""

from __future__ import annotations

import json
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
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


class LazyArray(ABC):
    """A JSON array whose elements are produced one at a time (a report's items, read back from a
    spool file): ``write_json_atomic`` writes it element by element, so it is never all in memory."""

    @abstractmethod
    def __iter__(self) -> Iterator[Any]: ...

    @abstractmethod
    def __len__(self) -> int: ...


def write_json_atomic(path: Path, data: Any) -> None:
    """The same text as ``json.dumps(data, indent=1)``, streamed: a 100,000-item report is never one string.

    A top-level value that is a ``LazyArray`` is written as the array of its elements, with the
    same bytes ``json.dumps`` would give for that array as a list.
    """

    def write(fh: IO[str]) -> None:
        if (
            isinstance(data, dict)
            and any(isinstance(v, LazyArray) for v in data.values())
            and all(isinstance(k, str) for k in data)
        ):
            _dump_with_lazy(fh, data)
        else:
            json.dump(data, fh, ensure_ascii=False, indent=1, default=str)
        fh.write("\n")

    _write_atomic(path, write)


def _dumps(value: Any, depth: int) -> str:
    """``value`` as ``json.dump(indent=1)`` writes it ``depth`` levels down (its inner lines indented)."""
    text = json.dumps(value, ensure_ascii=False, indent=1, default=str)
    return text.replace("\n", "\n" + " " * depth) if depth else text


def _dump_with_lazy(fh: IO[str], data: dict[str, Any]) -> None:
    """A top-level object as ``json.dump(indent=1)`` writes it, its ``LazyArray`` values streamed."""
    sep = "{"
    for key, value in data.items():
        fh.write(f"{sep}\n {_dumps(key, 1)}: ")
        sep = ","
        if not isinstance(value, LazyArray):
            fh.write(_dumps(value, 1))
            continue
        open_ = "["
        for element in value:
            fh.write(f"{open_}\n  {_dumps(element, 2)}")
            open_ = ","
        fh.write("[]" if open_ == "[" else "\n ]")
    fh.write("{}" if sep == "{" else "\n}")
