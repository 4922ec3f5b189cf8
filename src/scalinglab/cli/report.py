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
    out: Annotated[str, typer.Argument(help="Output folder of a sweep (holding runs.sqlite), or the .sqlite file.")],
    to: Annotated[Optional[Path], typer.Option(help="Where to write the HTML; default OUT/report.html.")] = None,
) -> None:
    """Fit the stored runs again and write the self-contained HTML report."""
    from scalinglab.api import rewrite_report

    console.print(f"wrote {rewrite_report(out, to=to).path}")
