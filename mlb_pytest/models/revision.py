"""What revision of a model answered: part of every cached answer's identity.

A model *name* does not say which weights serve it: a redeployed checkpoint under the same
name would get its predecessor's cached answers, and the gate would compare the old model with
itself. So every answer's cache key carries a revision: the one the user states
(``--mlb-model-revision``, ``MLB_MODEL_REVISION``), else what the adapter can learn by itself:

* ``openai:`` the server's ``/v1/models`` entry for the model, without volatile fields;
* ``hf:`` a digest of the weight files (names, sizes, content), cached per path, size and mtime;
* ``python:`` a digest of the callable's module source.

When nothing can be known the revision is ``None``: cached answers are still used, and the
summary says how many came from the cache and from when.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .._atomic import write_text_atomic

# files whose bytes decide what a local model answers
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt", ".pth")
_CONFIG_NAMES = (
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "tokenizer.model",
    "special_tokens_map.json",
    "chat_template.jinja",
)
# /v1/models fields that change without the model changing (vLLM stamps `created` per request)
_VOLATILE = frozenset({"created", "object", "permission"})
_CHUNK = 1 << 20


def _short(blob: str) -> str:
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def openai_revision(models_body: Any, model: str) -> str | None:
    """The served entry for ``model`` in a ``/v1/models`` body, as a short digest (None if absent).

    vLLM and SGLang put the checkpoint path in ``root``, so a new checkpoint served under the same
    name gets a new revision; a hosted API's entry changes when the provider says it does.
    """
    if not isinstance(models_body, Mapping):
        return None
    data = models_body.get("data")
    if not isinstance(data, list):
        return None
    entry = next((e for e in data if isinstance(e, Mapping) and e.get("id") == model), None)
    if entry is None:
        return None
    stable = {k: v for k, v in entry.items() if k not in _VOLATILE}
    return "models:" + _short(json.dumps(stable, sort_keys=True, ensure_ascii=False, default=str))


def model_files(folder: Path) -> list[Path]:
    """The files of a model folder that decide its answers, sorted."""
    out = [p for p in folder.rglob("*") if p.is_file() and (p.suffix in _WEIGHT_SUFFIXES or p.name in _CONFIG_NAMES)]
    return sorted(out)


class DigestCache:
    """File content digests, remembered per (resolved path, size, mtime) so a rerun hashes nothing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data: dict[str, str] | None = None
        self._dirty = False

    def _load(self) -> dict[str, str]:
        if self._data is None:
            try:
                raw = json.loads(self.path.read_text(encoding="utf-8"))
                self._data = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
            except (OSError, ValueError):
                self._data = {}  # a missing or damaged memo only costs a re-hash
        return self._data

    def digest(self, path: Path) -> str:
        st = path.stat()
        key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
        data = self._load()
        if key not in data:
            h = hashlib.sha256()
            with path.open("rb") as fh:
                while chunk := fh.read(_CHUNK):
                    h.update(chunk)
            data[key] = h.hexdigest()
            self._dirty = True
        return data[key]

    def save(self) -> None:
        if self._dirty and self._data is not None:
            try:
                write_text_atomic(self.path, json.dumps(self._data, indent=0, sort_keys=True))
            except OSError:
                pass  # the memo is an optimisation; the digest itself is already known
            self._dirty = False


def files_revision(files: Iterable[Path], memo: DigestCache | None = None, root: Path | None = None) -> str | None:
    """Digest over (relative name, size, content digest) of each file; None when there are none."""
    rows = []
    for f in files:
        name = str(f.relative_to(root)) if root is not None and f.is_relative_to(root) else f.name
        digest = memo.digest(f) if memo is not None else DigestCache(Path(os.devnull)).digest(f)
        rows.append(f"{name}\t{f.stat().st_size}\t{digest}")
    if memo is not None:
        memo.save()
    if not rows:
        return None
    return "files:" + _short("\n".join(rows))


def python_revision(fn: Any) -> str | None:
    """Digest of the source of the module that defines ``fn`` (None when it has no source file)."""
    module = sys.modules.get(getattr(fn, "__module__", "") or "")
    if module is None:
        return None
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        return None
    return "source:" + _short(source)
