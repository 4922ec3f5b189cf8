"""`scalinglab fit`: fit a scaling law to a CSV file and print it (table or JSON)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import typer

from scalinglab.cli.app import app, check_form_option, flags_for, stdout_console
from scalinglab.errors import UserError
from scalinglab.fit import FORMS
from scalinglab.fit.forms import AUTO
from scalinglab.fit.law import UNBOUNDED_SCALE_FACTOR
from scalinglab.fit.table import BURN_IN

# The parameters of the fitting API that messages name, as this command's flags.
FIT_FLAGS = {
    "ci_level": "--level",
    "level": "--level",
    "n_bootstrap": "--bootstrap",
    "huber_delta": "--huber-delta",
    "flop_model": "--flops-per-param-token",
    "unique_data": "--unique-data",
    "random_state": "--seed",
    "x": "--x",
    "burn_in": "--burn-in",
    "step": "--step",
    "compute": "--compute",
}


@app.command("fit")
def fit_command(
    file: Path = typer.Argument(..., help="CSV file, one row per run."),
    form: str = typer.Option(
        "power",
        help=f"Law to fit: {', '.join([*FORMS, AUTO])} (auto: the form "
        "that best predicts rows held out: the largest x for one input; for N,D "
        "(or N,D,U: unique data) the largest sizes, data at each size and compute).",
    ),
    x: str = typer.Option(..., help="Input column(s), comma-separated, e.g. N,D."),
    y: str = typer.Option(..., help="Column to fit, e.g. loss."),
    derive: list[str] = typer.Option(
        [], help="NAME=EXPRESSION adding a column, e.g. 'D=Training FLOP/(6*Model Size)'. Repeatable."
    ),
    where: str | None = typer.Option(None, help="Fit only rows where this holds, e.g. 'loss < 3.44'."),
    holdout: str | None = typer.Option(
        None,
        help="Backtest: K holds out the K largest sizes (first x column); a condition "
        "such as 'N < 1e9' fits on the rows where it holds and tests on the others.",
    ),
    bootstrap: int = typer.Option(1000, help="Bootstrap replicates (0: no intervals)."),
    seed: int = typer.Option(0, help="Seed of the bootstrap."),
    huber_delta: float = typer.Option(1e-3, help="Huber delta on log residuals."),
    level: float = typer.Option(0.95, help="Coverage of the intervals."),
    compute: str | None = typer.Option(
        None, help="Joint laws: FLOP budgets for the compute-optimal N and D, e.g. 1e21,5.76e23."
    ),
    flops_per_param_token: float = typer.Option(6.0, help="FLOP model C = K*N*D: this is K."),
    unique_data: float | None = typer.Option(
        None, help="With --compute and a law of N,D,U (data_constrained): the unique tokens (examples) available."
    ),
    isoflop: str | None = typer.Option(
        None,
        help="Approach 2 instead of a law: the column of training FLOPs; runs within 0.05 decades of "
        "it form a compute group, each group's loss is fitted by a parabola in log N (the first x column).",
    ),
    groups: str | None = typer.Option(
        None,
        help="Column whose values the bootstrap resamples whole: the run of each row when the table "
        "holds every evaluation of each run (a long-format table of training curves).",
    ),
    step: str | None = typer.Option(
        None,
        help="With --groups: the column of steps (or tokens) of each evaluation; each run's first "
        "--burn-in share of steps is dropped.",
    ),
    burn_in: float = typer.Option(BURN_IN, help="Share of each run's steps dropped as burn-in (with --step)."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    out: Path | None = typer.Option(None, help="Write a figure of data, fit and band (PNG, SVG, PDF)."),
) -> None:
    """Fit a scaling law to FILE and print its parameters with bootstrap intervals."""
    from scalinglab.fit import fit_table
    from scalinglab.paths import FIGURE_SUFFIXES, check_output_file

    if out is not None:
        check_output_file(out, option="--out", suffixes=FIGURE_SUFFIXES)
    check_form_option(form)
    budgets = _parse_numbers(compute, "--compute") if compute else None  # a typo is said before fitting
    with flags_for(FIT_FLAGS):
        fitted = fit_table(
            file,
            x=[name.strip() for name in x.split(",") if name.strip()],
            y=y,
            form=form,
            derive=derive,
            where=where,
            holdout=None if holdout is None else _parse_holdout(holdout),
            n_bootstrap=bootstrap,
            random_state=seed,
            huber_delta=huber_delta,
            level=level,
            compute=budgets,
            flops_per_param_token=flops_per_param_token,
            isoflop=isoflop,
            figure=out,
            groups=groups,
            step=step,
            burn_in=burn_in,
            unique_data=unique_data,
        )
    if json_output:
        print(json.dumps(fitted.to_dict(), indent=2))
    elif fitted.isoflop is not None:
        _print_isoflop(fitted.isoflop)
    else:
        _print_tables(fitted)
    # On stderr, so that --json's stdout stays one JSON object (which carries them too).
    for warning in fitted.warnings():
        typer.echo(f"warning: {warning}", err=True)


def _print_isoflop(result) -> None:
    from rich.table import Table

    console = stdout_console()
    # Numbers never wrap or get cut (an 80-column terminal once showed "1.6096..."): 4 digits, N*'s
    # interval under it, and only the note wraps.
    groups = Table(title="IsoFLOP profiles (approach 2): the vertex of each compute group", title_justify="left")
    columns = [c for c in ("compute", "n_runs", "N_opt", "D_opt", "loss_opt", "note") if c in result.groups]
    for column in columns:
        groups.add_column(column, justify="right", no_wrap=column != "note")
    for row in result.groups.to_dict(orient="records"):
        cells = [_number(row[c], 4) if isinstance(row[c], float) else str(row[c]) for c in columns]
        if "N_opt_low" in row and math.isfinite(row["N_opt_low"]):
            cells[columns.index("N_opt")] += f"\n{_number(row['N_opt_low'], 3)}-{_number(row['N_opt_high'], 3)}"
        groups.add_row(*cells)
    if "N_opt_low" in result.groups:
        groups.caption = f"under N_opt: its {result.level:.0%} interval"
    console.print(groups)
    for row in result.exponents.to_dict(orient="records"):
        interval = f" ({_number(row['ci_low'], 3)} to {_number(row['ci_high'], 3)})" if "ci_low" in row else ""
        what = "N_opt" if row["name"] == "a" else "D_opt"
        console.print(f"{what} ~ C^{row['name']}: {row['name']} = {_number(row['value'], 4)}{interval}")


def _parse_holdout(text: str) -> int | str:
    return int(text) if text.strip().isdigit() else text


def _parse_numbers(text: str, option: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"{option} {text!r}: expected comma-separated numbers") from None


def _print_tables(fitted) -> None:
    from rich.table import Table

    law, test, allocation = fitted.law, fitted.backtest, fitted.allocation
    console = stdout_console()
    params = Table(title=f"{law.form_.name}: {law.form_.formula}", title_justify="left")
    interval = f"{law.ci_level:.0%} CI"
    for column in ("parameter", "value", f"{interval} low", f"{interval} high"):
        params.add_column(column, justify="left" if column == "parameter" else "right")
    determined = law.has_intervals  # else a "95% CI" of no width (the law's warning says why)
    bounded = law.ci_bounded()
    for row in law.summary().itertuples():
        ends = [_number(end) if determined else "-" for end in (row.ci_low, row.ci_high)]
        if determined:  # else "-" throughout, as the caption says
            sides = bounded.get(row.name, (True, True))
            ends = [text if sides[side] else UNBOUNDED_END for side, text in enumerate(ends)]
        params.add_row(row.name, _number(row.value), *ends)
    if not determined and law.bootstrap_stuck_:
        params.caption = f"no {interval}: every bootstrap replicate refitted to the fit itself (see the warning)"
    elif not determined and law.n_bootstrap:
        params.caption = (
            f"no {interval}: {law.n_groups_} resampled groups cannot bound {law.form_.n_params} parameters "
            "(see the warning)"
        )
    elif not law.summary()["ci_bounded"].all():
        params.caption = (
            f"{UNBOUNDED_END}: these rows do not bound that end (a scale's replicates more than "
            f"{UNBOUNDED_SCALE_FACTOR:.0e} times its value, a parameter at the fit's own bound, or one "
            "that changes no prediction)"
        )
    console.print(params)
    console.print(
        f"{law.n_points_} rows, {law.n_starts_} starts, objective {law.objective_:.6g}, "
        f"{law.n_bootstrap} bootstrap replicates (seed {law.random_state})"
    )
    if law.form_choice_ is not None:
        scores = ", ".join(f"{name} {_number(score, 3)}" for name, score in law.form_choice_.scores.items())
        held_out = (
            "the largest x held out"
            if law.form_choice_.by_direction is None
            else "rows held out by size, data at each size and compute"
        )
        console.print(
            f"form auto chose {law.form_.name}; RMS log error predicting {held_out}: "
            f"{scores} ('-': too few rows to score)"
        )
        if law.form_choice_.reason():
            console.print(law.form_choice_.reason())
    if test is not None:
        inside = (
            ""
            if test.coverage is None
            else (
                f", {int(test.held_out['inside'].sum())}/{test.n_test} inside the {test.level:.0%} prediction interval"
            )
        )
        console.print(
            f"backtest: fitted on {test.n_train} rows, held out {test.n_test}: "
            f"RMSE of log {law.y_} = {test.rmse_log:.4g}{inside}"
        )
    if allocation is not None:
        console.print(_allocation_table(allocation, law.ci_level))
    if fitted.figure is not None:
        console.print(f"wrote {fitted.figure}")


def _allocation_table(allocation: pd.DataFrame, level: float):
    from rich.table import Table

    table = Table(title="compute-optimal allocation", title_justify="left")
    for column in ("FLOPs C", "params N*", "tokens D*", "tokens/param", "loss"):
        table.add_column(column, justify="right")
    has_interval = "N_opt_low" in allocation
    for row in allocation.to_dict(orient="records"):
        cells = [_number(row["compute"])]
        for name in ("N_opt", "D_opt", "tokens_per_param", "loss_opt"):
            text = _number(row[name])
            if has_interval and math.isfinite(row[name]):
                low, high = _number(row[name + "_low"], 3), _number(row[name + "_high"], 3)
                text += f"\n{low}-{high}"
            cells.append(text)
        table.add_row(*cells)
    if has_interval:
        table.caption = f"under each value: its {level:.0%} bootstrap interval"
    return table


UNBOUNDED_END = "not bounded"  # an interval end the runs do not bound (ScalingLaw.ci_bounded)


def _number(value: float, digits: int = 5) -> str:
    """Compact text of a number: 5 significant digits, exponents without '+' or leading 0."""
    if value is None or not math.isfinite(value):
        return "-"
    mantissa, _, exponent = f"{value:.{digits}g}".partition("e")
    return mantissa + (f"e{int(exponent)}" if exponent else "")
