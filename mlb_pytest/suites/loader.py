"""Detecting suite files, loading them in either format, sampling and fingerprinting."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..schema import Item
from .errors import SuiteError
from .native import load_native
from .release import is_release_file, load_release


@dataclass
class LoadResult:
    """What one file gave: its items, and the errors of the items (or the file) that did not load."""

    items: list[Item] = field(default_factory=list)
    errors: list[SuiteError] = field(default_factory=list)
    format: str = "native"


HEADER_PROBE_BYTES = 1024 * 1024  # how far into a .jsonl file we look for its header line


def _starts_with_header(path: Path) -> bool:
    """True when the first non-blank line of a ``.jsonl`` file holds ``"mlb_suite"``.

    Reads at most ``HEADER_PROBE_BYTES`` and decodes nothing beyond the first line, so a file
    broken further down (bad bytes, truncated) is still recognised and its faults are named.
    """
    with path.open("rb") as fh:
        budget = HEADER_PROBE_BYTES
        while budget > 0:
            line = fh.readline(budget)
            if not line:
                return False
            budget -= len(line)
            if line.strip().removeprefix(b"\xef\xbb\xbf").strip():
                return b'"mlb_suite"' in line
    return False


def is_suite_file(path: Path) -> bool:
    """True for a native ``.jsonl`` suite (header line) or a file named like an MLB dataset.

    Naming is the contract for the release format: every ``<Dataset>.json`` (``CMExam.json``...)
    is a suite file whatever it holds, so that an empty or broken one becomes an error naming
    it instead of a dataset silently missing from the gate. A ``.jsonl`` file that cannot be
    read cannot be told from any other JSON Lines file and is not collected.
    """
    if path.suffix == ".json":
        return is_release_file(path)
    if path.suffix != ".jsonl":
        return False
    try:
        return _starts_with_header(path)
    except OSError:
        return False


def load_suite_file(path: Path, display: str | None = None) -> LoadResult:
    """Load a file; a file-level problem comes back as a single error, never as an exception."""
    shown = display or str(path)
    fmt = "native" if path.suffix == ".jsonl" else "mlb-release"
    try:
        if fmt == "native":
            items, errors = load_native(path, shown)
        else:
            items, errors = load_release(path, shown)
    except SuiteError as err:
        return LoadResult([], [err], fmt)
    except OSError as exc:
        return LoadResult([], [SuiteError(shown, None, None, f"cannot read: {exc.strerror or exc}")], fmt)
    return LoadResult(items, errors, fmt)


def iter_suite_files(paths: Iterable[Path]) -> list[Path]:
    """Suite files under the given files or folders, sorted."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(f for f in sorted(p.rglob("*")) if f.is_file() and is_suite_file(f))
        elif is_suite_file(p):
            out.append(p)
    return out


def _rank(seed: int, item: Item) -> str:
    return hashlib.sha256(f"{seed}:{item.dataset}/{item.id}".encode()).hexdigest()


def select_limited(items: Sequence[Item], limit: int | None, seed: int = 0) -> list[Item]:
    """At most ``limit`` items per dataset, chosen by a seeded hash so the choice is stable.

    The same items are chosen whatever the file order or process, and an item keeps its place
    when others are added (it only competes on its own hash), so smoke runs stay comparable.
    """
    if limit is None:
        return list(items)
    by_ds: dict[str, list[Item]] = {}
    for it in items:
        by_ds.setdefault(it.dataset, []).append(it)
    keep: set[int] = set()
    for group in by_ds.values():
        keep.update(id(it) for it in sorted(group, key=lambda it: _rank(seed, it))[:limit])
    return [it for it in items if id(it) in keep]


def suite_fingerprint(entries: Iterable[tuple[str, str]]) -> str:
    """Hash of (item key, content hash) pairs: changes when any item is added, removed or edited."""
    h = hashlib.sha256()
    for key, chash in sorted(entries):
        h.update(f"{key}\t{chash}\n".encode())
    return "sha256:" + h.hexdigest()[:32]
