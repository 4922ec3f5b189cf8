"""Stored runs as pandas DataFrames: one row per run, curves in their own frame."""

from __future__ import annotations

import pandas as pd

from scalinglab.metrics import METRICS, RUN_IDENTITY, lower_is_better
from scalinglab.run_spec import RunSpec, TrainingSpec
from scalinglab.store import Store

# Spec fields shown as columns, in this order; the family's own size axes follow `family`.
# Settings that are the same for every run of a sweep still appear: the frame is self-describing.
_DATA_COLUMNS = ("source", "train_size", "preprocessing", "val_fraction", "val_size", "cv_folds")
_TRAINING_COLUMNS = tuple(TrainingSpec.model_fields)  # every training setting, as declared
SETTING_COLUMNS = _DATA_COLUMNS + _TRAINING_COLUMNS
# Data settings an objective's run is not given (it gets train_size alone), left blank in its row.
_UNUSED_BY_AN_OBJECTIVE = ("preprocessing", "val_fraction", "val_size", "cv_folds")
# An objective's own hyperparameters (`[params]`) are columns "params.KEY", settings like the above.
PARAMS_PREFIX = "params."


def results_frame(store: Store) -> pd.DataFrame:
    """One row per stored run: identity, the settings that define it, then every metric, then
    `best_lr` (see `mark_best_lr`)."""
    rows = [_flatten(run) for run in store.runs()]
    config = store.config() or {}
    full_epochs = config.get("training", {}).get("epochs")
    return mark_best_lr(pd.DataFrame(rows), full_epochs=full_epochs, metric=sweep_metric(config))


def sweep_metric(config: dict | None) -> str:
    """The metric a stored sweep configuration names (``[fit] metric``; val_loss by default): what
    its learning rates are ranked by (`mark_best_lr`)."""
    return (config or {}).get("fit", {}).get("metric", "val_loss")


def mark_best_lr(
    frame: pd.DataFrame, *, full_epochs: list[int] | None = None, metric: str = "val_loss"
) -> pd.DataFrame:
    """Add a boolean `best_lr` column: True on the ok runs whose learning rate gave the best
    `metric` (the sweep's, ``[fit] metric``; mean over seeds) among runs alike in everything but
    lr and seed.

    Only runs trained for one of `full_epochs` (the sweep's own epochs) compete: the shorter runs
    of a learning-rate search never win. With one learning rate per configuration, every ok run
    of full length is its best. (Seen: an objective that returned val_accuracy alone had no run
    marked best, and its report said "no finished runs to fit".)
    """
    frame = frame.copy()
    frame["best_lr"] = False
    if frame.empty:
        return frame
    # The sweep's metric where the runs recorded it, else val_loss; with neither, no learning rate
    # can be ranked, and every ok run of full length stands (no run marked left nothing to fit).
    metric = next((name for name in (metric, "val_loss") if name in frame and frame[name].notna().any()), None)
    eligible = (frame["status"] == "ok") & (frame[metric].notna() if metric else True)
    if full_epochs is not None:
        eligible &= frame["epochs"].isin(full_epochs)
    if metric is None:
        frame.loc[eligible, "best_lr"] = True
        return frame
    runs = frame[eligible]
    alike = [c for c in runs.columns if c not in METRICS and c not in RUN_IDENTITY and c not in ("lr", "best_lr")]
    for _, group in runs.groupby(alike, dropna=False, sort=False):
        means = group.groupby("lr")[metric].mean()
        winner = means.idxmin() if lower_is_better(metric) else means.idxmax()
        frame.loc[group.index[group["lr"] == winner], "best_lr"] = True
    return frame


def curves_frame(store: Store) -> pd.DataFrame:
    """One row per (run, epoch) with the values measured at the end of that epoch."""
    return pd.DataFrame(store.curves())


def load_results(out) -> tuple[pd.DataFrame, dict | None]:
    """The results frame and stored configuration of the sweep at `out` (a folder or .sqlite file).

    Raises UserError when there is no store there or it holds no runs, so that nothing is
    created by merely asking.
    """
    from scalinglab.errors import UserError
    from scalinglab.store import stored_database

    frame, config = stored_results(out)
    if frame.empty:
        raise UserError(f"{stored_database(out)}: the store holds no runs yet")
    return frame, config


def stored_curves(out) -> pd.DataFrame:
    """The per-epoch curves (`curves_frame`) of the sweep at `out`; raises UserError when there is no store there."""
    from scalinglab.store import open_store, stored_database

    store = open_store(stored_database(out), read_only=True)
    try:
        return curves_frame(store)
    finally:
        store.close()


def stored_results(out) -> tuple[pd.DataFrame, dict | None]:
    """The results frame (empty when no run is stored yet) and stored configuration of the sweep
    at `out` (a folder or .sqlite file). Raises UserError when there is no store there; creates nothing."""
    from scalinglab.store import open_store, stored_database

    store = open_store(stored_database(out), read_only=True)  # creates and changes nothing; works in a read-only folder
    try:
        return results_frame(store), store.config()
    finally:
        store.close()


def _flatten(run) -> dict:
    spec = run.spec
    row = {"run_key": run.run_key, "status": run.status, "error": run.error, "family": spec["family"]}
    row.update(spec["size"])
    row.update({name: spec["data"].get(name) for name in _DATA_COLUMNS})
    if row["source"] == "objective":  # the user's function loads its own data: no split or preprocessing of ours
        row.update(dict.fromkeys(_UNUSED_BY_AN_OBJECTIVE))
    row.update({name: spec["training"].get(name) for name in _TRAINING_COLUMNS})
    row.update({f"{PARAMS_PREFIX}{name}": value for name, value in spec.get("params", {}).items()})
    row["seed"] = spec["seed"]
    if spec.get("transfer"):  # a run of [transfer] that starts from a pretrained parent
        row["transfer_mode"] = spec["transfer"]["mode"]
        row["transfer_parent"] = RunSpec.model_validate(spec["transfer"]["parent"]).run_key
    row.update(run.metrics)
    if row["train_size"] is None and "n_train" in run.metrics:
        row["train_size"] = int(run.metrics["n_train"])  # "all of it": name the size it was
    row["worker"] = run.worker
    if spec.get("cooldown_of") is not None:  # a cooldown branch: the run it branched from
        row["parent_run_key"] = RunSpec.model_validate(spec).cooldown_parent().run_key
    row["device"] = spec.get("limits", {}).get("device", "cpu")  # where it ran (not part of run_key)
    return row
