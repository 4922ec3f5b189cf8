"""A planned sweep ([plan]): which runs of the grid the next round trains.

The grid (``plan_runs``) is the candidate pool and the store holds what is told, so the choice is
a pure function of the stored runs and the seed: a driver that is killed and started again, or a
second driver on the same store, asks for the same runs (the store's claims keep any run from
being trained twice). Each run's inputs and cost are estimated before training from its family:
``n_params`` and ``train_size`` (samples per epoch), cost = training FLOPs per sample x samples
per epoch x epochs, the same count training records as ``train_flops``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pandas as pd

from scalinglab.config import PlanConfig, SweepConfig
from scalinglab.errors import UserError
from scalinglab.plan import Planner, StopDecision
from scalinglab.run_spec import DataSpec, RunSpec

X = ["n_params", "train_size"]
Y = "val_loss"
COST = "train_flops"


@functools.lru_cache(maxsize=16)
def _task(data: DataSpec, context: int | None):
    from scalinglab.train.loop import run_task

    return run_task(data, {"context": context} if context is not None else {})


def candidate_table(specs: list[RunSpec]) -> pd.DataFrame:
    """One row per spec, indexed by run_key: n_params, train_size and estimated train_flops."""
    from scalinglab.families import get_family

    rows = {}
    for spec in specs:
        if spec.family is None:
            raise UserError("[plan] needs a model family (an objective's runs cannot be sized before training)")
        family, task = get_family(spec.family), _task(spec.data, spec.size.get("context"))
        samples = task.samples_per_epoch
        rows[spec.run_key] = {
            "n_params": float(family.n_params(spec.size, task.shape)),
            "train_size": float(samples),
            COST: family.train_flops_per_sample(spec.size, task.shape) * samples * spec.training.epochs,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


@dataclass
class Round:
    """What a planned sweep decided now: the specs to train, and the stop rule's verdict."""

    specs: list[RunSpec]
    decision: StopDecision
    planner: Planner
    budget: float | None


def budget_of(plan: PlanConfig, table: pd.DataFrame) -> float | None:
    """The FLOP budget: budget_flops, or budget_fraction of the whole grid's; None for neither."""
    if plan.budget_flops is not None:
        return plan.budget_flops
    if plan.budget_fraction is not None:
        return plan.budget_fraction * float(table[COST].sum())
    return None


def next_round(
    config: SweepConfig, planned: list[RunSpec], statuses: dict[str, str], val_losses: dict[str, float], slots: int
) -> Round:
    """The runs the next round trains (none once the stop rule holds or nothing fits)."""
    plan = config.plan
    table = candidate_table(planned)
    target = pd.DataFrame(
        {
            "n_params": [plan.target_n_params or table.n_params.max()],
            "train_size": [plan.target_train_size or table.train_size.max()],
        }
    )
    planner = Planner(X, Y, plan.form, target=target, cost=COST, random_state=plan.seed)
    done = [
        key for key in table.index if statuses.get(key) == "ok" and val_losses.get(key, float("inf")) < float("inf")
    ]
    if done:
        planner.tell(table.loc[done].assign(**{Y: [val_losses[key] for key in done]}))
    budget = budget_of(plan, table)
    decision = planner.should_stop(tolerance=plan.tolerance, budget=budget)
    pending = table.drop(index=[key for key in table.index if key in statuses])
    if decision.stop or pending.empty:
        return Round([], decision, planner, budget)
    left = None if budget is None else budget - planner.spent
    batch = planner.ask(pending, plan.batch or slots, budget=left)
    if batch.empty:
        return Round([], StopDecision(True, f"no run left fits the budget ({left:.4g} FLOPs remain)"), planner, budget)
    chosen = set(batch.index)
    return Round([spec for spec in planned if spec.run_key in chosen], decision, planner, budget)


def plan_status(store, config: SweepConfig, losses: dict[str, float]) -> dict:
    """Where a planned sweep stands: FLOPs spent and budget, the target's current prediction and
    95 % interval (None before the law can be fitted), and the stop rule's verdict. ``losses``:
    run_key -> val_loss of the stored runs (the driver's ``_val_losses``)."""
    from scalinglab.sweeper.plan import plan_runs

    statuses = {run.run_key: run.status for run in store.runs()}
    now = next_round(config, plan_runs(config, losses), statuses, losses, config.plan.batch or 1)
    spent = now.planner.spent
    answer = None
    if now.planner.law() is not None:
        row = now.planner.prediction().iloc[0]
        answer = {name: float(row[name]) for name in ("n_params", "train_size", "predicted", "low", "high")}
    return {
        "spent_flops": spent,
        "budget_flops": now.budget,
        "remaining_flops": None if now.budget is None else max(0.0, now.budget - spent),
        "target": answer or {name: float(now.planner.target[name].iloc[0]) for name in X},
        "fitted": answer is not None,
        "stop": now.decision.stop,
        "reason": now.decision.reason,
        "next": [spec.run_key for spec in now.specs],
    }
