"""Where results live. Only the driver process writes; see `Store` for the contract."""

from __future__ import annotations

from pathlib import Path

from scalinglab.store.base import Store, StoredRun
from scalinglab.store.location import (
    STORE_FILENAME,
    StoreLocation,
    output_folder,
    store_location,
    store_path,
    stored_database,
)
from scalinglab.store.sqlite import SQLiteStore


def open_store(location: str | Path, *, read_only: bool = False) -> Store:
    """Open (creating if needed) the store at `location`: an output folder, a .sqlite file, or
    a URL `sqlite:///path/to/file.sqlite`.

    `read_only=True`: open an existing store without creating or changing any file (works in a
    read-only folder); UserError "LOCATION: no scalinglab store here (runs.sqlite not found); run
    a sweep first" when there is none (`stored_database`, as every read-only command says it), and
    "no scalinglab store at PATH" for an empty file.
    """
    return SQLiteStore(stored_database(location) if read_only else store_path(location), read_only=read_only)


__all__ = [
    "STORE_FILENAME",
    "SQLiteStore",
    "Store",
    "StoreLocation",
    "StoredRun",
    "open_store",
    "output_folder",
    "store_location",
    "store_path",
    "stored_database",
]
