"""`scalinglab report OUT`: rebuild report.html from the store alone, no training."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from scalinglab.cli.app import app

console = Console(stderr=True)


@app.command()
def report(
    out: Annotated[Path, typer.Argument(help="Output folder of a sweep (holding runs.sqlite), or the .sqlite file.")],
    to: Annotated[Optional[Path], typer.Option(help="Where to write the HTML; default OUT/report.html.")] = None,
) -> None:
    """Fit the stored runs again and write the self-contained HTML report."""
    from scalinglab.analysis import fit_metric_vs_params
    from scalinglab.report import write_report

    frame, config = load_stored_runs(out)
    fit_settings = (config or {}).get("fit", {})
    fit = fit_metric_vs_params(frame, **{k: v for k, v in fit_settings.items() if k in ("metric", "x", "group_by")})
    target = to if to is not None else output_folder(out) / "report.html"
    title = (config or {}).get("name", str(out))
    from scalinglab.report.compress_figures import stored_compressions

    compressions = stored_compressions(stored_database(out))
    console.print(f"wrote {write_report(target, title=title, frame=frame, fit=fit, config=config, compressions=compressions)}")


def load_stored_runs(out: Path):
    """The results frame and stored configuration of the sweep at `out`.

    Raises UserError when there is no store there or it holds no runs, so that nothing is
    created by merely asking.
    """
    from scalinglab.errors import UserError
    from scalinglab.results import results_frame
    from scalinglab.store import open_store

    database = stored_database(out)
    store = open_store(database)
    try:
        frame, config = results_frame(store), store.config()
    finally:
        store.close()
    if frame.empty:
        raise UserError(f"{database}: the store holds no runs yet")
    return frame, config


def stored_database(out: Path) -> Path:
    """The SQLite file of the sweep at `out` (a folder or the file); UserError when there is none."""
    from scalinglab.errors import UserError
    from scalinglab.store import STORE_FILENAME

    database = out if out.suffix in {".sqlite", ".db"} else out / STORE_FILENAME
    if not database.is_file():
        raise UserError(f"{out}: no scalinglab store here ({database.name} not found); run `scalinglab run` first")
    return database


def output_folder(out: Path) -> Path:
    """The folder that holds the sweep's store and the files written from it."""
    return out.parent if out.suffix in {".sqlite", ".db"} else out
