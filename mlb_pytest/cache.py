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
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .errors import InfrastructureError

SCHEMA_VERSION = 1
_CHUNK = 400


class CacheError(InfrastructureError):
    """The cache file cannot be used (corrupt, not a cache, unwritable, locked); names the file."""


def _guarded(op: str) -> Any:
    """Turn any SQLite failure of a store method into a CacheError naming the file and the step.

    A failure after an answer arrived (lock held too long, disk full, corrupt page) must reach
    the waiting test as that item's error, never vanish inside the engine's loop.
    """

    def wrap(fn: Any) -> Any:
        def inner(self: ResponseStore, *args: Any, **kwargs: Any) -> Any:
            try:
                return fn(self, *args, **kwargs)
            except (sqlite3.Error, UnicodeDecodeError) as exc:  # a damaged page can yield undecodable text
                raise CacheError(f"response cache {self.path}: {op} failed: {exc}") from None

        inner.__name__ = fn.__name__
        inner.__doc__ = fn.__doc__
        return inner

    return wrap


def owner_is_dead(owner: str) -> bool:
    """True when a claim's owner is a process of this machine that no longer runs.

    Owners are ``run:host:pid``; a process killed by Ctrl-C twice, SIGKILL or a crash leaves its
    claims behind, and waiting out their lease would stall the next run for minutes.
    """
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[1] != socket.gethostname() or not parts[2].isdigit():
        return False
    pid = int(parts[2])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


def request_key(identity: str, messages: Sequence[dict[str, str]], params: dict[str, Any], sample_index: int) -> str:
    blob = json.dumps(
        {"model": identity, "messages": list(messages), "params": params, "sample": sample_index},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
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


class StoreLike(Protocol):
    """What the engine needs of a store: ``ResponseStore`` here, ``cache_server.RemoteStore`` across hosts."""

    run_id: str
    owner: str

    def get_many(
        self, keys: Sequence[str], max_age_s: float | None = None
    ) -> dict[str, tuple[str, dict[str, Any]]]: ...
    def put(self, key: str, model: str, raw: str, meta: dict[str, Any]) -> None: ...
    def claim(self, key: str, lease_s: float, max_age_s: float | None = None) -> str: ...
    def release(self) -> int: ...
    def renew(self, keys: Iterable[str], lease_s: float) -> None: ...
    def fail(self, key: str, message: str, lease_s: float) -> None: ...
    def claims(self, keys: Sequence[str]) -> dict[str, ClaimState]: ...
    def close(self) -> None: ...


class ResponseStore:
    """One connection per thread that uses it; create a store per thread."""

    def __init__(self, path: Path, run_id: str, owner: str) -> None:
        self.path = path
        self.run_id = run_id
        self.owner = owner
        self._db: sqlite3.Connection | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), timeout=60.0, isolation_level=None, check_same_thread=False)
            self._check_schema()  # read-only: a file that is not our cache is refused untouched
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._init_schema()
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            self._close_quietly()
            raise CacheError(f"response cache {path}: {exc}; delete the file or pass --mlb-no-cache") from None
        except OSError as exc:
            self._close_quietly()
            raise CacheError(f"response cache {path}: {exc.strerror}") from None

    @property
    def _conn(self) -> sqlite3.Connection:
        """The open connection (``__init__`` either opens it or raises, so it is there after)."""
        assert self._db is not None
        return self._db

    def _close_quietly(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass

    def _check_schema(self) -> None:
        """Refuse a foreign or newer file before anything is written to it."""
        db = self._db
        assert db is not None
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables:
            return
        if "meta" not in tables:
            raise sqlite3.DatabaseError(f"not an mlb-pytest cache (tables: {', '.join(sorted(tables)[:5])})")
        row = db.execute("SELECT value FROM meta WHERE name='schema'").fetchone()
        if row is not None and str(row[0]) != str(SCHEMA_VERSION):
            raise sqlite3.DatabaseError(f"cache schema {row[0]}, this version needs {SCHEMA_VERSION}")

    def _init_schema(self) -> None:
        db = self._conn
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

    @_guarded("reading answers")
    def get_many(self, keys: Sequence[str], max_age_s: float | None = None) -> dict[str, tuple[str, dict[str, Any]]]:
        """Stored answers by key; ``meta["stored_at"]`` says when. Older than ``max_age_s``: not found."""
        out: dict[str, tuple[str, dict[str, Any]]] = {}
        oldest = time.time() - max_age_s if max_age_s is not None else None
        for chunk in _chunks(keys):
            q = f"SELECT key, raw, meta, created FROM responses WHERE key IN ({','.join('?' * len(chunk))})"
            for key, raw, meta, created in self._conn.execute(q, list(chunk)):
                if oldest is not None and (created is None or created < oldest):
                    continue
                try:
                    info = json.loads(meta) if meta else {}
                except ValueError:
                    info = {}
                if not isinstance(raw, str) or not isinstance(info, dict):
                    continue  # a damaged row is asked again, not trusted
                info["stored_at"] = created
                out[key] = (raw, info)
        return out

    @_guarded("storing an answer")
    def put(self, key: str, model: str, raw: str, meta: dict[str, Any]) -> None:
        with self._tx():
            self._conn.execute(
                "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?)",
                (key, model, raw, json.dumps(meta, ensure_ascii=False), time.time()),
            )
            self._conn.execute("DELETE FROM claims WHERE key=?", (key,))

    # --- claims ------------------------------------------------------------------------------

    @_guarded("claiming an item")
    def claim(self, key: str, lease_s: float, max_age_s: float | None = None) -> str:
        """Take the key unless a live claim of someone else holds it.

        Returns "mine", "taken" (another live claim) or "done" (the answer is already stored:
        a peer finished it since we last looked).
        """
        now = time.time()
        with self._tx():
            oldest = now - max_age_s if max_age_s is not None else float("-inf")
            if self._conn.execute(
                "SELECT 1 FROM responses WHERE key=? AND coalesce(created, 0) >= ?", (key, oldest)
            ).fetchone():
                return "done"  # an answer too old for this run does not count: it is asked again
            row = self._conn.execute(
                "SELECT run_id, owner, lease_until, state FROM claims WHERE key=?", (key,)
            ).fetchone()
            if row is not None and row[1] == self.owner:
                return "mine"
            free = (
                row is None
                or row[2] < now
                or (row[3] == "error" and row[0] != self.run_id)
                or owner_is_dead(str(row[1]))
            )
            if not free:
                return "taken"
            self._conn.execute(
                "INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?, 'pending', NULL)",
                (key, self.run_id, self.owner, now + lease_s),
            )
        return "mine"

    @_guarded("releasing claims")
    def release(self) -> int:
        """Drop this process's pending claims (the run was interrupted): the next run need not wait."""
        with self._tx():
            cur = self._conn.execute("DELETE FROM claims WHERE owner=? AND state='pending'", (self.owner,))
        return cur.rowcount

    @_guarded("renewing claims")
    def renew(self, keys: Iterable[str], lease_s: float) -> None:
        keys = list(keys)
        if not keys:
            return
        until = time.time() + lease_s
        with self._tx():
            self._conn.executemany(
                "UPDATE claims SET lease_until=? WHERE key=? AND owner=? AND state='pending'",
                [(until, k, self.owner) for k in keys],
            )

    @_guarded("recording an error")
    def fail(self, key: str, message: str, lease_s: float) -> None:
        """Record an error on our claim: waiting peers of this run get it; later runs retry."""
        with self._tx():
            self._conn.execute(
                "UPDATE claims SET state='error', error=?, lease_until=? WHERE key=? AND owner=?",
                (message, time.time() + lease_s, key, self.owner),
            )

    @_guarded("reading claims")
    def claims(self, keys: Sequence[str]) -> dict[str, ClaimState]:
        out: dict[str, ClaimState] = {}
        for chunk in _chunks(keys):
            q = f"SELECT key, run_id, owner, lease_until, state, error FROM claims WHERE key IN ({','.join('?' * len(chunk))})"
            for row in self._conn.execute(q, list(chunk)):
                out[row[0]] = ClaimState(*row)
        return out

    # --- plumbing ----------------------------------------------------------------------------

    def _tx(self) -> _Tx:
        return _Tx(self._conn)

    @_guarded("counting answers")
    def count(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        self._close_quietly()


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT: takes the write lock up front so claims never interleave."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            try:
                self._db.execute("COMMIT")
                return
            except sqlite3.Error:
                self._rollback()  # a failed COMMIT (disk full) must not leave the transaction open
                raise
        self._rollback()

    def _rollback(self) -> None:
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass


def default_cache_path(root: Path) -> Path:
    return root / ".mlb_cache" / "cache.sqlite"


def process_owner(run_id: str) -> str:
    return f"{run_id}:{socket.gethostname()}:{os.getpid()}"


class CacheReader:
    """A read-only look into a cache file (``--mlb-dry-run``): never creates, locks or writes it.

    A missing file holds nothing; an unreadable one is a CacheError naming it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        if not path.is_file():
            return
        try:
            self._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10.0)
            self._db.execute("SELECT 1 FROM responses LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            self.close()
            raise CacheError(f"response cache {path}: {exc}; delete the file or pass --mlb-no-cache") from None

    def stored(self, keys: Sequence[str], max_age_s: float | None = None) -> set[str]:
        """Which of ``keys`` have an answer (not older than ``max_age_s``)."""
        if self._db is None:
            return set()
        oldest = time.time() - max_age_s if max_age_s is not None else float("-inf")
        out: set[str] = set()
        try:
            for chunk in _chunks(list(keys)):
                q = f"SELECT key, created FROM responses WHERE key IN ({','.join('?' * len(chunk))})"
                out.update(k for k, created in self._db.execute(q, list(chunk)) if (created or 0) >= oldest)
        except sqlite3.Error as exc:
            raise CacheError(f"response cache {self.path}: reading answers failed: {exc}") from None
        return out

    def identities(self, identity: str) -> list[tuple[str, float]]:
        """The model identities stored for ``identity`` (itself and ``identity#…``: revisions, prompt styles),
        newest answer first."""
        if self._db is None:
            return []
        q = (
            "SELECT model, MAX(created) FROM responses WHERE model = ? OR substr(model, 1, ?) = ? "
            "GROUP BY model ORDER BY MAX(created) DESC"
        )
        prefix = identity + "#"
        try:
            return [(m, float(c or 0)) for m, c in self._db.execute(q, (identity, len(prefix), prefix))]
        except sqlite3.Error as exc:
            raise CacheError(f"response cache {self.path}: reading answers failed: {exc}") from None

    def close(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
            self._db = None
