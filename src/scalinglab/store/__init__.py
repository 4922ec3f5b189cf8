"""Where results live. Only the driver process writes; see `Store` for the contract."""

from __future__ import annotations

from pathlib import Path

from scalinglab.store.base import Store, StoredRun
from scalinglab.store.sqlite import SQLiteStore

STORE_FILENAME = "runs.sqlite"


def open_store(location: str | Path, *, read_only: bool = False) -> Store:
    """Open (creating if needed) the store at `location`: an output folder, a .sqlite file, or
    a URL `sqlite:///path/to/file.sqlite`.

    `read_only=True`: open an existing store without creating or changing any file (works in a
    read-only folder); UserError "no scalinglab store at PATH" when there is none.
    """
    return SQLiteStore(store_path(location), read_only=read_only)


def store_path(location: str | Path) -> Path:
    """The SQLite file of `location`: the URL's path, a .sqlite/.db file, else FOLDER/runs.sqlite."""
    text = str(location)
    if text.startswith("sqlite:///"):
        return Path(text.removeprefix("sqlite:///"))
    path = Path(text)
    return path if path.suffix in {".sqlite", ".db"} else path / STORE_FILENAME


__all__ = ["STORE_FILENAME", "SQLiteStore", "Store", "StoredRun", "open_store", "store_path"]
