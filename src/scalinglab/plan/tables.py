"""The planner on CSV files: what ``scalinglab plan next`` calls."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from scalinglab.errors import UserError
from scalinglab.fit.table import check_y_not_among_x, numeric_column
from scalinglab.fit.table_fit import read_table
from scalinglab.plan.planner import REASON_COLUMN, SCORE_COLUMN, Planner


@dataclass
class NextBatch:
    """The runs to launch next, and where the answer stands with the runs told so far."""

    batch: pd.DataFrame
    prediction: pd.DataFrame | None
    spent: float
    x: list[str]
    form: str | None = None  # the law fitted to the runs told (form "auto": the one it chose); None before
    warnings: list[str] = field(default_factory=list)  # that law's (flat, rising data, a bound, ...)

    def to_dict(self) -> dict:
        """JSON-ready: every number finite, or null where there is none (an interval not quoted);
        every row has the same keys."""
        return {
            "spent": self.spent,
            "form": self.form,
            "batch": _records(self.batch),
            "prediction": None if self.prediction is None else _records(self.prediction),
            "warnings": list(self.warnings),
        }


def _records(frame: pd.DataFrame) -> list[dict]:
    rows = []
    for label, row in frame.iterrows():
        record = {"index": label if isinstance(label, (int, str)) else str(label)}
        for name, value in row.items():
            if isinstance(value, (int, float, np.integer, np.floating)):
                finite = bool(np.isfinite(value))
                record[str(name)] = (value.item() if hasattr(value, "item") else value) if finite else None
            else:
                record[str(name)] = str(value)
        rows.append(record)
    return rows


def read_csv(path: Path, what: str) -> pd.DataFrame:
    """A CSV file as a table indexed by its line numbers (``read_table``), or a UserError naming
    the option and the file."""
    with naming(what, path):
        return read_table(Path(path))


@contextmanager
def naming(what: str, path: Path):
    """Say which option and file a UserError raised inside is about ("--candidates c.csv: ...")."""
    try:
        yield
    except UserError as error:
        message = str(error)
        raise UserError(f"{what} {message}" if message.startswith(str(path)) else f"{what} {path}: {message}") from None


def parse_target(text: str, x: list[str]) -> pd.DataFrame:
    """Target rows from a CSV path, or from 'N=1e10,D=2e11' (rows separated by ';')."""
    if "=" not in text:
        return read_csv(Path(text), "--target")
    rows = []
    for part in filter(None, (chunk.strip() for chunk in text.split(";"))):
        row = {}
        for assignment in part.split(","):
            name, _, value = assignment.partition("=")
            if name.strip() in row:
                raise UserError(f"--target {text!r}: {name.strip()} is given twice in one row")
            try:
                row[name.strip()] = float(value)
            except ValueError:
                raise UserError(f"--target {text!r}: {assignment!r} is not NAME=NUMBER") from None
        missing = set(x) - set(row)
        if missing:
            raise UserError(f"--target {text!r}: no value for {', '.join(sorted(missing))}")
        rows.append(row)
    return pd.DataFrame(rows, index=pd.RangeIndex(1, len(rows) + 1))  # row 1 is the first given


def next_batch(
    runs: Path,
    candidates: Path,
    *,
    x: list[str],
    y: str,
    target: str,
    k: int = 4,
    form: str = "chinchilla",
    cost: str,
    seed: int = 0,
    strategy: str = "planner",
) -> NextBatch:
    """The k candidates of the CSV ``candidates`` to run next, given the finished ``runs``.

    Candidates that match a finished run on every x column only are still offered (another seed
    of it: seeds are separate rows); a candidate that is a finished run is not (`already_run`).
    """
    check_y_not_among_x(y, x)
    told = read_csv(runs, "RUNS")
    pool = read_csv(candidates, "--candidates")
    for name in x:  # before --target is read, whose rows would otherwise be blamed for a typo here
        for table, what in ((told, f"RUNS {runs}"), (pool, f"--candidates {candidates}")):
            if len(table.columns) and name not in table:
                raise UserError(f"--x {name}: no such column in {what} (it has {', '.join(map(str, table.columns))})")
    pool, left_out = already_run(pool, told, x=x, y=y, cost=cost)
    target_rows = parse_target(target, x)
    with naming("--target", target):
        for name in x:
            numeric_column(target_rows, name)
    planner = Planner(x, y, form, target=target_rows, cost=cost, random_state=seed, strategy=strategy)
    if len(told):
        # Labelled by file and line: a label identifies a run, and the candidates' lines are labels too.
        with naming("RUNS", runs):
            planner.tell(told.set_index(pd.Index([f"{Path(runs).name}:{line}" for line in told.index])))
    with naming("--candidates", candidates):
        for name in x:
            numeric_column(pool, name)
        planner.costs_of(pool)
    # Every candidate finished: no batch, and the answer still read off the runs told.
    batch = planner.ask(pool, k) if len(pool) else pool.assign(**{SCORE_COLUMN: [], REASON_COLUMN: []})
    law = planner.law()
    if law is None:
        return NextBatch(batch, None, planner.spent, x, warnings=left_out)
    prediction, beyond = quoted_prediction(planner.prediction(), law)
    return NextBatch(batch, prediction, planner.spent, x, law.form_.name, left_out + law.warnings_ + beyond)


def already_run(
    pool: pd.DataFrame, told: pd.DataFrame, *, x: list[str], y: str, cost: str
) -> tuple[pd.DataFrame, list[str]]:
    """The candidates that are not finished runs, and a warning naming those left out: a row with
    its y measured, or one equal to a row of RUNS on every column both files have, where those
    name more than the inputs and cost (a seed, a run id: otherwise it may be another seed). Seen:
    a candidates file that was a copy of RUNS had its finished runs proposed again."""
    measured = pd.to_numeric(pool[y], errors="coerce").notna() if y in pool else pd.Series(False, index=pool.index)
    shared = [name for name in pool.columns if name in told.columns and name != y]
    same_run = pd.Series(False, index=pool.index)
    if set(shared) - {*x, cost} and len(told):
        keys = told[shared].astype(str).agg("\x1f".join, axis=1)
        same_run = pool[shared].astype(str).agg("\x1f".join, axis=1).isin(set(keys))
    finished = measured | same_run
    if not finished.any():
        return pool, []
    lines = ", ".join(map(str, pool.index[finished][:5])) + (", ..." if finished.sum() > 5 else "")
    return pool[~finished], [
        f"candidates that are finished runs (a measured {y}, or a row of RUNS), left out: line {lines}"
    ]


def quoted_prediction(prediction: pd.DataFrame, law) -> tuple[pd.DataFrame, list[str]]:
    """The planner's prediction table as a person reads it: no interval where the target lies
    beyond the law's reach (``ScalingLaw.within_reach``) or the law has none to quote
    (``ScalingLaw.has_intervals``), and one warning saying why."""
    beyond = ~prediction.pop("within_reach").to_numpy(bool)
    if not beyond.any():
        return prediction, []
    prediction.loc[beyond, ["low", "high"]] = np.nan
    if not law.has_intervals:
        return prediction, [
            f"no interval is quoted: the runs hold {law.n_groups_} sizes to resample for the "
            f"{law.form_.n_params} parameters of the {law.form_.name} law, so its bootstrap can barely vary; "
            "runs at more sizes would give one"
        ]
    limits = ", ".join(
        f"{factor:.3g}x below their fewest {name}" if " per " in name else f"{factor:.3g}x beyond them in {name}"
        for name, factor in law.reach_factors().items()
    )
    labels = ", ".join(map(str, prediction.index[beyond]))
    quoted = (
        f"intervals are quoted up to {limits}; runs nearer the target would extend that reach (the batch "
        "is chosen by the gain per unit cost, which may favour cheaper runs)"
        if limits
        else "no backtest could measure that error (too few sizes), so intervals are quoted inside the runs only"
    )
    return prediction, [
        f"target {labels}: farther beyond the runs than the law's error was measured, so no interval is quoted "
        f"there and the prediction is the law's alone ({quoted})"
    ]
