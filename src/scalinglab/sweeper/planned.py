"""A planned sweep ([plan]): which runs of the grid the next round trains.

The grid (``plan_runs``) is the candidate pool and the store holds what is told, so the choice is
a pure function of the stored runs and the seed: a driver that is killed and started again, or a
second driver on the same store, asks for the same runs (the store's claims keep any run from
being trained twice). Each run's inputs and cost are estimated before training from its family:
``n_params`` and ``train_size`` (samples per epoch), cost = training FLOPs per sample x samples
per epoch x epochs, the same count training records as ``train_flops``.

The target is a point (``target_n_params``, ``target_train_size``), or with ``target_compute`` the
iso-FLOP line of that budget (``target_rows``), whose lowest predicted loss is the answer. A
budget in seconds (``budget_seconds``) is spent by the runs' measured ``train_seconds``; the runs
not yet trained are costed in seconds from their FLOPs at the seconds per FLOP of the runs so far
(``stop_rule``).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scalinglab.config import PlanConfig, SweepConfig
from scalinglab.errors import UserError
from scalinglab.plan import History, Planner, StopDecision, recompute_rounds
from scalinglab.run_spec import DataSpec, RunSpec

X = ["n_params", "train_size"]
Y = "val_loss"
COST = "train_flops"
SECONDS = "train_seconds"
CONFIGURATION = "configuration"  # a run's size and data size: the groups the planner's bootstrap resamples
# A compute target's iso-FLOP line: this many points, log-spaced over this many decades of model
# size either side of the point whose size/data ratio is the grid's geometric mean ratio.
ISO_FLOP_POINTS = 21
ISO_FLOP_DECADES = 1.0


@functools.lru_cache(maxsize=16)
def _task(data: DataSpec, context: int | None):
    from scalinglab.train.loop import run_task

    return run_task(data, {"context": context} if context is not None else {})


def candidate_table(specs: list[RunSpec]) -> pd.DataFrame:
    """One row per spec, indexed by run_key: n_params, train_size, estimated train_flops, and
    the configuration (CONFIGURATION: its size and data size; its seeds share one)."""
    from scalinglab.families import get_family

    rows = {}
    for spec in specs:
        if spec.family is None:
            raise UserError("[plan] needs a model family (an objective's runs cannot be sized before training)")
        family, task = get_family(spec.family), _task(spec.data, spec.size.get("context"))
        samples = task.samples_per_epoch
        n_params = float(family.n_params(spec.size, task.shape))
        rows[spec.run_key] = {
            "n_params": n_params,
            "train_size": float(samples),
            COST: family.train_flops_per_sample(spec.size, task.shape) * samples * spec.training.epochs,
            CONFIGURATION: f"{n_params:g} x {samples}",
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
    """The FLOP budget: budget_flops, or budget_fraction of the whole grid's; None for neither
    (nor with budget_seconds, which ``stop_rule`` applies)."""
    if plan.budget_flops is not None:
        return plan.budget_flops
    if plan.budget_fraction is not None:
        return plan.budget_fraction * float(table[COST].sum())
    return None


def available_train_size(specs: list[RunSpec]) -> float:
    """The most training samples per epoch the grid's data could give (every example available):
    a target beyond it names data that does not exist."""
    return max(
        float(_task(spec.data.model_copy(update={"train_size": None}), spec.size.get("context")).samples_per_epoch)
        for spec in specs
    )


def check_target(plan: PlanConfig, table: pd.DataFrame, available: float) -> None:
    """Raise UserError, naming the [plan] field, for a target no run could be: more data than the
    data has (seen: target_train_size = 1e9 on digits' 1,437 examples), or a compute budget whose
    iso-FLOP line holds no model of 1+ parameter on 1+ example of the data (seen: target_compute =
    1 answered 'n_params = 5.87, train_size = 0.0136')."""
    if plan.target_train_size is not None and plan.target_train_size > available:
        raise UserError(
            f"plan.target_train_size: {plan.target_train_size:g} is more than the {available:g} training samples "
            "the data has"
        )
    if plan.target_compute is not None and target_rows(plan, table, available).empty:
        raise UserError(
            f"plan.target_compute: {plan.target_compute:g} FLOPs buys no model of 1+ parameter trained on 1 to "
            f"{available:g} samples of this data (the grid's runs cost {table[COST].min():.3g} to "
            f"{table[COST].max():.3g} FLOPs)"
        )


def target_rows(plan: PlanConfig, table: pd.DataFrame, available: float = np.inf) -> pd.DataFrame:
    """Where the answer is wanted: one row (n_params, train_size), each left out the grid's
    largest; or, with target_compute, ISO_FLOP_POINTS rows on that budget's iso-FLOP line.

    The line: a run's FLOPs are taken as k N D, with k the grid's median train_flops / (n_params x
    train_size) (FLOPs per parameter per example, epochs included; 6 x epochs for a transformer,
    Kaplan et al. 2020), so D = C / (k N); N is log-spaced ISO_FLOP_DECADES either side of the
    point where N / D is the grid's geometric mean ratio. The answer is the row of lowest
    predicted loss (Planner answer "lowest"): the compute-optimal size and data size.
    """
    if plan.target_compute is None:
        return pd.DataFrame(
            {
                "n_params": [plan.target_n_params or table.n_params.max()],
                "train_size": [plan.target_train_size or table.train_size.max()],
            }
        )
    per_param_example = float(np.median(table[COST] / (table.n_params * table.train_size)))
    ratio = float(np.exp(np.mean(np.log(table.n_params / table.train_size))))
    center = np.sqrt(plan.target_compute * ratio / per_param_example)
    n = center * np.logspace(-ISO_FLOP_DECADES, ISO_FLOP_DECADES, ISO_FLOP_POINTS)
    line = pd.DataFrame({"n_params": n, "train_size": plan.target_compute / (per_param_example * n)})
    # Only points that can exist: a model of 1+ parameter on 1 to `available` samples.
    possible = (line.n_params >= 1) & (line.train_size >= 1) & (line.train_size <= available)
    return line[possible].reset_index(drop=True)


def make_planner(plan: PlanConfig, table: pd.DataFrame, available: float) -> Planner:
    """The planner as a planned sweep builds it: nothing told yet (the target checked first:
    `check_target`; `available`: `available_train_size`)."""
    check_target(plan, table, available)
    answer = "first" if plan.target_compute is None else "lowest"
    target = target_rows(plan, table, available)
    # The bootstrap resamples configurations, as the sweep's joint law does (analysis.joint): by
    # size alone, a grid of 4 widths could never bound the 5 parameters of a joint form. The
    # extrapolation term: the sweep answers with a recommendation, which names no size larger
    # than it trained, so runs near the target count (benchmarks/planned_grid.py: without it the
    # planner never trained the grid's largest width within 30 % of its FLOPs).
    return Planner(
        X,
        Y,
        plan.form,
        target=target,
        cost=COST,
        random_state=plan.seed,
        answer=answer,
        groups=CONFIGURATION,
        extrapolation_term=True,
    )


def measured_table(
    table: pd.DataFrame, statuses: dict[str, str], val_losses: dict[str, float], seconds: dict[str, float]
) -> pd.DataFrame:
    """The candidate table with val_loss and train_seconds of the runs stored ok with a finite
    loss (NaN for the others)."""

    def measured(key: str, values: dict[str, float]) -> float:
        ok = statuses.get(key) == "ok" and np.isfinite(val_losses.get(key, np.inf))
        return float(values.get(key, np.nan)) if ok else np.nan

    return table.assign(
        **{
            Y: [measured(key, val_losses) for key in table.index],
            SECONDS: [measured(key, seconds) for key in table.index],
        }
    )


def seconds_per_flop(told: pd.DataFrame) -> float | None:
    """Measured train_seconds per estimated training FLOP of the runs told (a ratio of sums, so
    each run weighs by its cost); None before any run with a measured time."""
    if told.empty or SECONDS not in told:
        return None
    timed = told[np.isfinite(told[SECONDS].to_numpy(dtype=float))]
    total = float(timed[SECONDS].sum())
    return total / float(timed[COST].sum()) if total > 0 else None


def stop_rule(plan: PlanConfig, table: pd.DataFrame):
    """The sweep's stop rule (``scalinglab.plan.history.StopRule``): given the planner told the
    runs so far, whether to stop, and the FLOPs the next ask may spend.

    budget_seconds: stop once the told runs' measured train_seconds reach it; the next round may
    spend the seconds left, converted to FLOPs at the seconds per FLOP of the runs so far
    (``seconds_per_flop``), i.e. each candidate's seconds are estimated as its FLOPs times that
    rate. Before any run is measured the first round is not capped (no rate is known yet): it is
    the starting design, drawn from the cheapest half of the grid.
    """
    budget = budget_of(plan, table)

    def rule(planner: Planner) -> tuple[StopDecision, float | None]:
        if plan.budget_seconds is None:
            left = None if budget is None else budget - planner.spent
            return planner.should_stop(tolerance=plan.tolerance, budget=budget), left
        spent = float(np.nansum(planner.told[SECONDS])) if len(planner.told) else 0.0
        if spent >= plan.budget_seconds:
            return StopDecision(True, f"budget spent: {spent:.4g} of {plan.budget_seconds:.4g} training seconds"), 0.0
        rate = seconds_per_flop(planner.told)
        left = None if rate is None else (plan.budget_seconds - spent) / rate
        return planner.should_stop(tolerance=plan.tolerance), left

    return rule


def next_round(
    config: SweepConfig,
    planned: list[RunSpec],
    statuses: dict[str, str],
    val_losses: dict[str, float],
    slots: int,
    seconds: dict[str, float] | None = None,
) -> Round:
    """The runs the next round trains (none once the stop rule holds or nothing fits).
    ``seconds``: run_key -> measured train_seconds (needed by budget_seconds)."""
    plan = config.plan
    table = measured_table(candidate_table(planned), statuses, val_losses, seconds or {})
    planner = make_planner(plan, table, available_train_size(planned))
    done = table.index[table[Y].notna()]
    if len(done):
        planner.tell(table.loc[done])
    budget = budget_of(plan, table)
    decision, left = stop_rule(plan, table)(planner)
    pending = table.drop(index=[key for key in table.index if key in statuses], columns=[Y, SECONDS])
    if decision.stop or pending.empty:
        return Round([], decision, planner, budget)
    batch = planner.ask(pending, plan.batch or slots, budget=left)
    if batch.empty:
        return Round([], StopDecision(True, f"no run left fits the budget ({left:.4g} FLOPs remain)"), planner, budget)
    chosen = set(batch.index)
    return Round([spec for spec in planned if spec.run_key in chosen], decision, planner, budget)


def measured_seconds(store) -> dict[str, float]:
    """run_key -> train_seconds of every stored run that recorded it."""
    return {run.run_key: float(run.metrics[SECONDS]) for run in store.runs() if SECONDS in run.metrics}


def measured_at(told: pd.DataFrame, n_params: float, train_size: float) -> dict:
    """``measured`` (the mean val_loss) and ``n_measured`` of the told runs at this configuration;
    {} where none was trained: a plan that trained its target answers with the law, and its
    measurement (0.405 beside the law's 1.146) belongs next to it."""
    if not len(told):
        return {}
    here = told[np.isclose(told["n_params"], n_params) & np.isclose(told["train_size"], train_size)]
    return {"measured": float(here[Y].mean()), "n_measured": len(here)} if len(here) else {}


def measured_words(at: dict) -> str:
    """``measured_at``'s answer as a person reads it beside the law's ("measured there 0.405 (mean
    of 1 run)"); "" where the target was not trained."""
    if not at:
        return ""
    runs = at["n_measured"]
    return f"measured there {at['measured']:.4g} (mean of {runs} run{'s' if runs != 1 else ''})"


def plan_status(store, config: SweepConfig, losses: dict[str, float]) -> dict:
    """Where a planned sweep stands: FLOPs spent and budget (training seconds with
    budget_seconds), the target's current prediction and 95 % interval (None before the law can
    be fitted; the optimum's size and data size with target_compute), and the stop rule's
    verdict. ``losses``: run_key -> val_loss of the stored runs (the driver's ``_val_losses``)."""
    from scalinglab.sweeper.plan import plan_runs

    statuses = {run.run_key: run.status for run in store.runs()}
    seconds = measured_seconds(store)
    now = next_round(config, plan_runs(config, losses), statuses, losses, config.plan.batch or 1, seconds)
    spent = now.planner.spent
    answer = None
    if now.planner.law() is not None:
        row = now.planner.answer_row()
        answer = {name: float(row[name]) for name in ("n_params", "train_size", "predicted", "low", "high")}
        answer["within_reach"] = bool(row["within_reach"])  # else its interval is not quoted (ScalingLaw.within_reach)
        answer["at_line_end"] = bool(row["at_line_end"])  # a bound on the optimum, not the optimum
        answer.update(measured_at(now.planner.told, answer["n_params"], answer["train_size"]))
    status = {
        "spent_flops": spent,
        "budget_flops": now.budget,
        "remaining_flops": None if now.budget is None else max(0.0, now.budget - spent),
        "target": answer or {name: float(now.planner.target[name].iloc[0]) for name in X},
        "target_compute": config.plan.target_compute,
        "fitted": answer is not None,
        "stop": now.decision.stop,
        "reason": now.decision.reason,
        "next": [spec.run_key for spec in now.specs],
    }
    if config.plan.budget_seconds is not None:
        told = now.planner.told
        spent_seconds = float(np.nansum(told[SECONDS])) if len(told) else 0.0
        status.update(
            spent_seconds=spent_seconds,
            budget_seconds=config.plan.budget_seconds,
            remaining_seconds=max(0.0, config.plan.budget_seconds - spent_seconds),
        )
    return status


@dataclass
class PlannedHistory:
    """A planned sweep's rounds recomputed from its stored runs (``sweep_history``).

    history: the rounds (``scalinglab.plan.History``), costs in estimated training FLOPs.
    batch: the runs per round they were recomputed with. grid_flops: what the whole grid would
    cost. full: the whole grid's answer (a row with predicted, low, high and the x columns) when
    every run of the grid is measured, else None. optimum: True for a compute target. told: the
    measured runs the rounds chose (n_params, train_size, val_loss), what the answer was read from.
    """

    history: History
    batch: int
    grid_flops: float
    full: pd.Series | None
    optimum: bool
    told: pd.DataFrame


def round_sizes(config: SweepConfig) -> list[int]:
    """The runs per round a planned sweep asked for: [plan] batch, else the executor's slots
    (1 serial, else its workers). A pool or Ray run with no workers given took the machine's or
    cluster's CPUs, which the stored file does not say: this machine's CPUs and a few powers of 2
    are tried, in that order."""
    if config.plan.batch is not None:
        return [config.plan.batch]
    if config.execution.executor == "serial":
        return [1]
    if config.execution.workers is not None:
        return [config.execution.workers]
    return list(dict.fromkeys([os.cpu_count() or 1, 1, 2, 4, 8]))


def sweep_history(config: SweepConfig, frame: pd.DataFrame) -> PlannedHistory:
    """Recompute a planned sweep's rounds from its stored runs (``frame``: ``results_frame``,
    one row per stored run with run_key, status, val_loss, train_seconds), with the grid
    rebuilt from ``config`` as the sweep built it (``plan_runs``, ``candidate_table``).

    The first of ``round_sizes`` whose rounds explain every measured run of the grid is kept; if
    none does (a round still training, or the whole grid stored), the first that explains the most."""
    from scalinglab.sweeper.plan import plan_runs

    statuses = dict(zip(frame["run_key"], frame["status"]))
    stored = _by_run(frame, Y)
    losses = {key: stored.get(key, np.inf) if status == "ok" else np.inf for key, status in statuses.items()}
    grid = plan_runs(config, losses)
    table = measured_table(candidate_table(grid), statuses, losses, _by_run(frame, SECONDS))
    available = available_train_size(grid)
    measured = table[Y].dropna()
    tried = set(statuses) & set(table.index)
    best: tuple[int, int, History] | None = None  # (measured runs explained, k, rounds)
    for k in round_sizes(config):
        history = recompute_rounds(
            make_planner(config.plan, table, available),
            table.drop(columns=[Y]),
            measured,
            k,
            tried=tried,
            rule=stop_rule(config.plan, table),
        )
        explained = len(set(measured.index) & set(history.chosen.index))
        if best is None or explained > best[0]:
            best = (explained, k, history)
        if explained == len(measured):
            break
    _, k, history = best
    full = None
    if len(measured) == len(table):
        planner = make_planner(config.plan, table, available)
        full = planner.tell(table).answer_row()
    told = table.loc[measured.index.intersection(history.chosen.index)]
    return PlannedHistory(history, k, float(table[COST].sum()), full, config.plan.target_compute is not None, told)


def _by_run(frame: pd.DataFrame, name: str) -> dict[str, float]:
    """run_key -> the column's finite values (none when the column is absent)."""
    if name not in frame:
        return {}
    values = pd.to_numeric(frame[name], errors="coerce")
    return {key: float(value) for key, value in zip(frame["run_key"], values) if np.isfinite(value)}
