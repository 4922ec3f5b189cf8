"""Backtest: fit on a subset, predict the rest, and say how far off and how often inside.

The held-out rows are the largest model sizes (``holdout=k``: the k largest distinct values
of the first x column) or the rows outside a condition (``holdout="N < 1e9"`` fits on the rows
where it holds), so the test is one of extrapolation, the use a scaling law is for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd

from scalinglab.errors import UserError
from scalinglab.fit.table import as_column_list, filter_rows, numeric_column


@dataclass(frozen=True)
class BacktestResult:
    """Outcome of :func:`backtest`.

    Attributes
    ----------
    law : ScalingLaw
        The law fitted on the training rows.
    held_out : DataFrame
        The held-out rows with ``predicted``, ``log_error`` (log predicted - log observed) and,
        with a bootstrap, ``low`` / ``high`` (prediction interval) and ``inside``.
    rmse_log : float
        Root mean square of ``log_error`` over the held-out rows.
    coverage : float or None
        Fraction of held-out rows inside their interval; None without bootstrap.
    level : float
        Nominal coverage of the intervals.
    n_train : int
        Rows the law was fitted on.
    """

    law: object
    held_out: pd.DataFrame
    rmse_log: float
    coverage: float | None
    level: float
    n_train: int

    @property
    def n_test(self) -> int:
        """Number of held-out rows."""
        return len(self.held_out)


def training_rows(data: pd.DataFrame, size_column: str, holdout: int | str) -> np.ndarray:
    """The cut of a backtest: True on the rows fitted on, False on the held-out ones, for
    ``holdout`` = k largest sizes (all rows of a size go together) or a training condition.

    Parameters
    ----------
    data : DataFrame
        All rows.
    size_column : str
        Column whose largest distinct values are held out when ``holdout`` is an int.
    holdout : int or str
        k >= 1, or a condition such as ``"N < 1e9"`` that selects the training rows.

    Raises
    ------
    UserError
        A k that is not a positive whole number or would hold out every size, a bad condition,
        or a cut that leaves no row to test on or none to fit on.
    """
    if isinstance(holdout, str):
        kept = filter_rows(data, holdout, what=f"holdout {holdout!r}")
        train = data.index.isin(kept.index)
    else:
        if int(holdout) != holdout or holdout < 1:
            raise UserError(f"holdout must be a number of sizes >= 1 or a condition, got {holdout!r}")
        sizes = numeric_column(data, size_column)
        distinct = np.unique(sizes)
        if holdout >= len(distinct):
            raise UserError(
                f"holdout {holdout} would hold out every size: column {size_column!r} has only "
                f"{len(distinct)} distinct values"
            )
        train = ~(sizes >= distinct[-int(holdout)])
    if train.all():
        raise UserError(f"holdout {holdout!r} leaves no row to test on")
    if not train.any():
        raise UserError(f"holdout {holdout!r} leaves no row to fit on: it holds for none of the {len(data)} rows")
    return np.asarray(train, dtype=bool)


def split_holdout(data: pd.DataFrame, size_column: str, holdout: int | str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training rows, held-out rows) of the cut `training_rows` makes (same arguments and errors)."""
    train = training_rows(data, size_column, holdout)
    return data[train], data[~train]


Model = TypeVar("Model")


def predict_held_out(
    train: np.ndarray,
    fit: Callable[[np.ndarray], Model],
    predict: Callable[[Model, np.ndarray], np.ndarray],
) -> tuple[Model, np.ndarray]:
    """The one backtest: fit on the rows `train` marks, predict the others.

    Every backtest of a law goes through here and differs only in its cut and its score:
    :func:`backtest` (the k largest sizes or a condition, `training_rows`; RMS log error and
    coverage), form="auto" (``fit.select``: the last factor r of the x range,
    ``fit.intervals.rows_below_cut``; RMS log error over several cuts) and the report's
    ``analysis.groups.backtest_largest`` (the largest size; relative error of its seed mean).

    Parameters
    ----------
    train : ndarray of bool
        True on the rows fitted on (those below the cut of the first input).
    fit : callable
        ``fit(train)``: the model fitted on the rows of the mask it is given.
    predict : callable
        ``predict(model, held_out)``: its predictions at the rows of the mask it is given.

    Returns
    -------
    (model, predictions at the held-out rows, in row order)
    """
    fitted = fit(train)
    return fitted, predict(fitted, ~train)


def backtest(
    law,
    data: pd.DataFrame,
    *,
    x: str | Sequence[str],
    y: str,
    holdout: int | str = 1,
    level: float = 0.95,
    groups: str | None = None,
) -> BacktestResult:
    """Fit a copy of ``law`` on part of ``data`` and score its predictions on the rest.

    Parameters
    ----------
    law : ScalingLaw
        Its options are used (form, Huber delta, bootstrap, seed); it is not modified.
    data : DataFrame
        All rows.
    x, y : column names
        As for :meth:`ScalingLaw.fit`; the first x column defines "size" for ``holdout=k``.
    holdout : int or str
        The k largest sizes, or a condition selecting the training rows (``"N < 1e9"``).
    level : float
        Coverage of the prediction intervals checked.
    groups : str, optional
        Column whose values the bootstrap resamples whole (as for :meth:`ScalingLaw.fit`).
    """
    x_names = as_column_list(x)
    train = training_rows(data, x_names[0], holdout)
    fitted, predicted = predict_held_out(
        train,
        lambda rows: law.clone().fit(data[rows], x=x_names, y=y, groups=groups),
        lambda fitted, rows: fitted.predict(data[rows]),
    )
    test = data[~train]
    observed = numeric_column(test, y)
    held_out = test.copy()
    held_out["predicted"] = predicted
    held_out["log_error"] = np.log(predicted) - np.log(observed)
    coverage = None
    if fitted.has_intervals:
        low, high = fitted.predict_interval(test, level, kind="prediction")
        held_out["low"], held_out["high"] = low, high
        held_out["inside"] = (low <= observed) & (observed <= high)
        coverage = float(held_out["inside"].mean())
    rmse = float(np.sqrt(np.mean(held_out["log_error"] ** 2)))
    return BacktestResult(fitted, held_out, rmse, coverage, level, int(train.sum()))
