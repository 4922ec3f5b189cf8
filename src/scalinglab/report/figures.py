"""Figures of a sweep. Each figure has a `*_data` function (plain numbers, what tests check) and
a `draw_*` function that takes that data and a matplotlib `ax`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scalinglab.analysis import FitOutcome, GroupFit, backtest_largest, format_count
from scalinglab.metrics import METRICS, label
from scalinglab.results import aggregate_over_seeds, ok_runs


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
    """Seed-mean of `metric` against `x`, one series per `group_by` value, with fitted curves.

    A fit applies to a series when its group equals the series' value, or when it was fitted
    on all runs at once (group None). The curve spans the trained range widened by 1.5x.
    """
    means = aggregate_over_seeds(frame)
    data = MetricVsParams(metric=metric, x=x, group_by=group_by, log_y=log_y)
    if means.empty or metric not in means:
        return data
    for group, rows in means.groupby(group_by, sort=True):
        rows = rows.groupby(x, sort=True)[[metric, f"{metric}_std"]].mean().reset_index()
        rows = rows[np.isfinite(rows[metric])]
        series = Series(
            name=f"{_short(group_by)} = {format_count(group)}",
            x=rows[x].to_numpy(float),
            y=rows[metric].to_numpy(float),
            y_std=rows[f"{metric}_std"].fillna(0).to_numpy(float),
        )
        fit = next((f for f in fits if f.metric == metric and f.group in (float(group), None)), None)
        if fit is not None:
            _attach_fit(series, fit)
        data.series.append(series)
    return data


def metric_vs_data_data(frame: pd.DataFrame, metric: str, *, x: str = "n_params", data: str = "train_size") -> MetricVsParams:
    """Seed-mean of `metric` against data size, one series per model size (measured, no law)."""
    return metric_vs_params_data(frame, metric, x=data, group_by=x)


def _attach_fit(series: Series, fit: GroupFit) -> None:
    low, high = fit.x_range
    grid = np.geomspace(low / 1.5, high * 1.5, 60)
    series.fit_x, series.fit_y = grid, fit.predict(grid)
    interval = fit.predict_interval(grid)
    if interval is not None:
        series.fit_low, series.fit_high = interval


def draw_metric_vs_params(data: MetricVsParams, ax) -> None:
    """Points with seed error bars, fitted curve and its 95% band, log-scaled x."""
    for index, series in enumerate(data.series):
        color = f"C{index % 10}"
        line = "o" if series.fit_x is not None else "o-"
        ax.errorbar(series.x, series.y, yerr=series.y_std, fmt=line, color=color, label=series.name, capsize=2)
        if series.fit_x is not None:
            ax.plot(series.fit_x, series.fit_y, "-", color=color, alpha=0.8)
        if series.fit_low is not None:
            ax.fill_between(series.fit_x, series.fit_low, series.fit_high, color=color, alpha=0.15, linewidth=0)
    if data.log_y:
        ax.set_yscale("log")
    _finish_log_x(ax, xlabel=label(data.x), ylabel=label(data.metric), legend=data.series)


@dataclass
class IsoFlop:
    """Predicted metric along lines of equal training FLOPs, one point per trained data size."""

    metric: str
    budgets_flops: list[float] = field(default_factory=list)
    curves: list[Series] = field(default_factory=list)  # x: parameters, y: predicted metric
    optimal_n: np.ndarray = field(default_factory=lambda: np.array([]))
    optimal_metric: np.ndarray = field(default_factory=lambda: np.array([]))
    optimal_data: np.ndarray = field(default_factory=lambda: np.array([]))


def isoflop_data(outcome: FitOutcome, *, n_budgets: int = 5) -> IsoFlop:
    """For FLOP budgets spanning the sweep, the size each data size affords and its predicted metric.

    The size that spends budget C on data size D inverts the fitted FLOP law of D; only sizes
    inside the trained range are kept, so the curves interpolate. A budget needs at least two
    data sizes to be a curve; its best point is the compute-optimal allocation among them.
    """
    pairs = [(fit, outcome.cost_for("train_flops", fit.group)) for fit in outcome.fits]
    pairs = [(fit, flops) for fit, flops in pairs if flops is not None]
    data = IsoFlop(metric=outcome.fits[0].metric if outcome.fits else "")
    if len({fit.group for fit, _ in pairs}) < 2:
        return data
    lowest = min(float(flops.predict([fit.x_range[0]])[0]) for fit, flops in pairs)
    highest = max(float(flops.predict([fit.x_range[1]])[0]) for fit, flops in pairs)
    lower_is_better = METRICS[data.metric].lower_is_better if data.metric in METRICS else True
    optimal = []
    for budget in np.geomspace(lowest, highest, n_budgets + 2)[1:-1]:
        points = []
        for fit, flops in pairs:
            n_params = (budget / flops.law.params_["A"]) ** (1.0 / flops.law.params_["k"])
            if fit.x_range[0] <= n_params <= fit.x_range[1]:
                points.append((n_params, float(fit.predict([n_params])[0]), fit.group))
        if len(points) < 2:
            continue
        points.sort()
        xs, ys, groups = (np.array(column) for column in zip(*points))
        data.budgets_flops.append(float(budget))
        data.curves.append(Series(f"{budget:.2g} FLOPs", xs, ys, np.zeros_like(ys)))
        best = int(np.argmin(ys) if lower_is_better else np.argmax(ys))
        optimal.append((xs[best], ys[best], groups[best]))
    if optimal:
        data.optimal_n, data.optimal_metric, data.optimal_data = (np.array(column) for column in zip(*optimal))
    return data


def draw_isoflop(data: IsoFlop, ax) -> None:
    """One line per FLOP budget; stars mark the compute-optimal size, joined as the frontier."""
    for index, curve in enumerate(data.curves):
        ax.plot(curve.x, curve.y, "o-", color=f"C{index % 10}", label=curve.name)
    if len(data.optimal_n):
        ax.plot(data.optimal_n, data.optimal_metric, "k*--", markersize=12, label="compute-optimal")
    _finish_log_x(ax, xlabel=label("n_params"), ylabel=f"predicted {label(data.metric)}", legend=data.curves)


@dataclass
class SeedSpread:
    """Every seed's value of `metric` per configuration, and the spread as a fraction of the mean."""

    metric: str
    x: str
    series: list[Series] = field(default_factory=list)  # x, y per run; y_std: per-run spread/mean
    worst_relative_std: float = 0.0


def seed_spread_data(frame: pd.DataFrame, metric: str, *, x: str = "n_params", group_by: str = "train_size") -> SeedSpread:
    """The individual runs behind each seed mean: the raw material of the error bars."""
    runs = ok_runs(frame)
    data = SeedSpread(metric=metric, x=x)
    if runs.empty or metric not in runs:
        return data
    for group, rows in runs.groupby(group_by, sort=True):
        spread = rows.groupby(x)[metric].transform("std").fillna(0) / rows.groupby(x)[metric].transform("mean").abs()
        data.series.append(Series(
            f"{_short(group_by)} = {format_count(group)}",
            rows[x].to_numpy(float), rows[metric].to_numpy(float), spread.to_numpy(float),
        ))
        data.worst_relative_std = max(data.worst_relative_std, float(spread.max()))
    return data


def draw_seed_spread(data: SeedSpread, ax) -> None:
    """Each run as a dot, slightly offset per data size so overlapping seeds stay visible."""
    for index, series in enumerate(data.series):
        offset = 1.0 + 0.03 * (index - (len(data.series) - 1) / 2)
        ax.plot(series.x * offset, series.y, "o", color=f"C{index % 10}", alpha=0.7, label=series.name)
    _finish_log_x(ax, xlabel=label(data.x), ylabel=f"{label(data.metric)}, every seed", legend=data.series)


@dataclass
class Pareto:
    """Measured configurations in (cost, metric); the frontier holds those no cheaper one beats."""

    metric: str
    cost: str
    cost_values: np.ndarray
    metric_values: np.ndarray
    names: list[str]
    on_frontier: np.ndarray
    recommended: tuple[float, float] | None = None


def pareto_data(
    frame: pd.DataFrame, metric: str, cost: str, *, x: str = "n_params", group_by: str = "train_size",
    recommended: tuple[float, float] | None = None,
) -> Pareto:
    """Seed means of every configuration in (cost, metric), with the Pareto frontier marked."""
    means = aggregate_over_seeds(frame)
    if means.empty or metric not in means or cost not in means:
        return Pareto(metric, cost, np.array([]), np.array([]), [], np.array([], bool), recommended)
    means = means[np.isfinite(means[cost]) & np.isfinite(means[metric])].sort_values([cost, metric])
    lower_is_better = METRICS[metric].lower_is_better if metric in METRICS else True
    score = means[metric].to_numpy() * (1 if lower_is_better else -1)
    best_before = np.concatenate([[np.inf], np.minimum.accumulate(score)[:-1]])
    names = [f"{format_count(row[x])}, {_short(group_by)} {format_count(row[group_by])}" for _, row in means.iterrows()]
    return Pareto(
        metric, cost, means[cost].to_numpy(float), means[metric].to_numpy(float), names, score < best_before, recommended
    )


def draw_pareto(data: Pareto, ax) -> None:
    """All configurations in grey, the frontier as a step line, the recommendation as a star."""
    ax.plot(data.cost_values, data.metric_values, "o", color="0.7", label="measured configurations")
    front = data.on_frontier
    ax.step(data.cost_values[front], data.metric_values[front], "o-", where="post", color="C3", label="Pareto frontier")
    if data.recommended is not None:
        ax.plot(*data.recommended, "k*", markersize=14, label="recommended (predicted)")
    _finish_log_x(ax, xlabel=label(data.cost), ylabel=label(data.metric), legend=True)


@dataclass
class Backtest:
    """Relative residuals of each quality law on its own runs, and on the size it never saw."""

    metric: str
    in_sample: list[Series] = field(default_factory=list)  # x: parameters, y: predicted / actual - 1
    held_out: pd.DataFrame = field(default_factory=pd.DataFrame)


def backtest_data(frame: pd.DataFrame, outcome: FitOutcome) -> Backtest:
    """In-sample relative residuals of every quality law, and the held-out error of the largest size."""
    data = Backtest(metric=outcome.fits[0].metric if outcome.fits else "")
    runs = ok_runs(frame)
    for fit in outcome.fits:
        rows = runs[(runs[fit.group_by] == fit.group) & np.isfinite(runs[fit.metric])]
        xs, actual = rows[fit.x].to_numpy(float), rows[fit.metric].to_numpy(float)
        data.in_sample.append(Series(
            f"{_short(fit.group_by)} = {format_count(fit.group)}", xs, fit.predict(xs) / actual - 1, np.zeros_like(xs)
        ))
    data.held_out = backtest_largest(frame, outcome)
    return data


def draw_backtest(data: Backtest, ax) -> None:
    """Dots: residuals on fitted runs; crosses: error predicting the largest size from the rest."""
    for index, series in enumerate(data.in_sample):
        ax.plot(series.x, 100 * series.y, "o", color=f"C{index % 10}", alpha=0.6, label=f"{series.name} (fitted)")
    for index, (_, row) in enumerate(data.held_out.iterrows()):
        ax.plot(row["n_params"], 100 * row["relative_error"], "X", color=f"C{index % 10}", markersize=12,
                markeredgecolor="k", label="held out" if index == 0 else None)
    ax.axhline(0, color="k", linewidth=0.8)
    _finish_log_x(ax, xlabel=label("n_params"), ylabel=f"prediction error of {data.metric} (%)", legend=data.in_sample)


def _short(column: str) -> str:
    return {"train_size": "data", "n_params": "params"}.get(column, column)


def _finish_log_x(ax, *, xlabel: str, ylabel: str, legend: object) -> None:
    """The common frame of every figure here: log-scaled x, labels, a light grid, a legend if any."""
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.3)
    if legend:
        ax.legend(fontsize="small")
