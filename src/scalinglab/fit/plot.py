"""Figure of a fit: the data, the fitted law and its bootstrap band.

The numbers are computed by :func:`fit_plot_data` (tested on their own); :func:`draw_fit`
only draws them on a matplotlib ``ax``. matplotlib is imported inside the drawing functions,
so ``scalinglab.fit`` itself needs only numpy, scipy and pandas.

A law of one input is drawn as y against x. A joint law L(N, D) is drawn as loss against N
along isoFLOP lines: rows are grouped by their compute C = flops(N, D), and each group gets
the curve L(N, C / flops_per_token(N)) at the group's typical C.

Which axes are log, the y-limits, and where curves and bands are cut follow the rule of
:mod:`scalinglab.fit.view`: the points decide what is seen, never an extrapolation or a band.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from scalinglab.fit.allocate import DEFAULT_FLOPS_PER_PARAM_TOKEN, FlopModel, log_flops, log_tokens
from scalinglab.fit.isoflop import group_by_compute
from scalinglab.fit.table import numeric_column
from scalinglab.fit.view import can_log, clip_to_view, cut_to_view, view_limits

_CURVE_MARGIN = 1.25  # the curve extends this factor beyond the data on each side


@dataclass(frozen=True)
class FitSeries:
    """Points and curve drawn in one colour.

    Attributes
    ----------
    label : str
        Legend entry.
    x, y : ndarray
        Observed points.
    held_out : ndarray of bool
        Which points were not used for the fit (drawn hollow).
    curve_x, curve_y : ndarray
        The fitted law; NaN where it leaves the y-limits.
    band_low, band_high : ndarray or None
        Bootstrap band of the curve (None without bootstrap); NaN where it was dropped.
    compute : float or None
        Joint laws: the FLOP budget of this isoFLOP line.
    """

    label: str
    x: np.ndarray
    y: np.ndarray
    held_out: np.ndarray
    curve_x: np.ndarray
    curve_y: np.ndarray
    band_low: np.ndarray | None
    band_high: np.ndarray | None
    compute: float | None = None


@dataclass(frozen=True)
class FitPlotData:
    """Everything :func:`draw_fit` draws. ``log_y``: every point is positive; ``y_limits``: those
    of the points (None when none is finite)."""

    series: list[FitSeries]
    x_label: str
    y_label: str
    title: str
    level: float
    log_y: bool = True
    y_limits: tuple[float, float] | None = None


def fit_plot_data(
    law,
    data: pd.DataFrame,
    *,
    held_out: pd.DataFrame | None = None,
    level: float | None = None,
    n_curve: int = 100,
    max_groups: int = 5,
    flop_model: FlopModel = DEFAULT_FLOPS_PER_PARAM_TOKEN,
) -> FitPlotData:
    """Points, curves and bands of a fitted law.

    Parameters
    ----------
    law : ScalingLaw
        A fitted law.
    data : DataFrame
        Rows the law was fitted on.
    held_out : DataFrame, optional
        Rows held out (a backtest); drawn hollow, and the curve extends over them.
    level : float, optional
        Coverage of the band; the law's ``ci_level`` by default.
    n_curve : int
        Points per curve.
    max_groups : int
        Joint laws: at most this many isoFLOP groups (quantile bins of log C beyond it).
    flop_model : float or callable
        Joint laws: the FLOP model that defines the isoFLOP lines.
    """
    level = law.ci_level if level is None else level
    rows = data if held_out is None else pd.concat([data, held_out])
    is_held_out = np.r_[np.zeros(len(data), bool), np.ones(len(rows) - len(data), bool)]
    columns = [numeric_column(rows, name) for name in law.x_]
    y = numeric_column(rows, law.y_)
    title = f"{law.form_.name}: {law.form_.formula}"
    if law.form_.n_inputs == 1:
        series = [_series(law, "data", columns[0], y, is_held_out, _curve_grid(columns[0], n_curve), None, level)]
    else:
        series = _isoflop_series(law, columns, y, is_held_out, n_curve, max_groups, flop_model, level)
    log_y = can_log(y)
    limits = view_limits(y, log=log_y)
    series = [_cut_to_view(one, limits) for one in series]
    return FitPlotData(series, law.x_[0], law.y_, title, level, log_y, limits)


def _cut_to_view(series: FitSeries, limits) -> FitSeries:
    band_low, band_high = series.band_low, series.band_high
    if band_low is not None:
        band_low, band_high = clip_to_view(band_low, band_high, limits)
    return replace(series, curve_y=cut_to_view(series.curve_y, limits), band_low=band_low, band_high=band_high)


def _curve_grid(x: np.ndarray, n_curve: int) -> np.ndarray:
    return np.geomspace(x.min() / _CURVE_MARGIN, x.max() * _CURVE_MARGIN, n_curve)


def _series(law, label, x, y, held_out, curve_x, curve_d, level, compute=None) -> FitSeries:
    inputs = curve_x if curve_d is None else np.column_stack([curve_x, curve_d])
    band_low = band_high = None
    if law.has_intervals:
        band_low, band_high = law.predict_interval(inputs, level)
    return FitSeries(label, x, y, held_out, curve_x, law.predict(inputs), band_low, band_high, compute)


def _isoflop_series(law, columns, y, held_out, n_curve, max_groups, flop_model, level):
    log_n, log_d = np.log(columns[0]), np.log(columns[1])
    log10_c = log_flops(log_n, log_d, flop_model) / np.log(10)
    labels = group_by_compute(log10_c, tolerance_decades=0.05)
    if labels.max() + 1 > max_groups:
        edges = np.quantile(log10_c, np.linspace(0, 1, max_groups + 1)[1:-1])
        labels = np.searchsorted(edges, log10_c)
    series = []
    for label in np.unique(labels):
        members = labels == label
        log10_budget = float(np.median(log10_c[members]))
        curve_n = _curve_grid(columns[0][members], n_curve)
        curve_d = np.exp(log_tokens(log10_budget * np.log(10), np.log(curve_n), flop_model))
        budget = 10**log10_budget
        series.append(
            _series(
                law,
                f"C ~ {budget:.2g} FLOPs",
                columns[0][members],
                y[members],
                held_out[members],
                curve_n,
                curve_d,
                level,
                budget,
            )
        )
    return series


def draw_fit(plot_data: FitPlotData, ax=None):
    """Draw points, curves and bands on ``ax`` (a new figure's axes when None); returns ax."""
    import matplotlib
    import matplotlib.ticker

    if ax is None:
        from matplotlib.figure import Figure

        ax = Figure(figsize=(6.4, 4.8)).add_subplot()
    colors = matplotlib.colormaps["viridis"](np.linspace(0.0, 0.85, len(plot_data.series)))
    for series, color in zip(plot_data.series, colors):
        fitted = ~series.held_out
        ax.scatter(series.x[fitted], series.y[fitted], s=14, color=color, label=series.label)
        if series.held_out.any():
            ax.scatter(
                series.x[series.held_out],
                series.y[series.held_out],
                s=22,
                facecolors="none",
                edgecolors=color,
                label=f"{series.label} (held out)",
            )
        ax.plot(series.curve_x, series.curve_y, color=color, linewidth=1.5)
        if series.band_low is not None:
            ax.fill_between(series.curve_x, series.band_low, series.band_high, color=color, alpha=0.25, linewidth=0)
    ax.set_xscale("log")
    if plot_data.log_y:
        ax.set_yscale("log")
        # Losses often span less than a decade: label the y ticks as plain numbers.
        plain = matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
    if plot_data.y_limits is not None:
        ax.set_ylim(*plot_data.y_limits)
    ax.set_xlabel(plot_data.x_label)
    ax.set_ylabel(plot_data.y_label)
    band = f", {plot_data.level:.0%} bootstrap band" if plot_data.series[0].band_low is not None else ""
    ax.set_title(plot_data.title + band, fontsize=9)
    ax.legend(fontsize=7)
    return ax


def save_fit_figure(plot_data: FitPlotData, path) -> None:
    """Draw the fit on a new figure and write it to ``path`` (format from the extension)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 4.8), layout="constrained")
    draw_fit(plot_data, ax=figure.add_subplot())
    figure.savefig(path, dpi=120)
