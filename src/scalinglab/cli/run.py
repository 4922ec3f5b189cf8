"""`scalinglab run`: train a sweep (resuming what is stored), fit, print, write CSV and report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from scalinglab.cli.app import app

console = Console(stderr=True)


@app.command()
def run(
    sweep_file: Annotated[Optional[Path], typer.Argument(help="Sweep TOML file; omitted: the built-in quick start.")] = None,
    set_: Annotated[list[str], typer.Option("--set", help="Override a field: --set training.epochs=5")] = [],
    out: Annotated[Optional[Path], typer.Option(help="Output folder (overrides `output` in the file).")] = None,
    retry_failed: Annotated[bool, typer.Option(help="Train again the runs that failed or diverged.")] = False,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Train every run of the sweep that is not stored yet, fit the law, write runs.csv and report.html."""
    from scalinglab.config import load_config
    from scalinglab.store import open_store
    from scalinglab.sweep import run_sweep

    overrides = [*set_, *([f"output='{out}'"] if out is not None else [])]
    config = load_config(sweep_file, overrides)
    store = open_store(config.output)
    try:
        with _ProgressBar(enabled=not quiet) as progress:
            outcome = run_sweep(config, store, retry_failed=retry_failed, progress=progress)
        console.print(
            f"{outcome.planned} runs planned, {outcome.already_stored} already stored, {outcome.trained} trained"
            + "".join(f", {count} {status}" for status, count in sorted(outcome.by_status.items()))
        )
        _summarise(config, store)
    finally:
        store.close()


def _summarise(config, store) -> None:
    from scalinglab.analysis import describe_fit, fit_metric_vs_params
    from scalinglab.report import write_report
    from scalinglab.report.html import size_table
    from scalinglab.results import results_frame

    frame = results_frame(store)
    frame.to_csv(config.output / "runs.csv", index=False)
    fit = fit_metric_vs_params(frame, metric=config.fit.metric, x=config.fit.x, group_by=config.fit.group_by)
    _print_table(size_table(frame))
    for group_fit in fit.fits:
        console.print(describe_fit(group_fit))
    for warning in fit.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    report = write_report(
        config.output / "report.html", title=config.name, frame=frame, fit=fit, config=config.model_dump(mode="json")
    )
    console.print(f"wrote {config.output / 'runs.csv'} and {report}")
    console.print(f"choose a size under your budgets: scalinglab recommend {config.output} --train-seconds X")


def _print_table(table_frame) -> None:
    from scalinglab.metrics import label

    table = Table(title="Runs by size (mean over seeds)")
    for column in table_frame.columns:
        table.add_column(label(column), justify="right")
    for row in table_frame.itertuples(index=False):
        table.add_row(*(f"{value:.4g}" if isinstance(value, float) else str(value) for value in row))
    Console().print(table)


class _ProgressBar:
    """Rich progress bar fed by the driver's SweepProgress callbacks."""

    def __init__(self, *, enabled: bool) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[last]}"),
            console=console,
            disable=not enabled,
        )
        self._task = None

    def __enter__(self) -> _ProgressBar:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.__exit__(*exc)

    def started(self, *, total: int, to_run: int) -> None:
        self._task = self._progress.add_task("training", total=to_run, last="")

    def finished(self, result) -> None:
        note = result.spec.label() + ("" if result.status == "ok" else f" [red]{result.status}[/]")
        self._progress.update(self._task, advance=1, last=note)
