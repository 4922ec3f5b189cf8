"""`scalinglab export OUT --format csv|parquet|json`: the results table for other tools."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from scalinglab.cli.app import app

console = Console(stderr=True)


FORMATS = ("csv", "parquet", "json")


@app.command()
def export(
    out: Annotated[str, typer.Argument(help="Output folder of a sweep (holding runs.sqlite), or the .sqlite file.")],
    format: Annotated[str, typer.Option("--format", help="File format: csv, parquet or json.")] = "csv",
    to: Annotated[Optional[Path], typer.Option(help="File to write; default OUT/runs.<format>.")] = None,
    curves: Annotated[bool, typer.Option(help="Export the per-epoch curves instead of one row per run.")] = False,
) -> None:
    """Write one row per run (or per run and epoch with --curves) as CSV, Parquet or JSON."""
    from scalinglab.runs_table import load_results
    from scalinglab.store import output_folder
    from scalinglab.errors import UserError
    from scalinglab.paths import check_output_file

    if format not in FORMATS:
        raise UserError(f"--format {format}: choose one of {', '.join(FORMATS)}")
    frame, _ = load_results(out)
    stem = "curves" if curves else "runs"
    target = to if to is not None else output_folder(out) / f"{stem}.{format}"
    check_output_file(target, option="--to" if to is not None else "default --to", suffixes=(f".{format}",))
    if curves:
        frame = _curves(out)
    write_frame(frame, target, format)
    console.print(f"wrote {len(frame)} rows to {target}")


def write_frame(frame, path: Path, format: str) -> None:
    """Write `frame` to `path` as csv, parquet (needs pyarrow) or json (records, one list)."""
    from scalinglab.errors import UserError

    if format == "csv":
        frame.to_csv(path, index=False)
    elif format == "json":
        frame.to_json(path, orient="records", indent=1)
    else:
        try:
            frame.to_parquet(path, index=False)
        except ImportError:
            raise UserError("--format parquet needs pyarrow: pip install pyarrow") from None


def _curves(out: str):
    from scalinglab.runs_table import curves_frame
    from scalinglab.store import open_store, stored_database

    store = open_store(stored_database(out), read_only=True)
    try:
        return curves_frame(store)
    finally:
        store.close()
