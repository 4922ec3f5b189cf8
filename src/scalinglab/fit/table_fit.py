"""Fit a law to a user's table end to end: the one implementation behind `scalinglab fit`.

A CSV (or a DataFrame) goes in with the columns to fit; out come the fitted law, and, as asked, a
backtest on held-out rows, the compute-optimal allocation at FLOP budgets, an IsoFLOP analysis
(approach 2 of Hoffmann et al. 2022 instead of a law) and a figure. The CLI only prints the
`TableFit`; `TableFit.to_dict` is its JSON.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from scalinglab.errors import UserError
from scalinglab.fit.allocate import allocation_warnings, check_budgets, compute_optimal
from scalinglab.fit.backtest import BacktestResult, backtest
from scalinglab.fit.fitter import DEFAULT_HUBER_DELTA
from scalinglab.fit.isoflop import IsoFlopResult, isoflop_analysis
from scalinglab.fit.law import ScalingLaw
from scalinglab.fit.plot import fit_plot_data, save_fit_figure
from scalinglab.fit.table import BURN_IN, after_burn_in, check_y_not_among_x, derive_columns, filter_rows


@dataclass
class TableFit:
    """What `fit_table` fitted: either a law (with its backtest, allocation and figure when asked)
    or, with `isoflop`, the IsoFLOP analysis alone."""

    law: ScalingLaw | None = None
    backtest: BacktestResult | None = None
    allocation: pd.DataFrame | None = None  # compute-optimal N and D per FLOP budget
    isoflop: IsoFlopResult | None = None
    figure: Path | None = None
    allocation_warnings: list[str] = field(default_factory=list)  # impossible optima, far budgets

    def warnings(self) -> list[str]:
        """The law's warnings (a parameter on its bound, a flat direction, ...), then the allocation's."""
        return (list(self.law.warnings_) if self.law is not None else []) + self.allocation_warnings

    def to_dict(self) -> dict[str, Any]:
        """The fit as JSON-ready data; a number that is not finite becomes None."""
        if self.isoflop is not None:
            return {"groups": finite_records(self.isoflop.groups), "exponents": finite_records(self.isoflop.exponents)}
        law = self.law
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
            "ci": quoted_ci(law),
            "ci_bounded": {name: list(ends) for name, ends in law.ci_bounded().items()},
            "ci_level": law.ci_level,
            "n_bootstrap": law.n_bootstrap,
            "seed": law.random_state,
            "diagnostics": law.diagnostics(),
        }
        if self.backtest is not None:
            test = self.backtest
            columns = [*law.x_, law.y_, "predicted", "log_error"] + (
                ["low", "high", "inside"] if test.coverage is not None else []
            )
            result["backtest"] = {
                "n_train": test.n_train,
                "n_test": test.n_test,
                "rmse_log": test.rmse_log,
                "coverage": test.coverage,
                "held_out": finite_records(test.held_out[columns].astype(object)),
            }
        if self.allocation is not None:
            result["compute_optimal"] = finite_records(self.allocation)
            result["compute_optimal_warnings"] = list(self.allocation_warnings)
        if self.figure is not None:
            result["figure"] = str(self.figure)
        return result


def _check_columns_named(table: pd.DataFrame, source: str, options: list[tuple[str, str | None]]) -> None:
    """Each option's column is one of the table's: else one line naming the option and the file,
    with the nearest column names (not the whole header of a 60-column runs.csv)."""
    for option, column in options:
        if column is None or column in table:
            continue
        near = difflib.get_close_matches(column, [str(name) for name in table.columns], n=3)
        hint = f"; did you mean {' or '.join(near)}?" if near else f" ({len(table.columns)} columns)"
        raise UserError(f"{option} {column}: not a column of {source}{hint}")


def fit_table(
    table: pd.DataFrame | str | Path,
    *,
    x: Sequence[str],
    y: str,
    form: str = "power",
    derive: Sequence[str] = (),
    where: str | None = None,
    holdout: int | str | None = None,
    n_bootstrap: int = 1000,
    random_state: int = 0,
    huber_delta: float = DEFAULT_HUBER_DELTA,
    level: float = 0.95,
    compute: Sequence[float] | None = None,
    flops_per_param_token: float = 6.0,
    isoflop: str | None = None,
    figure: str | Path | None = None,
    groups: str | None = None,
    step: str | None = None,
    burn_in: float = BURN_IN,
    unique_data: float | None = None,
) -> TableFit:
    """Fit `y` against the columns `x` of `table` (a DataFrame, or a CSV file whose rows are
    then named by their line numbers in messages).

    `derive` adds columns ("NAME=EXPRESSION") and `where` keeps rows, before anything else.
    `holdout` backtests: k holds out the k largest values of x[0], a condition such as "N < 1e9"
    fits on the rows where it holds and tests on the others. `compute` (FLOP budgets) asks a
    joint law for its compute-optimal N and D, with C = flops_per_param_token * N * D. `isoflop`
    (the column of training FLOPs) runs the IsoFLOP analysis instead of fitting a law. `figure`
    writes the data, fit and band (PNG, SVG or PDF). `groups` names the column whose values the
    bootstrap resamples whole (the run of each row of a long-format table of training curves);
    `step` (with `groups`) drops each run's first `burn_in` share of steps (`after_burn_in`).
    `unique_data` (laws of N, D, U) is the unique data available to `compute`'s allocation.

    Raises UserError, naming the file, column or option, before fitting when an input is wrong.
    """
    source = f"{table}" if isinstance(table, (str, Path)) else "the table"
    if isinstance(table, (str, Path)):
        table = read_table(Path(table))
    table = derive_columns(table, list(derive))
    options = [("--x", name) for name in x] + [("--y", y), ("--groups", groups), ("--step", step)]
    _check_columns_named(table, source, [*options, ("--isoflop", isoflop)])
    if where:
        kept = filter_rows(table, where, what="--where")
        if kept.empty:
            raise UserError(f"--where {where!r}: holds for none of the table's {len(table)} rows")
        table = kept
    if isoflop is not None and (compute or unique_data is not None):
        raise UserError(
            f"--{'compute' if compute else 'unique-data'}: not with --isoflop, which fits a parabola per compute "
            "group and no law to allocate compute with; drop --isoflop to fit a joint law"
        )
    if unique_data is not None and not compute:
        raise UserError(
            "--unique-data: only with --compute, whose allocation it limits (the unique data a budget may repeat)"
        )
    if compute:
        check_budgets(compute, flops_per_param_token)  # before the fit: a bad budget wastes no work
    if step is None and burn_in != BURN_IN:
        raise UserError(f"--burn-in {burn_in}: needs --step (the column of each evaluation's step) and --groups")
    if step is not None:
        if groups is None:
            raise UserError(
                f"--step {step} needs --groups (the run column): the points of one run's curve "
                "are one piece of evidence, and the bootstrap must resample whole runs"
            )
        table = after_burn_in(table, run=groups, step=step, fraction=burn_in)
    x = list(x)
    if figure is not None and len(x) > 2:
        raise UserError(
            f"--out: figures are drawn for laws of one input or of N,D; --x {','.join(x)} has "
            f"{len(x)} columns (fit without --out)"
        )
    check_y_not_among_x(y, x)
    if isoflop is not None:
        _check_isoflop_options(
            form=form, holdout=holdout, figure=figure, groups=groups, huber_delta=huber_delta, isoflop=isoflop
        )
        return TableFit(
            isoflop=isoflop_analysis(
                table,
                n=x[0],
                loss=y,
                compute=isoflop,
                flop_model=flops_per_param_token,
                n_bootstrap=n_bootstrap,
                random_state=random_state,
                level=level,
            )
        )
    law = ScalingLaw(form, huber_delta=huber_delta, n_bootstrap=n_bootstrap, random_state=random_state, ci_level=level)
    test, train = None, table
    if holdout is None:
        law.fit(table, x=x, y=y, groups=groups)
    else:
        test = backtest(law, table, x=x, y=y, holdout=holdout, level=level, groups=groups)
        law, train = test.law, table.drop(index=test.held_out.index)
    allocation, notes = None, []
    if compute:
        allocation, notes = allocation_warnings(
            law,
            compute_optimal(law, list(compute), flop_model=flops_per_param_token, unique_data=unique_data),
            flops_per_param_token,
        )
    if figure is not None:
        plot = fit_plot_data(
            law, train, held_out=None if test is None else test.held_out, flop_model=flops_per_param_token
        )
        save_fit_figure(plot, figure)
    return TableFit(
        law=law,
        backtest=test,
        allocation=allocation,
        figure=None if figure is None else Path(figure),
        allocation_warnings=notes,
    )


def _check_isoflop_options(*, form: str, holdout, figure, groups, huber_delta: float, isoflop: str) -> None:
    """The IsoFLOP analysis fits a parabola per compute group by least squares: no law, so no
    form, backtest, figure of a law, Huber loss, or resampled groups of rows (its bootstrap
    resamples each group's runs). The default form "power" cannot be told from one given."""
    ignored = {
        "--form": form != "power",
        "--holdout": holdout is not None,
        "--out": figure is not None,
        "--groups": groups is not None,
        "--huber-delta": huber_delta != DEFAULT_HUBER_DELTA,
    }
    for option, given in ignored.items():
        if given:
            raise UserError(
                f"{option}: not with --isoflop {isoflop}, which fits a parabola per compute group and no law; "
                f"drop --isoflop to fit a law with {option}"
            )


def read_table(path: Path) -> pd.DataFrame:
    """The CSV at `path`, its index the file's 1-based line numbers (line 1 is the header), so
    that a message naming rows names the lines to fix. Raises UserError when it cannot be read."""
    if path.is_dir():
        raise UserError(f"{path}: a folder, not a CSV file")
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        table = pd.read_csv(path)
        # A file separated by ";" (a spreadsheet in a locale whose decimal mark is ",") or by tabs
        # reads as one column named "n_params;val_loss": seen, "did you mean n_params;val_loss?".
        separator = next((sep for sep in (";", "\t") if table.shape[1] == 1 and sep in str(table.columns[0])), None)
        if separator is not None:
            table = _read_separated(path, separator, table)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read it as CSV: {error}") from None
    table.index += 2
    return table


def _read_separated(path: Path, separator: str, as_one_column: pd.DataFrame) -> pd.DataFrame:
    """The file read by `separator`, with a decimal comma where ";" separates (such a locale's
    spreadsheets write 0,405); the one-column reading where splitting leaves a column empty (a
    header "loss;note" over plain values is one column with a ";" in its name)."""
    table = pd.read_csv(path, sep=separator)
    if separator == ";" and _numeric_columns(table) < table.shape[1]:
        commas = pd.read_csv(path, sep=separator, decimal=",")
        table = commas if _numeric_columns(commas) > _numeric_columns(table) else table
    return as_one_column if table.isna().all().any() else table


def _numeric_columns(table: pd.DataFrame) -> int:
    return sum(pd.api.types.is_numeric_dtype(dtype) for dtype in table.dtypes)


def finite_records(frame: pd.DataFrame) -> list[dict]:
    """`frame`'s rows as dicts, with None for every number that is not finite (JSON has no nan)."""
    return [
        {key: _finite_or_none(value) if isinstance(value, float) else value for key, value in row.items()}
        for row in frame.to_dict(orient="records")
    ]


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def quoted_ci(law) -> dict[str, list] | None:
    """The parameters' intervals as the terminal quotes them: None where the law has none to quote
    (``ScalingLaw.has_intervals``: no bootstrap, or no more groups than parameters), and null for
    an end the runs do not bound (``ci_bounded``). Seen: --json gave alpha [0.328, 0.464] where
    the terminal said "no 95% CI: 5 resampled groups cannot bound 5 parameters"."""
    if law.ci_ is None or not law.has_intervals:
        return None
    bounded = law.ci_bounded()
    return {
        name: [end if ok else None for end, ok in zip(ends, bounded.get(name, (True, True)))]
        for name, ends in law.ci_.items()
    }
