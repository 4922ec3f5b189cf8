"""`scalinglab report OUT`: rebuild report.html from the store alone, no training."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from scalinglab.cli.app import app
from scalinglab.store import output_folder, stored_database

console = Console(stderr=True)


@app.command()
def report(
    out: Annotated[str, typer.Argument(help="Output folder of a sweep (holding runs.sqlite), or the .sqlite file.")],
    to: Annotated[Optional[Path], typer.Option(help="Where to write the HTML; default OUT/report.html.")] = None,
) -> None:
    """Fit the stored runs again and write the self-contained HTML report."""
    from scalinglab.analysis import analyze
    from scalinglab.compress.compressions_table import stored_compressions_frame
    from scalinglab.paths import check_output_file
    from scalinglab.report import write_report

    target = to if to is not None else output_folder(out) / "report.html"
    stored_database(out)  # a missing store is named before the output path
    check_output_file(target, option="--to" if to is not None else "default --to", suffixes=(".html", ".htm"))
    analysis = analyze(out)
    compressions = stored_compressions_frame(out)
    console.print(f"wrote {write_report(target, analysis, compressions=compressions)}")
