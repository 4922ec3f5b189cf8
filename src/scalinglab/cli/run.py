"""`scalinglab run`: train a sweep (resuming what is stored), fit, print, write CSV and report."""

from __future__ import annotations

import logging
import shlex
import sys
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from scalinglab.cli.app import app, console, show_logs, stdout_console
from scalinglab.debug import debug_enabled, enable_debug


@app.command()
def run(
    sweep_file: Annotated[
        Optional[Path], typer.Argument(help="Sweep TOML file; omitted: the built-in quick start.")
    ] = None,
    set_: Annotated[list[str], typer.Option("--set", help="Override a field: --set training.epochs=5")] = [],
    out: Annotated[Optional[Path], typer.Option(help="Output folder (overrides `output` in the file).")] = None,
    retry_failed: Annotated[bool, typer.Option(help="Train again the runs that failed or diverged.")] = False,
    executor: Annotated[
        Optional[str], typer.Option(help="Where runs execute: serial, pool (this machine) or ray.")
    ] = None,
    workers: Annotated[Optional[int], typer.Option(help="Runs at once (default: every CPU).")] = None,
    address: Annotated[
        Optional[str], typer.Option(help="Ray cluster to join: auto or HOST:PORT (implies --executor ray).")
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar and no per-run log lines.")] = False,
    debug: Annotated[
        bool,
        typer.Option(
            help="Raise a run's exception with its traceback instead of recording it (also SCALINGLAB_DEBUG=1)."
        ),
    ] = False,
) -> None:
    """Train every run of the sweep that is not stored yet, fit the law, write runs.csv and report.html.

    Safe to interrupt and rerun (it trains only what is missing), and to run twice at once on one
    output folder (the two share the runs).
    """
    from scalinglab.api import ReportInterrupted, SweepInterrupted, run_sweep, sweep_config

    if debug:
        enable_debug()
    show_logs(level=logging.WARNING if quiet else logging.DEBUG if debug_enabled() else logging.INFO)
    config = sweep_config(sweep_file, overrides=set_, out=out, executor=executor, workers=workers, address=address)
    try:
        with _ProgressBar(enabled=not quiet) as progress:
            result = run_sweep(config, retry_failed=retry_failed, progress=progress)
    except SweepInterrupted as interrupted:
        _interrupted(f"{interrupted}; resume with: {shlex.join(['scalinglab', *sys.argv[1:]])}")
    except ReportInterrupted as interrupted:  # after training: the runs are stored, the report is not
        _interrupted(str(interrupted))
    except KeyboardInterrupt:  # before training (loading data, starting workers) or while compressing
        _interrupted(
            f"interrupted; scalinglab status {config.output} says what is stored, and the same command resumes"
        )
    console.print(result.training.summary())
    if result.nothing_finished_ok():  # nothing to fit or report: say why, exit 1
        if result.training.all_failed():
            console.print(f"[red]every run failed[/]: {result.training.error_summary()}", soft_wrap=True)
        else:
            console.print(
                f"[red]no run of this sweep finished ok[/]: see scalinglab status {config.output}", soft_wrap=True
            )
        raise typer.Exit(1)
    if result.compression is not None:  # the sweep file's [compress] section
        console.print(result.compression.summary())
    if config.plan is not None:  # why the plan stopped and its answer at the target, as `status` says them
        _print_plan_status(config.output)
    _summarise(result, config.output)


def _print_plan_status(output: Path) -> None:
    from scalinglab.api import sweep_status
    from scalinglab.cli.status import _print_plan

    _print_plan(stdout_console(), sweep_status(output)["plan"])


def _interrupted(message: str) -> NoReturn:
    """Say where a Ctrl-C left the sweep, and exit 130 (Typer would end a KeyboardInterrupt silently)."""
    console.print(message, soft_wrap=True, markup=False, highlight=False)
    raise typer.Exit(130) from None


def _summarise(result, output: Path) -> None:
    from scalinglab.analysis.sentences import WARNING_PREFIX, summary_lines

    written = result.report
    answer = (
        stdout_console()
    )  # the answer on stdout (`scalinglab run > answer.txt`); progress, logs and warnings on stderr
    _print_table(written.analysis.size_table(), written.analysis.size_table_title())
    for line in summary_lines(written.analysis):
        (console if line.startswith(WARNING_PREFIX) else answer).print(line)
    if written.compress_verdict:
        answer.print(written.compress_verdict)
    answer.print(f"wrote {result.runs_csv} and {written.path}")
    answer.print(
        f"for a budget other than the slowest configuration's training time: scalinglab recommend {output} "
        "--train-seconds X"
    )
    answer.print(f"recommendation: {written.headline}", markup=False, highlight=False)


# Terminal headers are short so the table fits 80 columns; the report and CSV carry full names.
_SHORT_HEADERS = {
    "n_params": "params",
    "train_size": "data",
    "val_loss": "val loss",
    "val_accuracy": "val acc",
    "val_bits_per_byte": "val bits/B",
    "train_seconds": "train s",
    "latency_ms_p50": "latency ms",
    "bytes_fp32": "bytes fp32",
    "n_seeds": "seeds",
}


def _print_table(table_frame, title: str) -> None:
    table = Table(title=title)
    for column in table_frame.columns:
        table.add_column(_SHORT_HEADERS.get(column, column), justify="right", overflow="fold")
    counts = {"n_params", "train_size", "bytes_fp32"}
    for row in table_frame.itertuples(index=False):
        table.add_row(*(_cell(value, as_count=column in counts) for column, value in zip(table_frame.columns, row)))
    stdout_console().print(table)


def _cell(value, *, as_count: bool) -> str:
    from scalinglab.analysis import format_count

    if as_count:
        return format_count(float(value))
    return f"{value:.3g}" if isinstance(value, float) else str(value)


class _ProgressBar:
    """Rich progress bar fed by the driver's SweepProgress callbacks: runs done/total, the run
    being trained, ETA. Log records (rendered on the same console) print above the bar."""

    def __init__(self, *, enabled: bool) -> None:
        self._enabled = enabled
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[current]}"),
            console=console,
            disable=not enabled,
        )
        self._task = None
        self._running: dict[str, str] = {}

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *exc) -> None:
        if self._task is not None:
            self._progress.__exit__(*exc)

    def started(self, *, total: int, to_run: int) -> None:
        # The bar appears only once training starts, so an early error stays one line; with
        # nothing to train it never appears (the outcome's summary says so).
        if to_run == 0:
            return
        self._progress.__enter__()
        self._task = self._progress.add_task("runs", total=total, completed=total - to_run, current="")

    def running(self, spec) -> None:
        self._running[spec.run_key] = spec.label()
        self._show_current()

    def finished(self, result) -> None:
        self._running.pop(result.run_key, None)
        self._progress.update(self._task, advance=1)
        self._show_current()
        if result.status != "ok" and self._enabled:
            self._progress.console.print(f"[red]{result.status}[/] {result.spec.label()}: {result.error}")

    def waiting(self, *, held_elsewhere: int) -> None:
        self._progress.update(self._task, current=f"waiting for {held_elsewhere} runs held by another process")

    def _show_current(self) -> None:
        labels = list(self._running.values())
        current = labels[0] + (f" (+{len(labels) - 1} more)" if len(labels) > 1 else "") if labels else ""
        self._progress.update(self._task, current=current)
