"""`scalinglab export OUT --format csv|parquet|json`: the results table for other tools."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from scalinglab.cli.app import app

console = Console(stderr=True)


@app.command()
def export(
    out: Annotated[str, typer.Argument(help="Output folder of a sweep (holding runs.sqlite), or the .sqlite file.")],
    format: Annotated[str, typer.Option("--format", help="File format: csv, parquet or json.")] = "csv",
    to: Annotated[Optional[Path], typer.Option(help="File to write; default OUT/runs.<format>.")] = None,
    curves: Annotated[bool, typer.Option(help="Export the per-epoch curves instead of one row per run.")] = False,
) -> None:
    """Write one row per run (or per run and epoch with --curves) as CSV, Parquet or JSON."""
    from scalinglab.api import export_runs

    target, n_rows = export_runs(out, format=format, to=to, curves=curves)
    console.print(f"wrote {n_rows} rows to {target}")
