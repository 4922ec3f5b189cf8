"""open_store(..., read_only=True): reads a store without creating or changing any file, and
refuses what is not a store it can read with one line."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from cli_helpers import sqlite_file
from test_store_contract import make_result, make_spec

from scalinglab.errors import UserError
from scalinglab.store import open_store
from scalinglab.store.sqlite import MIGRATIONS, SCHEMA_VERSION


def _files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def _store_with_one_run(folder: Path) -> None:
    store = open_store(folder)
    store.put(make_result(make_spec()))
    store.close()


def test_reading_creates_and_changes_no_file(tmp_path: Path):
    _store_with_one_run(tmp_path)
    before = _files(tmp_path)
    store = open_store(tmp_path, read_only=True)
    assert [run.status for run in store.runs()] == ["ok"]
    store.close()
    assert _files(tmp_path) == before  # no -wal or -shm left beside it either


def test_a_reader_sees_what_a_connected_writer_stored(tmp_path: Path):
    writer = open_store(tmp_path)
    writer.put(make_result(make_spec(width=8)))
    reader = open_store(tmp_path, read_only=True)
    writer.put(make_result(make_spec(width=16)))
    assert len(reader.runs()) == 2
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader._db.execute("DELETE FROM runs")
    reader.close()
    writer.close()


@pytest.mark.parametrize(
    "make", [lambda folder: None, lambda folder: (folder / "runs.sqlite").touch()], ids=["missing", "empty-file"]
)
def test_no_store_is_one_line_and_nothing_is_created(tmp_path: Path, make):
    make(tmp_path)
    before = _files(tmp_path)
    empty = (tmp_path / "runs.sqlite").exists()
    said = f"no scalinglab store at {tmp_path / 'runs.sqlite'}" if empty else f"{tmp_path}: no scalinglab store here"
    with pytest.raises(UserError, match=said):
        open_store(tmp_path, read_only=True)
    assert _files(tmp_path) == before


def test_an_older_store_is_read_as_it_is_and_not_migrated(tmp_path: Path):
    path = sqlite_file(
        tmp_path / "runs.sqlite",
        *MIGRATIONS[1],
        "PRAGMA user_version=1",
        "INSERT INTO runs VALUES ('k', '{}', 'ok', NULL, '{\"val_loss\": 3.0}', 'old', 1.0)",
    )
    before = _files(tmp_path)
    store = open_store(path, read_only=True)
    assert [run.metrics["val_loss"] for run in store.runs()] == [3.0]
    assert store.claims() == [] and store.attempts() == []  # tables of later schemas: empty
    store.close()
    assert _files(tmp_path) == before


@pytest.mark.parametrize("read_only", [False, True], ids=["writer", "reader"])
@pytest.mark.parametrize(
    ("statements", "message"),
    [
        (("CREATE TABLE runs (x)", "PRAGMA user_version=-2"), "schema version -2"),
        ((*MIGRATIONS[1], *MIGRATIONS[2], "PRAGMA user_version=1"), "does not match its tables.*claims"),
        ((*MIGRATIONS[1], f"PRAGMA user_version={SCHEMA_VERSION}"), "does not match its tables.*attempts"),
    ],
    ids=["negative-version", "version-older-than-its-tables", "version-newer-than-its-tables"],
)
def test_a_mislabelled_store_is_refused_and_left_untouched(tmp_path: Path, statements, message, read_only):
    path = sqlite_file(tmp_path / "runs.sqlite", *statements)
    before = path.read_bytes()
    with pytest.raises(UserError, match=message):
        open_store(path, read_only=read_only)
    assert path.read_bytes() == before


def test_a_csv_file_given_for_a_store_is_pointed_to_the_commands_for_tables(tmp_path: Path):
    """Seen: `scalinglab recommend seeds.csv` said only "run a sweep first" of a table of runs."""
    from scalinglab.store import stored_database

    table = tmp_path / "seeds.csv"
    table.write_text("n_params,val_loss\n1000,2.0\n")
    with pytest.raises(UserError, match=r"seeds.csv: a CSV file, not a sweep's output folder.*scalinglab fit"):
        stored_database(table)
    assert [path.name for path in tmp_path.iterdir()] == ["seeds.csv"]  # nothing created
