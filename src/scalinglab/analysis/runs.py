"""Operations on the runs frame (`scalinglab.runs_table.results_frame`) that analysis and the
report share: which runs count (ok ones, at their best learning rate), their seed means, and what
varies across them (the swept settings, the family's size axes). pandas only."""

from __future__ import annotations

import pandas as pd

from scalinglab.metrics import METRICS, RUN_IDENTITY, lower_is_better
from scalinglab.runs_table import PARAMS_PREFIX, SETTING_COLUMNS


def ok_runs(frame: pd.DataFrame) -> pd.DataFrame:
    """Only the runs that finished with status ok (every row of a frame without a status column,
    such as a user's own table of finished runs)."""
    if not len(frame) or "status" not in frame:
        return frame
    return frame[frame["status"] == "ok"]


def ok_runs_at_best_lr(frame: pd.DataFrame) -> pd.DataFrame:
    """The ok runs at each size's best learning rate (column `best_lr`, from `lr = "auto"`); every
    ok run when no learning-rate search was run. What every law of a sweep is fitted to."""
    runs = ok_runs(frame)
    return runs[runs["best_lr"].astype(bool)] if "best_lr" in runs else runs


def aggregate_over_seeds(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation of every metric over the seeds of each configuration.

    Metric columns keep their names (the mean); `<metric>_std` holds the spread and `n_seeds`
    the count. Only ok runs are aggregated.
    """
    runs = ok_runs(frame)
    if runs.empty:
        return runs
    metrics = [c for c in runs.columns if c in METRICS]
    settings = [c for c in runs.columns if c not in METRICS and c not in RUN_IDENTITY]
    if "n_params" in metrics:
        # A configuration's models have one size: a table from elsewhere may name no size axis
        # (width, depth), and averaging over its sizes made them look like seeds of one.
        metrics.remove("n_params")
        settings.append("n_params")
    grouped = runs.groupby(settings, dropna=False, sort=True)
    mean = grouped[metrics].mean()
    std = grouped[metrics].std(ddof=1).add_suffix("_std")
    count = grouped.size().rename("n_seeds")
    return pd.concat([mean, std, count], axis=1).reset_index()


def swept_settings(frame: pd.DataFrame, *, exclude: tuple[str, ...] = ()) -> list[str]:
    """Data and training settings (and an objective's own params) with more than one value among
    the ok runs, besides `exclude` and the learning rate (which `best_lr` resolves per configuration)."""
    runs = ok_runs(frame)
    settings = [*SETTING_COLUMNS, *(c for c in runs.columns if c.startswith(PARAMS_PREFIX))]
    return [c for c in settings if c in runs and c not in exclude and c != "lr" and runs[c].nunique(dropna=True) > 1]


def size_axes(frame: pd.DataFrame) -> list[str]:
    """The family's own size axes (width, depth, ...): the columns between `family` and the settings."""
    known = set(SETTING_COLUMNS) | set(METRICS) | set(RUN_IDENTITY) | {"family", "best_lr"}
    return [c for c in frame.columns if c not in known and not c.startswith(PARAMS_PREFIX)]


def configuration_means(runs: pd.DataFrame, metric: str, columns: list[str]) -> pd.DataFrame:
    """One row per configuration (distinct values of `columns`): the seed mean of `metric`, of every
    other metric present, and `n_seeds`. Resampling these rows resamples whole configurations."""
    metrics = [c for c in runs.columns if c in METRICS and c not in columns]
    grouped = runs.groupby(columns, dropna=False, sort=True)
    means = grouped[metrics].mean()
    return means.assign(n_seeds=grouped.size()).reset_index()


def no_better_than_baseline(means: pd.DataFrame, metric: str) -> pd.Series:
    """Per configuration (a row of seed means), True where `metric` is no better than the trivial
    baseline its runs recorded (`baseline_<metric>`: class frequencies, a unigram model): a model
    that learned nothing the data's frequencies do not already say. False where either is missing."""
    baseline = f"baseline_{metric}"
    if metric not in means or baseline not in means:
        return pd.Series(False, index=means.index)
    if lower_is_better(metric):
        return means[metric] >= means[baseline]
    return means[metric] <= means[baseline]
