"""The planner on CSV files: what ``scalinglab plan next`` calls."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from scalinglab.errors import UserError
from scalinglab.plan.planner import Planner


@dataclass
class NextBatch:
    """The runs to launch next, and where the answer stands with the runs told so far."""

    batch: pd.DataFrame
    prediction: pd.DataFrame | None
    spent: float
    x: list[str]

    def to_dict(self) -> dict:
        """JSON-ready: every number finite (or the key left out)."""
        return {
            "spent": self.spent,
            "batch": _records(self.batch),
            "prediction": None if self.prediction is None else _records(self.prediction),
        }


def _records(frame: pd.DataFrame) -> list[dict]:
    rows = []
    for label, row in frame.iterrows():
        record = {"index": label if isinstance(label, (int, str)) else str(label)}
        for name, value in row.items():
            if isinstance(value, (int, float, np.integer, np.floating)):
                if np.isfinite(value):
                    record[str(name)] = value.item() if hasattr(value, "item") else value
            else:
                record[str(name)] = str(value)
        rows.append(record)
    return rows


def read_csv(path: Path, what: str) -> pd.DataFrame:
    """A CSV file as a table, or a UserError naming the option."""
    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise UserError(f"{what} {str(path)!r}: no such file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise UserError(f"{what} {str(path)!r}: not a readable CSV ({error})") from None


def parse_target(text: str, x: list[str]) -> pd.DataFrame:
    """Target rows from a CSV path, or from 'N=1e10,D=2e11' (rows separated by ';')."""
    if "=" not in text:
        return read_csv(Path(text), "--target")
    rows = []
    for part in filter(None, (chunk.strip() for chunk in text.split(";"))):
        row = {}
        for assignment in part.split(","):
            name, _, value = assignment.partition("=")
            try:
                row[name.strip()] = float(value)
            except ValueError:
                raise UserError(f"--target {text!r}: {assignment!r} is not NAME=NUMBER") from None
        missing = set(x) - set(row)
        if missing:
            raise UserError(f"--target {text!r}: no value for {', '.join(sorted(missing))}")
        rows.append(row)
    return pd.DataFrame(rows)


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

    Candidates that match a finished run on every x column and are not a second seed of it are
    still offered (seeds are separate rows): drop rows from the candidates file once launched.
    """
    told = read_csv(runs, "RUNS")
    pool = read_csv(candidates, "--candidates")
    planner = Planner(x, y, form, target=parse_target(target, x), cost=cost, random_state=seed, strategy=strategy)
    if len(told):
        planner.tell(told.set_index(pd.Index([f"told-{i}" for i in range(len(told))])))
    batch = planner.ask(pool, k)
    prediction = planner.prediction() if planner.law() is not None else None
    return NextBatch(batch, prediction, planner.spent, x)
