"""The SQLite response cache, also the meeting point of xdist workers.

Responses are content-addressed (model identity, full request, sampling params, sample index),
so an identical re-run sends nothing. Before requesting an item a process *claims* it with a
lease; other processes that need it wait for the row instead of sending the same request, and
take the claim over if the lease runs out (its process died). Errors are recorded on the claim
so that waiting processes of the same run get the error, while a later run tries again.
WAL mode lets readers and one writer proceed together; every write is one short transaction.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
_CHUNK = 400


class CacheError(Exception):
    """The cache file cannot be used (corrupt, not a cache, unwritable); names the file."""


def request_key(identity: str, messages: Sequence[dict[str, str]], params: dict[str, Any], sample_index: int) -> str:
    blob = json.dumps(
        {"model": identity, "messages": list(messages), "params": params, "sample": sample_index},
        ensure_ascii=False, sort_keys=True, separators=(",", ":"),
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ClaimState:
    key: str
    run_id: str
    owner: str
    lease_until: float
    state: str  # pending | error
    error: str | None


def _chunks(seq: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(seq), _CHUNK):
        yield seq[i : i + _CHUNK]


class ResponseStore:
    """One connection per thread that uses it; create a store per thread."""

    def __init__(self, path: Path, run_id: str, owner: str) -> None:
        self.path = path
        self.run_id = run_id
        self.owner = owner
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), timeout=60.0, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._init_schema()
        except sqlite3.DatabaseError as exc:
            raise CacheError(f"response cache {path}: {exc}; delete the file or pass --mlb-no-cache") from None
        except OSError as exc:
            raise CacheError(f"response cache {path}: {exc.strerror}") from None

    def _init_schema(self) -> None:
        db = self._db
        db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)")
        row = db.execute("SELECT value FROM meta WHERE name='schema'").fetchone()
        if row is None:
            db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        elif row[0] != str(SCHEMA_VERSION):
            raise sqlite3.DatabaseError(f"cache schema {row[0]}, this version needs {SCHEMA_VERSION}")
        db.execute(
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, model TEXT, raw TEXT NOT NULL,"
            " meta TEXT, created REAL)"
        )
        db.execute(
            "CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, run_id TEXT, owner TEXT,"
            " lease_until REAL, state TEXT, error TEXT)"
        )

    # --- responses ---------------------------------------------------------------------------

    def get_many(self, keys: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        out: dict[str, tuple[str, dict[str, Any]]] = {}
        for chunk in _chunks(keys):
            q = f"SELECT key, raw, meta FROM responses WHERE key IN ({','.join('?' * len(chunk))})"
            for key, raw, meta in self._db.execute(q, list(chunk)):
                out[key] = (raw, json.loads(meta) if meta else {})
        return out

    def put(self, key: str, model: str, raw: str, meta: dict[str, Any]) -> None:
        with self._tx():
            self._db.execute(
                "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?)",
                (key, model, raw, json.dumps(meta, ensure_ascii=False), time.time()),
            )
            self._db.execute("DELETE FROM claims WHERE key=?", (key,))

    # --- claims ------------------------------------------------------------------------------

    def claim(self, key: str, lease_s: float) -> str:
        """Take the key unless a live claim of someone else holds it.

        Returns "mine", "taken" (another live claim) or "done" (the answer is already stored:
        a peer finished it since we last looked).
        """
        now = time.time()
        with self._tx():
            if self._db.execute("SELECT 1 FROM responses WHERE key=?", (key,)).fetchone():
                return "done"
            self._db.execute(
                "INSERT INTO claims VALUES (?, ?, ?, ?, 'pending', NULL) ON CONFLICT(key) DO UPDATE SET"
                " run_id=excluded.run_id, owner=excluded.owner, lease_until=excluded.lease_until,"
                " state='pending', error=NULL"
                " WHERE claims.lease_until < ? OR (claims.state='error' AND claims.run_id != excluded.run_id)",
                (key, self.run_id, self.owner, now + lease_s, now),
            )
            row = self._db.execute("SELECT owner FROM claims WHERE key=?", (key,)).fetchone()
        return "mine" if row is not None and row[0] == self.owner else "taken"

    def renew(self, keys: Iterable[str], lease_s: float) -> None:
        keys = list(keys)
        if not keys:
            return
        until = time.time() + lease_s
        with self._tx():
            self._db.executemany(
                "UPDATE claims SET lease_until=? WHERE key=? AND owner=? AND state='pending'",
                [(until, k, self.owner) for k in keys],
            )

    def fail(self, key: str, message: str, lease_s: float) -> None:
        """Record an error on our claim: waiting peers of this run get it; later runs retry."""
        with self._tx():
            self._db.execute(
                "UPDATE claims SET state='error', error=?, lease_until=? WHERE key=? AND owner=?",
                (message, time.time() + lease_s, key, self.owner),
            )

    def claims(self, keys: Sequence[str]) -> dict[str, ClaimState]:
        out: dict[str, ClaimState] = {}
        for chunk in _chunks(keys):
            q = f"SELECT key, run_id, owner, lease_until, state, error FROM claims WHERE key IN ({','.join('?' * len(chunk))})"
            for row in self._db.execute(q, list(chunk)):
                out[row[0]] = ClaimState(*row)
        return out

    # --- plumbing ----------------------------------------------------------------------------

    def _tx(self) -> _Tx:
        return _Tx(self._db)

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        self._db.close()


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT: takes the write lock up front so claims never interleave."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")


def default_cache_path(root: Path) -> Path:
    return root / ".mlb_cache" / "cache.sqlite"


def process_owner(run_id: str) -> str:
    return f"{run_id}:{os.getpid()}"
