"""SQLite backend of the store: one file, WAL journal, safe against a kill at any moment."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from scalinglab.errors import UserError
from scalinglab.spec import RunResult
from scalinglab.store.base import Store, StoredRun

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_key     TEXT PRIMARY KEY,
    spec        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'diverged')),
    error       TEXT,
    metrics     TEXT NOT NULL,
    worker      TEXT NOT NULL DEFAULT '',
    finished_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS curves (
    run_key TEXT NOT NULL REFERENCES runs(run_key) ON DELETE CASCADE,
    epoch   INTEGER NOT NULL,
    values_json TEXT NOT NULL,
    PRIMARY KEY (run_key, epoch)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class SQLiteStore(Store):
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if self.path.parent.exists() and not self.path.parent.is_dir():
            raise UserError(f"{self.path.parent}: output folder is a file")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            _check_is_sqlite(self.path)
        self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            self._prepare()
        except sqlite3.DatabaseError as error:
            self._db.close()
            raise UserError(f"{self.path}: not a scalinglab store ({error})") from None

    def _prepare(self) -> None:
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=30000")
        self._db.execute("PRAGMA foreign_keys=ON")
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise UserError(
                f"{self.path}: written by a newer scalinglab (store schema {version}, this version reads up to "
                f"{SCHEMA_VERSION}); upgrade scalinglab"
            )
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if version == 0 and tables:
            raise UserError(f"{self.path}: an SQLite file that is not a scalinglab store")
        if version == 0:
            self._db.executescript(_SCHEMA)  # idempotent: two processes may create it at once
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _transaction(self):
        return _Transaction(self._db)

    def put(self, result: RunResult) -> bool:
        with self._transaction():
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

    def keys(self, statuses: tuple[str, ...] | None = None) -> set[str]:
        if statuses is None:
            rows = self._db.execute("SELECT run_key FROM runs")
        else:
            marks = ",".join("?" * len(statuses))
            rows = self._db.execute(f"SELECT run_key FROM runs WHERE status IN ({marks})", statuses)
        return {row[0] for row in rows}

    def runs(self) -> list[StoredRun]:
        rows = self._db.execute(
            "SELECT run_key, spec, status, error, metrics, worker, finished_at FROM runs ORDER BY finished_at, run_key"
        )
        return [
            StoredRun(key, json.loads(spec), status, error, json.loads(metrics), worker, finished_at)
            for key, spec, status, error, metrics, worker, finished_at in rows
        ]

    def curves(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT run_key, values_json FROM curves ORDER BY run_key, epoch")
        return [{"run_key": key, **json.loads(values)} for key, values in rows]

    def set_config(self, config: dict[str, Any]) -> None:
        with self._transaction():
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('config', ?)", (json.dumps(config),))

    def config(self) -> dict[str, Any] | None:
        row = self._db.execute("SELECT value FROM meta WHERE key='config'").fetchone()
        return json.loads(row[0]) if row else None

    def close(self) -> None:
        self._db.close()


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error: a run is stored whole or not at all."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")


def _check_is_sqlite(path: Path) -> None:
    if not path.is_file():
        raise UserError(f"{path}: not a file")
    with path.open("rb") as handle:
        header = handle.read(16)
    if header and header != b"SQLite format 3\x00":
        raise UserError(f"{path}: not an SQLite file; refusing to touch it")
