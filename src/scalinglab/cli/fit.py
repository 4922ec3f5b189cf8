"""`scalinglab fit`: fit a scaling law to a CSV file and print it (table or JSON)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import typer

from scalinglab.cli.app import app
from scalinglab.errors import UserError
from scalinglab.fit import (
    FORMS,
    ScalingLaw,
    isoflop_analysis,
    backtest,
    compute_optimal,
    derive_columns,
    filter_rows,
    fit_plot_data,
    save_fit_figure,
)
from scalinglab.fit.forms import AUTO


@app.command("fit")
def fit_command(
    file: Path = typer.Argument(..., help="CSV file, one row per run."),
    form: str = typer.Option("power", help=f"Law to fit: {', '.join([*FORMS, AUTO])} (auto: the one-input form "
                             "that best predicts the largest x held out)."),
    x: str = typer.Option(..., help="Input column(s), comma-separated, e.g. N,D."),
    y: str = typer.Option(..., help="Column to fit, e.g. loss."),
    derive: list[str] = typer.Option(
        [], help="NAME=EXPRESSION adding a column, e.g. 'D=Training FLOP/(6*Model Size)'. Repeatable."
    ),
    where: str | None = typer.Option(None, help="Fit only rows where this holds, e.g. 'loss < 3.44'."),
    holdout: str | None = typer.Option(
        None, help="Backtest: K holds out the K largest sizes (first x column); a condition "
        "such as 'N < 1e9' fits on the rows where it holds and tests on the others."
    ),
    bootstrap: int = typer.Option(1000, help="Bootstrap replicates (0: no intervals)."),
    seed: int = typer.Option(0, help="Seed of the bootstrap."),
    huber_delta: float = typer.Option(1e-3, help="Huber delta on log residuals."),
    level: float = typer.Option(0.95, help="Coverage of the intervals."),
    compute: str | None = typer.Option(
        None, help="Joint laws: FLOP budgets for the compute-optimal N and D, e.g. 1e21,5.76e23."
    ),
    flops_per_param_token: float = typer.Option(6.0, help="FLOP model C = K*N*D: this is K."),
    isoflop: str | None = typer.Option(
        None, help="Approach 2 instead of a law: the column of training FLOPs; runs within 0.05 decades of "
        "it form a compute group, each group's loss is fitted by a parabola in log N (the first x column)."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    out: Path | None = typer.Option(None, help="Write a figure of data, fit and band (PNG, SVG, PDF)."),
) -> None:
    """Fit a scaling law to FILE and print its parameters with bootstrap intervals."""
    from scalinglab.paths import FIGURE_SUFFIXES, check_output_file

    if out is not None:
        check_output_file(out, option="--out", suffixes=FIGURE_SUFFIXES)
    budgets = _parse_numbers(compute, "--compute") if compute else None  # a typo is said before fitting
    table = _read_table(file)
    table = derive_columns(table, derive)
    if where:
        table = filter_rows(table, where, what="--where")
    x_names = [name.strip() for name in x.split(",") if name.strip()]
    if y in x_names:
        raise UserError(f"--y {y}: also an input column in --x {x}; a law of a column against itself fits nothing")
    if isoflop is not None:
        result = isoflop_analysis(table, n=x_names[0], loss=y, compute=isoflop, flop_model=flops_per_param_token,
                                  n_bootstrap=bootstrap, random_state=seed, level=level)
        _print_isoflop(result, json_output)
        return
    law = ScalingLaw(form, huber_delta=huber_delta, n_bootstrap=bootstrap, random_state=seed,
                     ci_level=level)
    test = None
    if holdout is None:
        law.fit(table, x=x_names, y=y)
        train = table
    else:
        test = backtest(law, table, x=x_names, y=y, holdout=_parse_holdout(holdout), level=level)
        law = test.law
        train = table.drop(index=test.held_out.index)
    allocation = None
    if budgets:
        allocation = compute_optimal(law, budgets, flop_model=flops_per_param_token)
    if out is not None:
        plot = fit_plot_data(law, train, held_out=None if test is None else test.held_out,
                             flop_model=flops_per_param_token)
        save_fit_figure(plot, out)
    if json_output:
        print(json.dumps(_as_json(law, test, allocation, out), indent=2))
    else:
        _print_tables(law, test, allocation, out)
    # On stderr, so that --json's stdout stays one JSON object (which carries them too).
    for warning in law.warnings_:
        typer.echo(f"warning: {warning}", err=True)


def _print_isoflop(result, json_output: bool) -> None:
    if json_output:
        print(json.dumps({"groups": _records(result.groups), "exponents": _records(result.exponents)}, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
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
        groups.caption = "under N_opt: its 95% interval"
    console.print(groups)
    for row in result.exponents.to_dict(orient="records"):
        interval = f" ({_number(row['ci_low'], 3)} to {_number(row['ci_high'], 3)})" if "ci_low" in row else ""
        what = "N_opt" if row["name"] == "a" else "D_opt"
        console.print(f"{what} ~ C^{row['name']}: {row['name']} = {_number(row['value'], 4)}{interval}")


def _read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read it as CSV: {error}") from None
    table.index += 2  # rows named in messages are the file's 1-based lines (line 1 is the header)
    return table


def _parse_holdout(text: str) -> int | str:
    return int(text) if text.strip().isdigit() else text


def _parse_numbers(text: str, option: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"{option} {text!r}: expected comma-separated numbers") from None


def _finite_or_none(value):
    return value if isinstance(value, (int, float)) and math.isfinite(value) else None


def _records(frame: pd.DataFrame) -> list[dict]:
    return [
        {key: _finite_or_none(value) if isinstance(value, float) else value
         for key, value in row.items()}
        for row in frame.to_dict(orient="records")
    ]


def _as_json(law, test, allocation, out) -> dict:
    result = {
        "form": law.form_.name,
        "formula": law.form_.formula,
        "x": law.x_,
        "y": law.y_,
        "n_points": law.n_points_,
        "n_starts": law.n_starts_,
        "huber_delta": law.huber_delta,
        "objective": law.objective_,
        "params": law.params_,
        "ci": None if law.ci_ is None else {k: list(v) for k, v in law.ci_.items()},
        "ci_level": law.ci_level,
        "n_bootstrap": law.n_bootstrap,
        "seed": law.random_state,
        "diagnostics": law.diagnostics(),
    }
    if test is not None:
        columns = [*law.x_, law.y_, "predicted", "log_error"] + (
            ["low", "high", "inside"] if test.coverage is not None else [])
        result["backtest"] = {
            "n_train": test.n_train,
            "n_test": test.n_test,
            "rmse_log": test.rmse_log,
            "coverage": test.coverage,
            "held_out": _records(test.held_out[columns].astype(object)),
        }
    if allocation is not None:
        result["compute_optimal"] = _records(allocation)
    if out is not None:
        result["figure"] = str(out)
    return result


def _print_tables(law, test, allocation, out) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    params = Table(title=f"{law.form_.name}: {law.form_.formula}", title_justify="left")
    interval = f"{law.ci_level:.0%} CI"
    for column in ("parameter", "value", f"{interval} low", f"{interval} high"):
        params.add_column(column, justify="left" if column == "parameter" else "right")
    for row in law.summary().itertuples():
        params.add_row(row.name, _number(row.value), _number(row.ci_low), _number(row.ci_high))
    console.print(params)
    console.print(
        f"{law.n_points_} rows, {law.n_starts_} starts, objective {law.objective_:.6g}, "
        f"{law.n_bootstrap} bootstrap replicates (seed {law.random_state})"
    )
    if law.form_choice_ is not None:
        scores = ", ".join(f"{name} {_number(score, 3)}" for name, score in law.form_choice_.scores.items())
        console.print(f"form auto chose {law.form_.name}; RMS log error predicting the largest x held out: "
                      f"{scores} ('-': too few rows to score)")
        if law.form_choice_.tied:
            console.print(law.form_choice_.tie_note())
    if test is not None:
        inside = "" if test.coverage is None else (
            f", {int(test.held_out['inside'].sum())}/{test.n_test} inside the "
            f"{test.level:.0%} prediction interval")
        console.print(f"backtest: fitted on {test.n_train} rows, held out {test.n_test}: "
                      f"RMSE of log {law.y_} = {test.rmse_log:.4g}{inside}")
    if allocation is not None:
        console.print(_allocation_table(allocation, law.ci_level))
    if out is not None:
        console.print(f"wrote {out}")


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
            if has_interval:
                low, high = _number(row[name + "_low"], 3), _number(row[name + "_high"], 3)
                text += f"\n{low}-{high}"
            cells.append(text)
        table.add_row(*cells)
    if has_interval:
        table.caption = f"under each value: its {level:.0%} bootstrap interval"
    return table


def _number(value: float, digits: int = 5) -> str:
    """Compact text of a number: 5 significant digits, exponents without '+' or leading 0."""
    if value is None or not math.isfinite(value):
        return "-"
    mantissa, _, exponent = f"{value:.{digits}g}".partition("e")
    return mantissa + (f"e{int(exponent)}" if exponent else "")
