"""SQLite backend of the store: one file, WAL journal, safe against a kill at any moment.

Several processes may open one store at once: WAL lets readers run beside the one writer, every
write is a short BEGIN IMMEDIATE transaction, and a busy timeout makes a writer wait its turn
instead of failing with "database is locked".
"""

from __future__ import annotations

import functools
import json
import os
import re
import sqlite3
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

from scalinglab.errors import UserError
from scalinglab.run_spec import RunResult
from scalinglab.store.base import Claim, Store, StoredRun, owner_is_gone

BUSY_TIMEOUT_SECONDS = 60.0
_WAL_RETRY_SECONDS = 0.05  # between tries to switch a store another process is creating to WAL

# MIGRATIONS[v] takes a store from schema v-1 to schema v; a new store runs them all.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE runs (
            run_key     TEXT PRIMARY KEY,
            spec        TEXT NOT NULL,
            status      TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'diverged')),
            error       TEXT,
            metrics     TEXT NOT NULL,
            worker      TEXT NOT NULL DEFAULT '',
            finished_at REAL NOT NULL
        )""",
        """CREATE TABLE curves (
            run_key TEXT NOT NULL REFERENCES runs(run_key) ON DELETE CASCADE,
            epoch   INTEGER NOT NULL,
            values_json TEXT NOT NULL,
            PRIMARY KEY (run_key, epoch)
        )""",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
    2: (
        """CREATE TABLE claims (
            run_key    TEXT PRIMARY KEY,
            owner      TEXT NOT NULL,
            claimed_at REAL NOT NULL,
            expires_at REAL NOT NULL
        )""",
        """CREATE TABLE attempts (
            run_key    TEXT NOT NULL,
            owner      TEXT NOT NULL,
            claimed_at REAL NOT NULL
        )""",
    ),
    # Compressed models (scalinglab.compress): one row per compression of a stored run, keyed
    # like runs by a hash of its spec; an ok row is immutable, a failed one is replaced.
    3: (
        """CREATE TABLE compressions (
            compression_key TEXT PRIMARY KEY,
            parent_run_key  TEXT NOT NULL,
            spec        TEXT NOT NULL,
            status      TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
            error       TEXT,
            metrics     TEXT NOT NULL,
            finished_at REAL NOT NULL
        )""",
    ),
}
SCHEMA_VERSION = max(MIGRATIONS)


def _tables_created(statements: tuple[str, ...]) -> set[str]:
    return {match for statement in statements for match in re.findall(r"CREATE TABLE (\w+)", statement)}


# TABLES_AT[v]: the tables a store of schema v holds, so a mislabelled file is told apart from an old one.
TABLES_AT: dict[int, set[str]] = {
    version: set().union(*(_tables_created(MIGRATIONS[v]) for v in range(1, version + 1)))
    for version in range(SCHEMA_VERSION + 1)
}


def _serialised(method):
    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return locked


class SQLiteStore(Store):
    """The store in one SQLite file.

    `read_only=True` opens an existing store for reading only (status, report, export, recommend):
    nothing is created, migrated or written, and a store in a read-only folder can be read.
    Raises UserError when the file is missing or empty ("no scalinglab store at PATH"), is not a
    scalinglab store, or was written by a newer (or, read-only, an older) scalinglab.
    """

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        if read_only:
            _check_existing_store(self.path)
        else:
            _check_location(self.path)
        # One connection shared by the driver's threads (the lease heartbeat renews from its own
        # thread); the lock keeps their transactions from interleaving.
        self._db = (
            _connect_read_only(self.path)
            if read_only
            else sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False)
        )
        self._lock = threading.RLock()
        try:
            self._check_read_only() if read_only else self._prepare()
        except sqlite3.DatabaseError as error:
            self._db.close()
            raise UserError(f"{self.path}: not a scalinglab store ({error})") from None
        except UserError:
            self._db.close()
            raise

    def _switch_to_wal(self) -> None:
        """Put the store in WAL mode, waiting for a process that is creating it at the same moment:
        the switch needs the file to itself, and SQLite answers "database is locked" at once
        instead of waiting out busy_timeout. Raises sqlite3.OperationalError past the timeout."""
        deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(_WAL_RETRY_SECONDS)

    def _check_read_only(self) -> None:
        version = self._version()
        self._check_version(version)
        # An older store is read as it is: the tables later schemas add exist, empty, for this
        # connection only (TEMP tables live in memory, never in the store's file).
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[target]:
                self._db.execute(statement.replace("CREATE TABLE", "CREATE TEMP TABLE", 1))

    def _prepare(self) -> None:
        self._db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
        self._check_version(self._version())  # before anything writes: a refused file stays byte for byte
        self._switch_to_wal()
        self._db.execute("PRAGMA foreign_keys=ON")
        if self._version() == SCHEMA_VERSION:
            return
        with self._transaction():  # re-read under the write lock: two processes may open it at once
            version = self._version()
            self._check_version(version)
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[target]:
                    self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _version(self) -> int:
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    def _check_version(self, version: int) -> None:
        """UserError unless `version` is a schema this scalinglab reads and the file's tables match it."""
        if version > SCHEMA_VERSION:
            raise UserError(
                f"{self.path}: written by a newer scalinglab (store schema {version}, this version reads up to "
                f"{SCHEMA_VERSION}); upgrade scalinglab"
            )
        if version < 0:
            raise UserError(f"{self.path}: not a scalinglab store (schema version {version})")
        rows = self._db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
        tables = {row[0] for row in rows}
        if version == 0 and tables:
            raise UserError(f"{self.path}: an SQLite file that is not a scalinglab store; refusing to touch it")
        missing = TABLES_AT[version] - tables
        from_later_versions = (TABLES_AT[SCHEMA_VERSION] - TABLES_AT[version]) & tables
        if missing or from_later_versions:
            odd = ", ".join(sorted(missing | from_later_versions))
            raise UserError(
                f"{self.path}: not a scalinglab store: its schema version {version} does not match its tables "
                f"(unexpected or missing: {odd}); refusing to touch it"
            )

    def _transaction(self):
        return _Transaction(self._db)

    @_serialised
    def put(self, result: RunResult) -> bool:
        with self._transaction():
            self._db.execute("DELETE FROM claims WHERE run_key=?", (result.run_key,))
            existing = self._db.execute("SELECT status FROM runs WHERE run_key=?", (result.run_key,)).fetchone()
            if existing is not None and existing[0] == "ok":
                return False
            self._db.execute("DELETE FROM runs WHERE run_key=?", (result.run_key,))
            self._db.execute(
                "INSERT INTO runs (run_key, spec, status, error, metrics, worker, finished_at) VALUES (?,?,?,?,?,?,?)",
                (
                    result.run_key,
                    result.spec.model_dump_json(),
                    result.status,
                    result.error,
                    json.dumps(result.metrics),
                    result.worker,
                    time.time(),
                ),
            )
            self._db.executemany(
                "INSERT INTO curves (run_key, epoch, values_json) VALUES (?,?,?)",
                [(result.run_key, int(point["epoch"]), json.dumps(point)) for point in result.curves],
            )
        return True

    @_serialised
    def keys(self, statuses: tuple[str, ...] | None = None) -> set[str]:
        if statuses is None:
            rows = self._db.execute("SELECT run_key FROM runs")
        else:
            marks = ",".join("?" * len(statuses))
            rows = self._db.execute(f"SELECT run_key FROM runs WHERE status IN ({marks})", statuses)
        return {row[0] for row in rows}

    @_serialised
    def runs(self) -> list[StoredRun]:
        rows = self._db.execute(
            "SELECT run_key, spec, status, error, metrics, worker, finished_at FROM runs ORDER BY finished_at, run_key"
        )
        return [
            StoredRun(key, json.loads(spec), status, error, json.loads(metrics), worker, finished_at)
            for key, spec, status, error, metrics, worker, finished_at in rows
        ]

    @_serialised
    def curves(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT run_key, values_json FROM curves ORDER BY run_key, epoch")
        return [{"run_key": key, **json.loads(values)} for key, values in rows]

    @_serialised
    def claim(self, run_key: str, owner: str, *, lease_seconds: float, retry_failed: bool = False) -> bool:
        now = time.time()
        with self._transaction():
            stored = self._db.execute("SELECT status FROM runs WHERE run_key=?", (run_key,)).fetchone()
            if stored is not None and (stored[0] == "ok" or not retry_failed):
                return False
            held = self._db.execute("SELECT owner, expires_at FROM claims WHERE run_key=?", (run_key,)).fetchone()
            if held is not None and _in_force(*held, now=now) and held[0] != owner:
                return False
            self._db.execute(
                "INSERT OR REPLACE INTO claims (run_key, owner, claimed_at, expires_at) VALUES (?,?,?,?)",
                (run_key, owner, now, now + lease_seconds),
            )
            self._db.execute("INSERT INTO attempts (run_key, owner, claimed_at) VALUES (?,?,?)", (run_key, owner, now))
        return True

    @_serialised
    def renew(self, owner: str, *, lease_seconds: float) -> int:
        with self._transaction():
            cursor = self._db.execute(
                "UPDATE claims SET expires_at=? WHERE owner=?", (time.time() + lease_seconds, owner)
            )
        return cursor.rowcount

    @_serialised
    def release(self, run_key: str, owner: str) -> None:
        with self._transaction():
            self._db.execute("DELETE FROM claims WHERE run_key=? AND owner=?", (run_key, owner))

    @_serialised
    def claims(self) -> list[Claim]:
        now = time.time()
        rows = self._db.execute("SELECT run_key, owner, claimed_at, expires_at FROM claims ORDER BY claimed_at")
        return [Claim(*row) for row in rows if _in_force(row[1], row[3], now=now)]

    @_serialised
    def attempts(self) -> list[tuple[str, str, float]]:
        rows = self._db.execute("SELECT run_key, owner, claimed_at FROM attempts ORDER BY claimed_at, rowid")
        return [tuple(row) for row in rows]

    @_serialised
    def set_config(self, config: dict[str, Any]) -> None:
        with self._transaction():
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('config', ?)", (json.dumps(config),))

    @_serialised
    def config(self) -> dict[str, Any] | None:
        row = self._db.execute("SELECT value FROM meta WHERE key='config'").fetchone()
        return json.loads(row[0]) if row else None

    @_serialised
    def put_compression(
        self,
        key: str,
        parent_run_key: str,
        spec: dict[str, Any],
        status: str,
        error: str | None,
        metrics: dict[str, float],
    ) -> bool:
        """Record one compressed model whole (one transaction); False, storing nothing, when an
        ok row already has `key`. A failed row is replaced."""
        with self._transaction():
            existing = self._db.execute("SELECT status FROM compressions WHERE compression_key=?", (key,)).fetchone()
            if existing is not None and existing[0] == "ok":
                return False
            self._db.execute(
                "INSERT OR REPLACE INTO compressions (compression_key, parent_run_key, spec, status, error, metrics, "
                "finished_at) VALUES (?,?,?,?,?,?,?)",
                (
                    key,
                    parent_run_key,
                    json.dumps(spec, sort_keys=True),
                    status,
                    error,
                    json.dumps(metrics),
                    time.time(),
                ),
            )
        return True

    @_serialised
    def compressions(self) -> list[dict[str, Any]]:
        """Every stored compression, oldest first: dicts with compression_key, parent_run_key,
        spec, status, error, metrics, finished_at."""
        rows = self._db.execute(
            "SELECT compression_key, parent_run_key, spec, status, error, metrics, finished_at FROM compressions "
            "ORDER BY finished_at, compression_key"
        )
        return [
            {
                "compression_key": key,
                "parent_run_key": parent,
                "spec": json.loads(spec),
                "status": status,
                "error": error,
                "metrics": json.loads(metrics),
                "finished_at": finished_at,
            }
            for key, parent, spec, status, error, metrics, finished_at in rows
        ]

    @_serialised
    def close(self) -> None:
        self._db.close()


def _in_force(owner: str, expires_at: float, *, now: float) -> bool:
    return expires_at > now and not owner_is_gone(owner)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error: a run is stored whole or not at all."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")


def _check_location(path: Path) -> None:
    """Refuse, before creating anything, a folder that is a file, a file that is not SQLite, or
    a store this process cannot write (SQLite also writes journal files beside it)."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UserError(f"{parent}: output folder is a file, not a folder")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise UserError(f"{parent}: output folder is not writable")
            break
    if path.exists():
        _check_is_sqlite(path)
        if not os.access(path, os.W_OK):
            raise UserError(f"{path}: store file is not writable")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)


def _check_existing_store(path: Path) -> None:
    """Refuse a missing or empty file before connecting: SQLite would take either for a new store."""
    if not path.is_file() or path.stat().st_size == 0:
        raise UserError(f"no scalinglab store at {path}")
    _check_is_sqlite(path)


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A connection that can never write `path`, and that works in a read-only folder.

    While a writer is connected its -wal file exists; reading then goes through SQLite's shared
    memory (mode=ro). Without one nobody is writing, and `immutable=1` reads the file without
    creating the -shm and -wal files beside it, which a read-only folder would not allow.
    """
    uri = f"file:{urllib.parse.quote(str(path.absolute()))}"
    writer_connected = Path(f"{path}-wal").exists()
    if writer_connected:
        db = sqlite3.connect(
            f"{uri}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
        )
        try:
            db.execute("PRAGMA user_version").fetchone()
            return db
        except sqlite3.OperationalError:  # a -wal left by a crashed writer in a folder we cannot write
            db.close()
    return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, isolation_level=None, check_same_thread=False)


def _check_is_sqlite(path: Path) -> None:
    if not path.is_file():
        raise UserError(f"{path}: not a file")
    with path.open("rb") as handle:
        header = handle.read(16)
    if header and header != b"SQLite format 3\x00":
        raise UserError(f"{path}: not an SQLite file; refusing to touch it")
