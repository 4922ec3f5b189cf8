"""Where a sweep's store is: the one parser of every way a user names it.

A store location is an output folder (its store is FOLDER/runs.sqlite), the SQLite file itself
(a .sqlite or .db path), or a URL sqlite:///PATH naming that file (three slashes and a relative
path, four and an absolute one, as SQLAlchemy writes them). The folder that holds the store is
where the files written from it go (report.html, runs.csv, checkpoints/).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scalinglab.errors import UserError

STORE_FILENAME = "runs.sqlite"
DATABASE_SUFFIXES = (".sqlite", ".db")
URL_PREFIX = "sqlite:///"


@dataclass(frozen=True)
class StoreLocation:
    """The SQLite file of a store, and the folder its sweep's files are written to."""

    database: Path

    @property
    def folder(self) -> Path:
        """The folder that holds the store and the files written from it."""
        return self.database.parent


def store_location(location: str | Path) -> StoreLocation:
    """Parse `location`: a folder, a .sqlite/.db file, or sqlite:///PATH.

    Raises UserError for a location that starts like a URL but is not sqlite:///PATH (such as
    the sqlite:/PATH a `Path` makes of a URL by merging its slashes), before anything is opened.
    """
    text = str(location)
    if text.startswith(URL_PREFIX):
        return StoreLocation(Path(text.removeprefix(URL_PREFIX)))
    if text.startswith("sqlite:"):
        raise UserError(
            f"{text}: not a store location; a store URL is {URL_PREFIX}PATH (e.g. {URL_PREFIX}out/{STORE_FILENAME})"
        )
    path = Path(text)
    return StoreLocation(path if path.suffix in DATABASE_SUFFIXES else path / STORE_FILENAME)


def store_path(location: str | Path) -> Path:
    """The SQLite file of `location` (see `store_location`), whether or not it exists."""
    return store_location(location).database


def output_folder(location: str | Path) -> Path:
    """The folder that holds the store at `location` and the files written from it."""
    return store_location(location).folder


def stored_database(location: str | Path) -> Path:
    """The SQLite file of the store at `location`; UserError when there is none (creates nothing)."""
    database = store_path(location)
    if not database.is_file() and Path(location).suffix.lower() == ".csv" and Path(location).is_file():
        # Seen: `scalinglab recommend seeds.csv` said only "run a sweep first" of a table of runs.
        raise UserError(
            f"{location}: a CSV file, not a sweep's output folder; this command reads a sweep's store. For a "
            "table of runs: scalinglab fit (a law and its intervals), or scalinglab.analyze(DataFrame) and "
            "scalinglab.recommend in Python"
        )
    if not database.is_file():
        raise UserError(
            f"{location}: no scalinglab store here ({database.name} not found); run a sweep first "
            "(`scalinglab run` or scalinglab.sweep)"
        )
    return database
