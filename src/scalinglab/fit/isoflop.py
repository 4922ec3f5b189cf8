"""IsoFLOP analysis (Hoffmann et al. 2022, approach 2).

Runs are grouped by compute budget. Within a group ("isoFLOP profile") the loss is fitted by
a parabola in log N; its vertex is the compute-optimal size N_opt(C) of that budget, and
D_opt = C / flops_per_token(N_opt). Power laws N_opt = G_N C^a and D_opt = G_D C^b are then
fitted by least squares in log-log space. The bootstrap resamples runs within each group.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from scalinglab.errors import UserError
from scalinglab.fit.allocate import DEFAULT_FLOPS_PER_PARAM_TOKEN, FlopModel, log_tokens
from scalinglab.fit.bootstrap import percentile_interval, resample_counts
from scalinglab.fit.table import numeric_column

_MIN_SIZES_PER_GROUP = 3
# A profile's sizes must span at least this factor: over 4 widths of one data size 1.2x apart (FLOPs
# within 0.06 decades, so "one budget") a parabola put "N* at 9.07k (8.74k to 9.38k)" in a sweep
# whose size did not clearly matter. Hoffmann et al.'s profiles span a decade or more.
MIN_PROFILE_SPAN = 2.0


@dataclass(frozen=True)
class IsoFlopResult:
    """Outcome of :func:`isoflop_analysis`.

    Attributes
    ----------
    groups : DataFrame
        One row per compute group: ``compute``, ``n_runs``, ``N_opt``, ``D_opt``,
        ``loss_opt``, ``vertex_inside`` (the vertex lies within the sizes tried), ``note``
        (why a group was not used), and ``N_opt_low`` / ``N_opt_high`` with the bootstrap.
    exponents : DataFrame
        Rows ``a`` (N_opt ~ C^a) and ``b`` (D_opt ~ C^b): name, value, ci_low, ci_high.
    level : float
        The level of those intervals.
    """

    groups: pd.DataFrame
    exponents: pd.DataFrame
    level: float = 0.95


def group_by_compute(log10_compute: np.ndarray, tolerance_decades: float) -> np.ndarray:
    """Group labels 0, 1, ...: in increasing order, a budget more than the tolerance above its
    group's smallest starts a new group, so no group spans more than the tolerance (neighbours
    each within it once chained a whole row of budgets into one "budget")."""
    order = np.argsort(log10_compute, kind="stable")
    labels = np.empty(len(order), dtype=int)
    label, first = 0, log10_compute[order[0]] if len(order) else 0.0
    for index in order:
        if log10_compute[index] - first > tolerance_decades:
            label, first = label + 1, log10_compute[index]
        labels[index] = label
    return labels


def _parabola_vertices(log_n: np.ndarray, loss: np.ndarray, weights: np.ndarray):
    """Weighted least-squares parabola loss ~ c0 + c1 u + c2 u^2 per weight row; its vertex.

    Returns (log N at the vertex, loss at the vertex), each (B,); NaN where the weighted
    points do not determine a convex parabola.
    """
    center = log_n.mean()
    u = log_n - center
    design = np.stack([np.ones_like(u), u, u * u], axis=1)  # (n, 3)
    normal = np.einsum("bn,ni,nj->bij", weights, design, design)
    rhs = np.einsum("bn,ni,n->bi", weights, design, loss)
    distinct = np.array([len(np.unique(u[w > 0])) for w in weights])
    solvable = distinct >= _MIN_SIZES_PER_GROUP
    coefficients = np.full((len(weights), 3), np.nan)
    if solvable.any():
        coefficients[solvable] = np.linalg.solve(normal[solvable], rhs[solvable][:, :, None])[..., 0]
    c0, c1, c2 = coefficients.T
    with np.errstate(divide="ignore", invalid="ignore"):
        vertex = np.where(c2 > 0, -c1 / (2 * c2), np.nan)
    return vertex + center, c0 + c1 * vertex + c2 * vertex**2


def _log_log_slope(log_c: np.ndarray, log_value: np.ndarray) -> np.ndarray:
    """Least-squares slope of log_value on log_c along the last axis, ignoring NaN groups."""
    valid = np.isfinite(log_value)
    count = valid.sum(axis=-1)
    x = np.where(valid, log_c, 0.0)
    y = np.where(valid, log_value, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_mean = x.sum(axis=-1, keepdims=True) / count[..., None]
        y_mean = y.sum(axis=-1, keepdims=True) / count[..., None]
        dx = np.where(valid, x - x_mean, 0.0)
        slope = (dx * (y - y_mean)).sum(axis=-1) / (dx * dx).sum(axis=-1)
    return np.where(count >= 2, slope, np.nan)


def isoflop_analysis(
    data: pd.DataFrame,
    *,
    n: str = "N",
    loss: str = "loss",
    compute: str = "C",
    group: str | None = None,
    tolerance_decades: float = 0.05,
    flop_model: FlopModel = DEFAULT_FLOPS_PER_PARAM_TOKEN,
    n_bootstrap: int = 1000,
    random_state: int | None = None,
    level: float = 0.95,
) -> IsoFlopResult:
    """Chinchilla's approach 2: parabola per isoFLOP profile, then power laws in C.

    Parameters
    ----------
    data : DataFrame
        One row per run.
    n, loss, compute : str
        Columns of parameter count, final loss and training FLOPs.
    group : str, optional
        Column naming each run's budget; by default budgets within ``tolerance_decades``
        (in log10 C) of their neighbour form one group.
    tolerance_decades : float
        Grouping tolerance when ``group`` is not given.
    flop_model : float or callable
        How D_opt follows from C and N_opt (see :mod:`scalinglab.fit.allocate`).
    n_bootstrap : int
        Replicates (resampling runs within each group); 0 disables the intervals.
    random_state : int or None
        Seed of the bootstrap.
    level : float
        Coverage of the intervals.
    """
    log_n = np.log(numeric_column(data, n))
    loss_values = numeric_column(data, loss)
    log_c = np.log(numeric_column(data, compute))
    labels = (
        pd.factorize(data[group], sort=True)[0]
        if group is not None
        else group_by_compute(log_c / np.log(10), tolerance_decades)
    )
    rng = np.random.default_rng(random_state)
    rows, vertex_samples = [], []
    for label in np.unique(labels):
        members = labels == label
        row, samples = _profile(
            log_n[members], loss_values[members], log_c[members], flop_model, rng, n_bootstrap, level
        )
        rows.append(row)
        vertex_samples.append(samples)
    groups = pd.DataFrame(rows)
    usable = int(((groups["note"] == "") & groups["N_opt"].notna()).sum())
    if usable < 2:
        raise UserError(
            "isoFLOP analysis needs at least two compute groups with a convex profile over "
            f"{_MIN_SIZES_PER_GROUP}+ sizes spanning {MIN_PROFILE_SPAN:g}x or more; found {usable}"
        )
    exponents = _exponents(vertex_samples, flop_model, n_bootstrap, level)
    return IsoFlopResult(groups=groups, exponents=exponents, level=level)


def _profile(log_n, loss_values, log_c, flop_model, rng, n_bootstrap, level):
    """Fit one isoFLOP profile.

    Returns its table row, and (log C, log N at the vertex, bootstrap samples of that log N
    or None) for the exponent fit.
    """
    log_budget = float(np.mean(log_c))
    row = {"compute": float(np.exp(log_budget)), "n_runs": len(log_n)}
    weights = np.ones((1, len(log_n)))
    vertex, vertex_loss = (v[0] for v in _parabola_vertices(log_n, loss_values, weights))
    note = ""
    if len(np.unique(log_n)) < _MIN_SIZES_PER_GROUP:
        note = f"fewer than {_MIN_SIZES_PER_GROUP} distinct sizes"
    elif np.ptp(log_n) < np.log(MIN_PROFILE_SPAN):
        note = f"its sizes span {np.exp(np.ptp(log_n)):.2g}x, less than the {MIN_PROFILE_SPAN:g}x a profile needs"
    elif not np.isfinite(vertex):
        note = "profile is not convex"
    row.update(
        N_opt=float(np.exp(vertex)),
        D_opt=float(np.exp(log_tokens(log_budget, vertex, flop_model))),
        loss_opt=float(vertex_loss),
        vertex_inside=bool(log_n.min() <= vertex <= log_n.max()) if not note else False,
        note=note,
    )
    samples = None
    if n_bootstrap > 0 and not note:
        counts = resample_counts(rng, len(log_n), n_bootstrap)
        samples = _parabola_vertices(log_n, loss_values, counts)[0]
        low, high = percentile_interval(samples[np.isfinite(samples)], level)
        row.update(N_opt_low=float(np.exp(low)), N_opt_high=float(np.exp(high)))
    # A group with a note (too few sizes, too narrow, not convex) gives no vertex to the exponents.
    return row, (log_budget, np.nan if note else vertex, samples)


def _exponents(vertex_samples, flop_model, n_bootstrap, level) -> pd.DataFrame:
    """Slopes a, b of log N_opt and log D_opt against log C, with bootstrap intervals."""
    used = [s for s in vertex_samples if np.isfinite(s[1])]
    log_c = np.array([s[0] for s in used])
    log_n_opt = np.array([s[1] for s in used])
    log_d_opt = log_tokens(log_c, log_n_opt, flop_model)
    table = {"name": ["a", "b"], "value": [_log_log_slope(log_c, log_n_opt), _log_log_slope(log_c, log_d_opt)]}
    if n_bootstrap > 0:
        sampled_n = np.stack([s[2] for s in used], axis=1)  # (B, groups)
        sampled_d = log_tokens(log_c, sampled_n, flop_model)
        intervals = [
            percentile_interval(slopes[np.isfinite(slopes)], level)
            for slopes in (_log_log_slope(log_c, sampled_n), _log_log_slope(log_c, sampled_d))
        ]
        table["ci_low"] = [float(low) for low, _ in intervals]
        table["ci_high"] = [float(high) for _, high in intervals]
    table["value"] = [float(v) for v in table["value"]]
    return pd.DataFrame(table)
