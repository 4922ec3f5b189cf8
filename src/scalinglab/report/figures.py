"""Figures of a sweep. Each figure has a `*_data` function (plain numbers, what tests check) and
a `draw_*` function that takes that data and a matplotlib `ax`. Which axes are log, the y-limits,
and where curves and intervals are cut follow the rule of `scalinglab.fit.view`, computed with
the data, so any finite data draw."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scalinglab.analysis import CostLaw, FitOutcome, GroupFit, JointLaw, format_count
from scalinglab.analysis.runs import aggregate_over_seeds, no_better_than_baseline, ok_runs
from scalinglab.fit.view import can_log, clip_to_view, cut_to_view, plain_log_ticks, view_limits
from scalinglab.metrics import SAME_FOR_EVERY_DATA_SIZE, label, lower_is_better, value_range
from scalinglab.pareto import pareto_mask
from scalinglab.report.drawn_axes import mark_data

# The band around a fitted curve: where a run's (seed-mean) metric is expected, so the measured
# points can be judged against it; "mean" would draw where the fitted curve itself lies.
BAND_KIND = "prediction"
BAND_LABEL = "95% prediction interval"
EVERY_DATA_SIZE = "every data size"  # the one series of a cost that does not depend on the data size


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
    log_x: bool = True
    y_limits: tuple[float, float] | None = None
    x_label: str = ""  # the x axis's words; the column's label when empty


def axis_label(column: str, frame: pd.DataFrame) -> str:
    """Words for a column on an axis: the data-size column says what it counts (tokens seen for a
    language model, examples otherwise), not its raw name."""
    if column != "train_size":
        return label(column)
    counts_tokens = "train_tokens_seen" in frame and frame["train_tokens_seen"].notna().any()
    return "training data (tokens seen)" if counts_tokens else "training data (examples)"


def metric_vs_params_data(
    frame: pd.DataFrame,
    metric: str,
    *,
    x: str = "n_params",
    group_by: str = "train_size",
    fits: list[GroupFit] = (),
    cost: CostLaw | None = None,
    joint: JointLaw | None = None,
    log_y: bool = False,
) -> MetricVsParams:
    """Seed-mean of `metric` against `x`, one series per `group_by` value, with fitted curves.

    A quality fit applies to a series when its group equals the series' value; a cost law or a
    joint law applies to every series (evaluated at its data size). A column that does not depend on
    the data size (memory, latency, bytes: metrics.SAME_FOR_EVERY_DATA_SIZE) is one series over
    every data size: one per data size would draw the same points on top of each other. The curve spans the trained range widened by
    1.5x. The y axis is log when `log_y` asks and every point is positive.
    """
    means = aggregate_over_seeds(frame)
    data = MetricVsParams(metric=metric, x=x, group_by=group_by, log_y=log_y, x_label=axis_label(x, frame))
    if means.empty or metric not in means:
        return data
    if metric in SAME_FOR_EVERY_DATA_SIZE and group_by == "train_size":
        means = means.assign(**{group_by: EVERY_DATA_SIZE})
    for group, rows in means.groupby(group_by, sort=True):
        rows = rows.groupby(x, sort=True)[[metric, f"{metric}_std"]].mean().reset_index()
        rows = rows[np.isfinite(rows[metric]) & np.isfinite(rows[x])]
        if rows.empty:
            continue
        series = Series(
            name=_series_name(group_by, group),
            x=rows[x].to_numpy(float),
            y=rows[metric].to_numpy(float),
            y_std=rows[f"{metric}_std"].fillna(0).to_numpy(float),
        )
        fit = next((f for f in fits if f.metric == metric and f.group == group), None)
        if fit is not None:
            _attach_curve(series, fit.x_range, fit.predict, lambda grid: fit.predict_interval(grid, kind=BAND_KIND))
        elif cost is not None:
            _attach_curve(series, cost.x_range, lambda grid, d=group: cost.predict(grid, d), lambda grid: None)
        elif joint is not None:
            _attach_curve(
                series,
                joint.n_range,
                lambda grid, d=group: joint.predict(grid, d),
                lambda grid, d=group: joint.predict_interval(grid, np.full_like(grid, d), kind=BAND_KIND),
            )
        data.series.append(series)
    _frame_the_points(data)
    return data


def _within_possible(limits, metric: str, points) -> tuple[float, float] | None:
    """`limits` with the view's upper margin stopped where `metric` can go no higher (an accuracy
    axis ran to 1.2), never cutting off a point drawn. (Below, `view_limits` already keeps values
    that are all >= 0 at 0 or above.)"""
    if limits is None:
        return None
    values = np.concatenate([np.asarray(p, float).ravel() for p in points])
    high = min(limits[1], max(value_range(metric)[1], np.nanmax(values, initial=-np.inf)))
    return (limits[0], high) if limits[0] < high else limits


def _frame_the_points(data: MetricVsParams) -> None:
    """Scales and y-limits from the seed means and their error bars; curves and bands cut to them."""
    points = [s.y for s in data.series] + [s.y - s.y_std for s in data.series] + [s.y + s.y_std for s in data.series]
    data.log_x = can_log(*[s.x for s in data.series])
    data.log_y = data.log_y and can_log(*[s.y for s in data.series])
    data.y_limits = _within_possible(view_limits(*points, log=data.log_y), data.metric, points)
    for series in data.series:
        if series.fit_y is not None:
            series.fit_y = cut_to_view(series.fit_y, data.y_limits)
        if series.fit_low is not None:
            series.fit_low, series.fit_high = clip_to_view(series.fit_low, series.fit_high, data.y_limits)


def metric_vs_data_data(
    frame: pd.DataFrame, metric: str, *, x: str = "n_params", data: str = "train_size"
) -> MetricVsParams:
    """Seed-mean of `metric` against data size, one series per model size (measured, no law)."""
    return metric_vs_params_data(frame, metric, x=data, group_by=x)


def _attach_curve(series: Series, x_range: tuple[float, float], predict, predict_interval) -> None:
    low, high = x_range
    grid = np.geomspace(low / 1.5, high * 1.5, 60)
    series.fit_x, series.fit_y = grid, np.asarray(predict(grid), float)
    interval = predict_interval(grid)
    if interval is not None:
        series.fit_low, series.fit_high = interval


def draw_metric_vs_params(data: MetricVsParams, ax) -> None:
    """Points with seed error bars, fitted curve and its 95% prediction band, log-scaled x."""
    band_labelled = False
    for index, series in enumerate(data.series):
        color = f"C{index % 10}"
        line = "o" if series.fit_x is not None else "o-"
        mark_data(
            ax.errorbar(series.x, series.y, yerr=series.y_std, fmt=line, color=color, label=series.name, capsize=2)
        )
        if series.fit_x is not None:
            ax.plot(series.fit_x, series.fit_y, "-", color=color, alpha=0.8)
        if series.fit_low is not None:
            # One legend entry says what every band is.
            ax.fill_between(
                series.fit_x,
                series.fit_low,
                series.fit_high,
                color=color,
                alpha=0.15,
                linewidth=0,
                label=None if band_labelled else BAND_LABEL,
            )
            band_labelled = True
    if data.log_y:
        ax.set_yscale("log")
    _finish_axes(
        ax,
        log_x=data.log_x,
        y_limits=data.y_limits,
        xlabel=data.x_label or label(data.x),
        ylabel=label(data.metric),
        legend=data.series,
    )


@dataclass
class IsoFlop:
    """The joint law's predicted metric along lines of equal training FLOPs, and its optimum on each."""

    metric: str
    budgets_flops: list[float] = field(default_factory=list)
    curves: list[Series] = field(default_factory=list)  # x: parameters, y: predicted metric
    optimal_n: np.ndarray = field(default_factory=lambda: np.array([]))
    optimal_metric: np.ndarray = field(default_factory=lambda: np.array([]))
    optimal_data: np.ndarray = field(default_factory=lambda: np.array([]))
    y_limits: tuple[float, float] | None = None


def isoflop_data(joint: JointLaw, budgets: pd.DataFrame | None = None) -> IsoFlop:
    """For each FLOP budget of the joint law's compute-optimal table (or of `budgets`, rows of it:
    those whose optimum beats the trivial baseline, which the report quotes), the metric it predicts
    for every split C = k N D (N from a tenth of the smallest to 10x the largest trained size), and
    the compute-optimal point N*, D* of that budget.

    The y-limits are those of the optima (the rule of `scalinglab.fit.view`): the figure shows
    each budget's valley around its optimum. A curve leaves the view where it rises out of it; it
    would explode where a budget spread over a large model leaves it a few examples (a small
    budget's curve predicted a loss of 28 for optima below 1.5, and squashed every valley flat).
    """
    data = IsoFlop(metric=joint.metric)
    table = joint.optimal if budgets is None else budgets
    if table is None:
        return data
    optimal = table[np.isfinite(table[["N_opt", "D_opt", "metric_opt"]]).all(axis=1)]
    grid = np.geomspace(joint.n_range[0] / 10, joint.n_range[1] * 10, 80)
    for _, row in optimal.iterrows():
        budget = float(row["compute"])
        d = budget / (joint.flops_per_param_example * grid)
        data.budgets_flops.append(budget)
        data.curves.append(Series(f"{budget:.2g} FLOPs", grid, joint.predict(grid, d), np.zeros_like(grid)))
    data.optimal_n = optimal["N_opt"].to_numpy(float)
    data.optimal_data = optimal["D_opt"].to_numpy(float)
    data.optimal_metric = optimal["metric_opt"].to_numpy(float)
    data.y_limits = view_limits(data.optimal_metric, log=False)
    for curve in data.curves:
        curve.y = cut_to_view(curve.y, data.y_limits)
    return data


def draw_isoflop(data: IsoFlop, ax) -> None:
    """One line per FLOP budget; stars mark the compute-optimal size, joined as the frontier."""
    for index, curve in enumerate(data.curves):
        ax.plot(curve.x, curve.y, "-", color=f"C{index % 10}", label=curve.name)
    if len(data.optimal_n):
        mark_data(*ax.plot(data.optimal_n, data.optimal_metric, "k*--", markersize=12, label="compute-optimal"))
    _finish_axes(
        ax,
        log_x=True,
        y_limits=data.y_limits,
        xlabel=label("n_params"),
        ylabel=f"predicted {label(data.metric)}",
        legend=data.curves,
    )


@dataclass
class SeedSpread:
    """Every seed's value of `metric` per configuration, and the spread as a fraction of the mean."""

    metric: str
    x: str
    series: list[Series] = field(default_factory=list)  # x, y per run; y_std: per-run spread/mean
    worst_relative_std: float | None = None  # None when no configuration has 2+ runs and a nonzero mean
    most_seeds: int = 0  # the most runs of any configuration: with 1, no spread across seeds exists
    log_x: bool = True


def seed_spread_data(
    frame: pd.DataFrame, metric: str, *, x: str = "n_params", group_by: str = "train_size"
) -> SeedSpread:
    """The individual runs behind each seed mean: the raw material of the error bars. A spread
    relative to a mean of zero is no number, nor is the spread of one run (it was printed as 0.0%),
    so such configurations count in no relative spread."""
    runs = ok_runs(frame)
    data = SeedSpread(metric=metric, x=x)
    if runs.empty or metric not in runs:
        return data
    runs = runs[np.isfinite(runs[metric]) & np.isfinite(runs[x])]
    for group, rows in runs.groupby(group_by, sort=True):
        spread = rows.groupby(x)[metric].transform("std") / rows.groupby(x)[metric].transform("mean").abs()
        spread = spread.where(np.isfinite(spread))  # NaN: one run, or a mean of 0
        data.most_seeds = max(data.most_seeds, int(rows.groupby(x)[metric].size().max()))
        data.series.append(
            Series(
                _series_name(group_by, group),
                rows[x].to_numpy(float),
                rows[metric].to_numpy(float),
                spread.to_numpy(float),
            )
        )
        if spread.notna().any():
            data.worst_relative_std = max(data.worst_relative_std or 0.0, float(spread.max()))
    data.log_x = can_log(*[s.x for s in data.series])
    return data


def draw_seed_spread(data: SeedSpread, ax) -> None:
    """Each run as a dot, slightly offset per data size so overlapping seeds stay visible."""
    for index, series in enumerate(data.series):
        offset = 1.0 + 0.03 * (index - (len(data.series) - 1) / 2)
        mark_data(*ax.plot(series.x * offset, series.y, "o", color=f"C{index % 10}", alpha=0.7, label=series.name))
    _finish_axes(
        ax, log_x=data.log_x, xlabel=label(data.x), ylabel=f"{label(data.metric)}, every seed", legend=data.series
    )


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
    log_x: bool = True


def pareto_data(
    frame: pd.DataFrame,
    metric: str,
    cost: str,
    *,
    x: str = "n_params",
    group_by: str = "train_size",
    recommended: tuple[float, float] | None = None,
) -> Pareto:
    """Seed means of every configuration in (cost, metric), with the Pareto frontier marked; the
    cost axis is log when every cost drawn is positive, and a star that cannot be drawn is left out."""
    means = aggregate_over_seeds(frame)
    if means.empty or metric not in means or cost not in means:
        return Pareto(metric, cost, np.array([]), np.array([]), [], np.array([], bool), None)
    means = means[np.isfinite(means[cost]) & np.isfinite(means[metric])].sort_values([cost, metric])
    # A configuration no better than its data's trivial baseline is no point of the trade-off (the
    # recommendation's tables leave it out too): predicting the data's frequencies beats it for nothing.
    worth = ~no_better_than_baseline(means, metric).to_numpy(bool)
    on_frontier = np.zeros(len(means), dtype=bool)
    on_frontier[worth] = pareto_mask(means[cost][worth], means[metric][worth], lower_is_better(metric))
    names = [f"{format_count(row[x])}, {_short(group_by)} {format_count(row[group_by])}" for _, row in means.iterrows()]
    log_x = can_log(means[cost])
    if recommended is not None and not (np.all(np.isfinite(recommended)) and (recommended[0] > 0 or not log_x)):
        recommended = None
    return Pareto(
        metric, cost, means[cost].to_numpy(float), means[metric].to_numpy(float), names, on_frontier, recommended, log_x
    )


def draw_pareto(data: Pareto, ax) -> None:
    """All configurations in grey, the frontier as a step line, the recommendation as a star."""
    mark_data(*ax.plot(data.cost_values, data.metric_values, "o", color="0.7", label="measured configurations"))
    front = data.on_frontier
    ax.step(data.cost_values[front], data.metric_values[front], "o-", where="post", color="C3", label="Pareto frontier")
    if data.recommended is not None:
        mark_data(*ax.plot(*data.recommended, "k*", markersize=14, label="recommended"))
    _finish_axes(ax, log_x=data.log_x, xlabel=label(data.cost), ylabel=label(data.metric), legend=True)


@dataclass
class Backtest:
    """Relative residuals of each quality law on its own runs, and on the size it never saw."""

    metric: str
    in_sample: list[Series] = field(default_factory=list)  # x: parameters, y: predicted / actual - 1
    held_out: pd.DataFrame = field(default_factory=pd.DataFrame)
    log_x: bool = True


def backtest_data(runs: pd.DataFrame, outcome: FitOutcome, held_out: pd.DataFrame) -> Backtest:
    """In-sample relative residuals of every quality law on `runs` (the runs it was fitted to), and
    `held_out`, the error predicting the largest size (from `analysis.backtest_largest`). A
    relative error is no number where the actual value is zero: such runs are left out."""
    data = Backtest(metric=outcome.fits[0].metric if outcome.fits else "")
    for fit in outcome.fits:
        rows = runs[(runs[fit.group_by] == fit.group) & np.isfinite(runs[fit.metric])]
        xs, actual = rows[fit.x].to_numpy(float), rows[fit.metric].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            residual = fit.predict(xs) / actual - 1
        kept = np.isfinite(residual) & np.isfinite(xs)
        data.in_sample.append(
            Series(
                f"{_short(fit.group_by)} = {format_count(fit.group)}", xs[kept], residual[kept], np.zeros(kept.sum())
            )
        )
    data.held_out = held_out[np.isfinite(held_out["relative_error"])] if len(held_out) else held_out
    data.log_x = can_log(*[s.x for s in data.in_sample], data.held_out.get("n_params", []))
    return data


def draw_backtest(data: Backtest, ax) -> None:
    """Dots: residuals on fitted runs; crosses: error predicting the largest size from the rest."""
    for index, series in enumerate(data.in_sample):
        mark_data(
            *ax.plot(series.x, 100 * series.y, "o", color=f"C{index % 10}", alpha=0.6, label=f"{series.name} (fitted)")
        )
    for index, (_, row) in enumerate(data.held_out.iterrows()):
        mark_data(
            *ax.plot(
                row["n_params"],
                100 * row["relative_error"],
                "X",
                color=f"C{index % 10}",
                markersize=12,
                markeredgecolor="k",
                label="held out" if index == 0 else None,
            )
        )
    mark_data(ax.axhline(0, color="k", linewidth=0.8))  # zero error: what every residual is measured against
    _finish_axes(
        ax,
        log_x=data.log_x,
        xlabel=label("n_params"),
        ylabel=f"prediction error of {data.metric} (%)",
        legend=data.in_sample,
    )


def _series_name(column: str, value) -> str:
    if isinstance(value, str) and value == EVERY_DATA_SIZE:
        return value
    shown = (
        format_count(value)
        if isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
        else str(value)
    )
    return f"{_short(column)} = {shown}"


def _short(column: str) -> str:
    return {"train_size": "data", "n_params": "params"}.get(column, column)


def _finish_axes(
    ax, *, log_x: bool, xlabel: str, ylabel: str, legend: object, y_limits: tuple[float, float] | None = None
) -> None:
    """The common frame of every figure here: log-scaled x (where its values allow), the y-limits
    of `scalinglab.fit.view`, labels, a light grid, a legend if any."""
    if y_limits is not None:
        ax.set_ylim(*y_limits)
    if log_x:
        ax.set_xscale("log")
        plain_log_ticks(ax.xaxis, format_count)
    if ax.get_yscale() == "log":
        plain_log_ticks(ax.yaxis, format_count)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)
    if legend:
        ax.legend(fontsize="small")
