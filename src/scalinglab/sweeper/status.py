"""How far a sweep has got, read from its store alone (what `scalinglab status` prints)."""

from __future__ import annotations

import statistics

from scalinglab.config_fields import as_list


def sweep_status(store) -> dict:
    """What `status` prints, as data: counts (of the runs the stored configuration plans, where
    they are known before training), other_stored (runs of other settings in the same store),
    running, remaining (neither stored nor running; 0 once a planned sweep has stopped), not_chosen (runs of the grid a stopped
    planned sweep did not choose: run without [plan] to train them), eta_seconds (None while no run
    has finished or none is running), failures, plan."""
    runs = store.runs()
    config = store.config()
    planned = _planned_keys(config)
    counted = [run for run in runs if planned is None or run.run_key in planned]
    counts: dict[str, int] = {}
    for run in counted:
        counts[run.status] = counts.get(run.status, 0) + 1
    claims = store.claims()
    total = len(planned) if planned is not None else _planned_total(config, len(runs))
    plan = _plan(store, config)
    # Runs being trained that are not stored yet (a retried failure is stored already; another
    # configuration's run is not this plan's).
    stored_keys = {run.run_key for run in counted}
    first_tries = {claim.run_key for claim in claims if planned is None or claim.run_key in planned} - stored_keys
    untrained = max(0, total - len(counted) - len(first_tries))
    # A stopped [plan] trains nothing more: the rest of its grid is not "to go" but not chosen.
    stopped = bool(plan and plan["stop"])
    # "To go": neither stored nor running ("3 ok; 2 running now; 13 to go" added up to 18 of 16).
    remaining = 0 if stopped else untrained
    unfinished = 0 if stopped else max(0, total - len(counted))
    return {
        "total": total,
        "counts": counts,
        "other_stored": len(runs) - len(counted),
        "running": [claim.run_key for claim in claims],
        "remaining": remaining,
        "not_chosen": untrained if stopped else 0,
        "eta_seconds": _eta_seconds(store, unfinished, concurrency=len(claims)),
        "failures": [(run.run_key, run.spec, run.status, run.error) for run in runs if run.status != "ok"],
        "plan": plan,
    }


def _planned_keys(config: dict | None) -> set[str] | None:
    """The run keys the stored configuration plans, where they are known before training: None
    with a learning-rate search (its later steps depend on results), or a configuration that no
    longer validates. The store may hold other runs too: the same folder run with other seeds."""
    from pydantic import ValidationError

    from scalinglab.config import SweepConfig
    from scalinglab.errors import UserError
    from scalinglab.sweeper.plan import plan_runs

    if not config:
        return None
    try:
        parsed = SweepConfig.model_validate(config)
        if "auto" in as_list(parsed.training.lr):
            return None
        return {spec.run_key for spec in plan_runs(parsed)}
    except (ValidationError, UserError):  # written by an older, laxer scalinglab
        return None


def _plan(store, config: dict | None) -> dict | None:
    """A planned sweep's budget, target interval and stop rule (sweeper.planned); None without [plan]."""
    if not config or not config.get("plan"):
        return None
    from pydantic import ValidationError

    from scalinglab.config import SweepConfig
    from scalinglab.errors import UserError
    from scalinglab.sweeper.driver import _val_losses
    from scalinglab.sweeper.planned import plan_status

    try:
        return plan_status(store, SweepConfig.model_validate(config), _val_losses(store))
    except (ValidationError, UserError):  # a store written by an older scalinglab, or data now missing
        return None


def _planned_total(config: dict | None, n_stored: int) -> int:
    """Runs the stored configuration plans; the runs stored when there is none or it no longer validates."""
    from pydantic import ValidationError

    from scalinglab.config import SweepConfig
    from scalinglab.errors import UserError
    from scalinglab.sweeper.plan import planned_total

    if not config:
        return n_stored
    try:
        return planned_total(SweepConfig.model_validate(config))
    except (ValidationError, UserError):  # written by an older, laxer scalinglab
        return n_stored


def _eta_seconds(store, remaining: int, *, concurrency: int) -> float | None:
    """Runs not finished x the median wall time of a run so far (claim to result) / runs in
    parallel; None while no run has finished, or none is running (a killed sweep has no eta)."""
    if remaining == 0:
        return 0.0
    if concurrency == 0:
        return None
    claimed_at = {}
    for run_key, _, when in store.attempts():
        claimed_at[run_key] = when  # the last attempt is the one that produced the row
    durations = [run.finished_at - claimed_at[run.run_key] for run in store.runs() if run.run_key in claimed_at]
    if not durations:
        return None
    return remaining * statistics.median(durations) / concurrency
