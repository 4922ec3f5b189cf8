"""Turning a user's table into the arrays a fit needs, with one clear error per problem.

Every check raises :class:`scalinglab.errors.UserError` whose message names the column and,
where it helps, the first offending rows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from scalinglab.errors import UserError

_MAX_ROWS_NAMED = 5
# Fraction of each run's steps (or tokens) dropped as burn-in when its curve is fitted: Choshen,
# Zhang and Andreas (2025, "A Hitchhiker's Guide to Scaling Law Estimation") find that fitting
# intermediate checkpoints helps once the earliest ones are left out.
BURN_IN = 0.2


def as_column_list(x: str | Sequence[str]) -> list[str]:
    """Column names as a list: one name, or a sequence of names. Raises UserError when a name is
    given twice (a law of N and N fits one input as two)."""
    names = [x] if isinstance(x, str) else list(x)
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise UserError(f"x lists {', '.join(map(repr, repeated))} twice; each input column must differ")
    return names


def check_y_not_among_x(y: str, x: Sequence[str]) -> None:
    """Raise UserError (naming --y and --x) where the measured column is also an input: a law of a
    column against itself fits nothing."""
    if y in x:
        raise UserError(
            f"--y {y}: also an input column in --x {','.join(x)}; a law of a column against itself fits nothing"
        )


def named_rows(frame: pd.DataFrame, mask: np.ndarray) -> str:
    """The rows of ``mask`` by their labels (a file's line numbers): "row 5", "rows 5, 6 and 2 more"."""
    labels = [str(label) for label in frame.index[mask][:_MAX_ROWS_NAMED]]
    more = int(mask.sum()) - len(labels)
    return ("row " if int(mask.sum()) == 1 else "rows ") + ", ".join(labels) + (f" and {more} more" if more > 0 else "")


def numeric_column(frame: pd.DataFrame, name: str, *, positive: bool = True) -> np.ndarray:
    """One column as float64, checked: present, numeric, no NaN or inf, and > 0 if asked.

    Parameters
    ----------
    frame : DataFrame
        The user's table.
    name : str
        Column name.
    positive : bool
        Require every value > 0 (the fit takes logs of x and y).
    """
    if name not in frame.columns:
        available = ", ".join(repr(str(c)) for c in frame.columns)
        raise UserError(f"column {name!r} not found; the table has {available}")
    column = frame[name]
    if column.dtype == bool or not pd.api.types.is_numeric_dtype(column):
        numbers = pd.to_numeric(column, errors="coerce")
        bad = numbers.isna().to_numpy() & column.notna().to_numpy()
        if bad.any():
            first = column[bad].iloc[0]
            raise UserError(f"column {name!r} is not numeric: {named_rows(frame, bad)} ({first!r} first)")
        column = numbers
    values = column.to_numpy(dtype=float)
    missing = np.isnan(values)
    if missing.any():
        count = int(missing.sum())
        raise UserError(
            f"column {name!r} has {count} missing (NaN) value{'s' if count != 1 else ''}, at "
            f"{named_rows(frame, missing)}; drop or fill them first"
        )
    infinite = np.isinf(values)
    if infinite.any():
        raise UserError(f"column {name!r} has infinite values at {named_rows(frame, infinite)}")
    if positive and (values <= 0).any():
        bad = values <= 0
        raise UserError(
            f"column {name!r} must be > 0 because the fit takes its log; it is <= 0 at {named_rows(frame, bad)}"
        )
    return values


def log_design(
    frame: pd.DataFrame, x: Sequence[str], y: str | None, *, n_inputs: int, form_name: str
) -> tuple[np.ndarray, np.ndarray | None]:
    """Log inputs (n, d) and log target (n,) of a table, after every input check.

    Parameters
    ----------
    frame : DataFrame
        The user's table.
    x : sequence of str
        Input column names, in the order the form takes them.
    y : str or None
        Target column name; None when only inputs are needed (prediction).
    n_inputs : int
        How many inputs the form takes.
    form_name : str
        Used in the error message when ``x`` has the wrong length.
    """
    if not isinstance(frame, pd.DataFrame):
        raise UserError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    if len(x) != n_inputs:
        raise UserError(f"form {form_name!r} takes {n_inputs} x column(s), got {len(x)}: {', '.join(x)}")
    if len(frame) == 0:
        raise UserError("the table has no rows")
    log_x = np.log(np.column_stack([numeric_column(frame, name) for name in x]))
    log_y = None if y is None else np.log(numeric_column(frame, y))
    return log_x, log_y


def log_inputs_of_array(values, n_inputs: int) -> np.ndarray:
    """Log inputs (n, d) from an array: shape (n,) for one input, (n, d) for d inputs."""
    array = np.asarray(values, dtype=float)
    if n_inputs == 1 and array.ndim <= 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2 or array.shape[1] != n_inputs:
        raise UserError(f"expected inputs of shape (n, {n_inputs}), got {array.shape}")
    if not np.isfinite(array).all() or (array <= 0).any():
        raise UserError("inputs must be finite and > 0 (the fit works on their log)")
    return np.log(array)


_DEFINITION = re.compile(r"^\s*([^=]+?)\s*=(?!=)\s*(.+)$")


def derive_columns(frame: pd.DataFrame, definitions: Sequence[str]) -> pd.DataFrame:
    """Add columns defined as ``NAME=EXPRESSION`` over existing columns, in order.

    The expression is evaluated by :meth:`pandas.DataFrame.eval` (arithmetic, comparisons,
    ``log``/``exp``/``sqrt``; no function calls beyond those). Column names with spaces may be
    written as they are (``D=Training FLOP/(6*Model Size)``) or in backticks; a later
    definition may use an earlier one. Plain renaming is ``N=Model Size``.

    Parameters
    ----------
    frame : DataFrame
        The table; it is not modified.
    definitions : sequence of str
        ``NAME=EXPRESSION`` strings.
    """
    result = frame.copy()
    for definition in definitions:
        match = _DEFINITION.match(definition)
        if not match:
            raise UserError(f"--derive {definition!r}: expected NAME=EXPRESSION")
        name, expression = match.group(1), match.group(2)
        result[name] = evaluate_expression(result, expression, what=f"--derive {definition!r}")
    return result


def filter_rows(frame: pd.DataFrame, condition: str, *, what: str) -> pd.DataFrame:
    """Rows of ``frame`` where the boolean expression ``condition`` holds (e.g. ``N < 1e9``)."""
    mask = evaluate_expression(frame, condition, what=what)
    if not (pd.api.types.is_bool_dtype(mask) and getattr(mask, "shape", None) == (len(frame),)):
        raise UserError(f"{what}: {condition!r} is not a condition on the rows (e.g. 'N < 1e9')")
    return frame[np.asarray(mask, dtype=bool)]


def evaluate_expression(frame: pd.DataFrame, expression: str, *, what: str):
    """Evaluate a pandas expression over the columns; any failure is one UserError line."""
    try:
        return frame.eval(_quote_column_names(frame, expression), engine="python")
    except Exception as error:  # pandas raises many types for a bad expression
        raise UserError(f"{what}: cannot evaluate {expression!r}: {error}") from None


def _quote_column_names(frame: pd.DataFrame, expression: str) -> str:
    """Wrap column names that are not Python identifiers in backticks, longest first."""
    awkward = sorted((str(c) for c in frame.columns if not str(c).isidentifier()), key=len, reverse=True)
    if not awkward:
        return expression
    # Split off already backticked parts so they are left alone.
    pieces = re.split(r"(`[^`]*`)", expression)
    pattern = re.compile("|".join(re.escape(name) for name in awkward))
    return "".join(
        piece if piece.startswith("`") else pattern.sub(lambda m: f"`{m.group(0)}`", piece) for piece in pieces
    )


def after_burn_in(frame: pd.DataFrame, *, run: str, step: str, fraction: float = BURN_IN) -> pd.DataFrame:
    """The rows of a long-format table (one row per evaluation of each run) past each run's
    burn-in: those whose ``step`` exceeds ``fraction`` times the largest step of their run.

    A run's last evaluation is always kept. Its points are not independent evidence: fit them with
    ``groups=run`` so that the bootstrap resamples whole runs.

    Parameters
    ----------
    frame : DataFrame
    run : str
        Column naming the run of each row.
    step : str
        Column of the step, tokens or examples seen at each evaluation (>= 0).
    fraction : float
        In [0, 1): the share of each run's steps dropped (default ``BURN_IN``).

    Raises
    ------
    UserError
        A missing column, a step that is not a number >= 0, or a fraction outside [0, 1).
    """
    if not (np.isfinite(fraction) and 0 <= fraction < 1):
        raise UserError(f"burn_in must be a fraction in [0, 1) of each run's steps, got {fraction}")
    if run not in frame.columns:
        raise UserError(f"run column {run!r} not found; the table has {', '.join(repr(str(c)) for c in frame.columns)}")
    try:
        steps = numeric_column(frame, step, positive=False)
    except UserError as error:  # named by the option that chose the column
        raise UserError(f"step {step!r}: {error}") from None
    if (steps < 0).any():
        raise UserError(f"step {step!r}: the steps must be >= 0; they are not at {named_rows(frame, steps < 0)}")
    last = pd.Series(steps, index=frame.index).groupby(frame[run].astype(str).to_numpy()).transform("max").to_numpy()
    return frame[(steps > fraction * last) | (steps == last)]
