"""How a planned sweep's answer converged, recomputed from its finished runs.

A planned sweep's choice is a pure function of the told runs and the seed
(``scalinglab.sweeper.planned``), so its rounds need not be stored: starting from nothing told,
ask for a round, tell the measured runs of that round, ask again, and so on, gives the same
rounds the sweep trained, as long as every round finished before the next was asked (the
driver's round-by-round mode) and the candidates, target, form, seed and batch size are the
sweep's. The recomputation stops where the sweep stands: at the first round that asks for a run
not yet measured (nothing further was trained from it), or where the stop rule held.
This module gives the numbers; a report section draws them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scalinglab.plan.planner import INTERVAL_LEVEL, REASON_COLUMN, SCORE_COLUMN, Planner, StopDecision

# A stop rule: given the planner (told the runs so far), whether to stop and the budget left for
# the next ask (None: no cap). The default is Planner.should_stop with a budget in cost units.
StopRule = Callable[[Planner], tuple[StopDecision, float | None]]


# Whether a round's interval may be quoted, and whether its answer is a bound (Planner.answer_row).
ANSWER_FLAGS = ("within_reach", "at_line_end")


@dataclass
class History:
    """rounds: one row per recomputed round: round, n_runs, spent (cost told so far), and once
    the law is fitted the answer row's x, predicted, low, high (95 % interval), within_reach (else
    the interval is not to be quoted) and at_line_end (``Planner.answer_row``).
    chosen: the runs each round chose, index kept: round, plan_score, plan_reason, cost.
    complete: True when the recomputation reached the stop rule (or nothing left to ask), False
    when it stopped at a run not measured (the sweep is still going, or chose differently)."""

    rounds: pd.DataFrame
    chosen: pd.DataFrame
    complete: bool


def recompute_rounds(
    planner: Planner,
    candidates: pd.DataFrame,
    measured: pd.Series,
    k: int,
    *,
    budget: float | None = None,
    tolerance: float | None = None,
    tried: set | None = None,
    rule: StopRule | None = None,
    max_rounds: int = 200,
) -> History:
    """Replay a planned sweep round by round from its measured runs.

    Parameters
    ----------
    planner : Planner
        Built as the sweep built it (x, y, form, target, cost, random_state), nothing told.
    candidates : DataFrame
        The sweep's whole candidate pool (x and cost columns), indexed by run key.
    measured : Series
        y of each run measured, by run key.
    k : int
        Runs per round, as the sweep asked.
    tried : set, optional
        Run keys that were attempted but have no y (failed): a round that chose one of them is
        not stopped by it; like the sweep, later rounds do not offer it again.
    rule : callable, optional
        The sweep's own stop rule and budget left (see ``StopRule``), in place of ``budget`` and
        ``tolerance`` (a planned sweep with a budget in seconds uses its measured seconds).
    """
    if rule is None:

        def rule(planner: Planner) -> tuple[StopDecision, float | None]:
            left = None if budget is None else budget - planner.spent
            return planner.should_stop(tolerance=tolerance, budget=budget), left

    tried = set(tried or ()) | set(measured.index)
    rounds, chosen_tables, told, complete = [], [], [], False
    offered = candidates
    for number in range(1, max_rounds + 1):
        decision, left = rule(planner)
        if decision.stop:
            complete = True
            break
        batch = planner.ask(offered, k, budget=left)
        if batch.empty:
            complete = True
            break
        if not set(batch.index) <= tried:
            break
        offered = offered.drop(index=batch.index)
        told = told + [key for key in batch.index if key in measured.index]
        if told:
            # Told in the candidates' order, as the sweep tells its stored runs: the fit's
            # bootstrap (and so the next choice) may depend on the order of the rows.
            rows = candidates.loc[[key for key in candidates.index if key in set(told)]]
            planner.told = pd.DataFrame()
            planner.tell(rows.assign(**{planner.y: measured.loc[rows.index].to_numpy(dtype=float)}))
        chosen_tables.append(batch.assign(round=number, cost=planner.costs_of(batch)))
        rounds.append(_round_row(planner, number))
    chosen = (
        pd.concat(chosen_tables)
        if chosen_tables
        else candidates.iloc[:0].assign(round=[], cost=[], **{SCORE_COLUMN: [], REASON_COLUMN: []})
    )
    columns = ["round", "n_runs", "spent", *planner.x, "predicted", "low", "high", "level", *ANSWER_FLAGS]
    return History(pd.DataFrame(rounds, columns=columns), chosen, complete)


def _round_row(planner: Planner, number: int) -> dict:
    row = {
        "round": number,
        "n_runs": len(planner.told),
        "spent": planner.spent,
        **dict.fromkeys(planner.x, np.nan),
        "predicted": np.nan,
        "low": np.nan,
        "high": np.nan,
        "level": INTERVAL_LEVEL,
        "within_reach": np.nan,
        "at_line_end": np.nan,
    }
    if planner.law() is not None:
        answer = planner.answer_row()
        row.update({name: float(answer[name]) for name in [*planner.x, "predicted", "low", "high"]})
        row.update({name: bool(answer[name]) for name in ANSWER_FLAGS})
    return row
