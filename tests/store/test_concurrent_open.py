"""Two processes opening one new store at the same moment (two `scalinglab run` on one folder)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from scalinglab.store import open_store


@pytest.mark.slow
def test_opening_waits_for_a_process_that_holds_the_new_file(tmp_path: Path):
    # Another process is creating the store (a write transaction on a file not yet in WAL mode):
    # switching to WAL needs the file alone, and SQLite said "database is locked" at once.
    other = sqlite3.connect(tmp_path / "runs.sqlite", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE creating (x)")
    releaser = threading.Timer(1.0, lambda: other.execute("ROLLBACK"))
    releaser.start()
    started = time.monotonic()
    store = open_store(tmp_path)
    waited = time.monotonic() - started
    releaser.join()
    other.close()
    assert store.runs() == [] and waited >= 0.9
    store.close()
