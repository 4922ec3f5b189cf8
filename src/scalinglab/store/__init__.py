"""Where results live. Only the driver process writes; see `Store` for the contract."""

from __future__ import annotations

from pathlib import Path

from scalinglab.store.base import Store, StoredRun
from scalinglab.store.sqlite import SQLiteStore

STORE_FILENAME = "runs.sqlite"


def open_store(location: str | Path) -> Store:
    """Open (creating if needed) the store at `location`: an output folder, a .sqlite file, or
    a URL `sqlite:///path/to/file.sqlite`."""
    text = str(location)
    if text.startswith("sqlite:///"):
        return SQLiteStore(Path(text.removeprefix("sqlite:///")))
    path = Path(text)
    if path.suffix in {".sqlite", ".db"}:
        return SQLiteStore(path)
    return SQLiteStore(path / STORE_FILENAME)


__all__ = ["STORE_FILENAME", "SQLiteStore", "Store", "StoredRun", "open_store"]
