"""Figures of a sweep. Each figure has a `*_data` function (plain numbers, what tests check) and
a `draw_*` function that takes that data and a matplotlib `ax`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scalinglab.analysis import GroupFit
from scalinglab.metrics import label
from scalinglab.results import aggregate_over_seeds


@dataclass
class Series:
    name: str
    x: np.ndarray
    y: np.ndarray
    y_std: np.ndarray
    fit_x: np.ndarray | None = None
    fit_y: np.ndarray | None = None
    fit_low: np.ndarray | None = None
    fit_high: np.ndarray | None = None


@dataclass
class MetricVsParams:
    metric: str
    x: str
    group_by: str
    series: list[Series] = field(default_factory=list)
    log_y: bool = False


def metric_vs_params_data(
    frame: pd.DataFrame,
    metric: str,
    *,
    x: str = "n_params",
    group_by: str = "train_size",
    fits: list[GroupFit] = (),
    log_y: bool = False,
) -> MetricVsParams:
    """Seed-mean of `metric` against `x`, one series per `group_by` value, with fitted curves."""
    means = aggregate_over_seeds(frame)
    data = MetricVsParams(metric=metric, x=x, group_by=group_by, log_y=log_y)
    if means.empty or metric not in means:
        return data
    fit_by_group = {fit.group: fit for fit in fits if fit.metric == metric}
    for group, rows in means.groupby(group_by, sort=True):
        rows = rows.groupby(x, sort=True)[[metric, f"{metric}_std"]].mean().reset_index()
        series = Series(
            name=f"{group_by}={group:g}",
            x=rows[x].to_numpy(float),
            y=rows[metric].to_numpy(float),
            y_std=rows[f"{metric}_std"].fillna(0).to_numpy(float),
        )
        fit = fit_by_group.get(float(group))
        if fit is not None:
            _attach_fit(series, fit)
        data.series.append(series)
    return data


def _attach_fit(series: Series, fit: GroupFit) -> None:
    low, high = fit.x_range
    grid = np.geomspace(low / 1.5, high * 1.5, 60)
    series.fit_x, series.fit_y = grid, fit.law.predict(grid)
    if getattr(fit.law, "ci_", None):
        series.fit_low, series.fit_high = fit.law.predict_interval(grid)


def draw_metric_vs_params(data: MetricVsParams, ax) -> None:
    """Points with seed error bars, fitted curve and its 95% band, log-scaled parameters."""
    for index, series in enumerate(data.series):
        color = f"C{index % 10}"
        ax.errorbar(series.x, series.y, yerr=series.y_std, fmt="o", color=color, label=series.name, capsize=2)
        if series.fit_x is not None:
            ax.plot(series.fit_x, series.fit_y, "-", color=color, alpha=0.8)
        if series.fit_low is not None:
            ax.fill_between(series.fit_x, series.fit_low, series.fit_high, color=color, alpha=0.15, linewidth=0)
    ax.set_xscale("log")
    if data.log_y:
        ax.set_yscale("log")
    ax.set_xlabel(label(data.x))
    ax.set_ylabel(label(data.metric))
    ax.grid(True, which="both", alpha=0.3)
    if data.series:
        ax.legend(fontsize="small")
