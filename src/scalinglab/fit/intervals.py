"""Prediction intervals that hold beyond the data: cluster bootstrap, noise, extrapolation term.

A new measurement at x is predicted as

    log y(x) = log f_b(x) + noise + extrapolation error,

* f_b: the law refitted on a **cluster bootstrap** replicate. Whole groups of rows are drawn
  (model sizes by default, or a ``groups=`` column: the runs, seeds or checkpoints of one
  model), so rows that share a model count as one piece of evidence, not many.
* noise: drawn from the spread between seeds at the same x where some x has several rows,
  else from the residuals of the fit.
* extrapolation error: how wrong the law is when it extrapolates, measured on the data itself.
  For each factor r in ``CALIBRATION_FACTORS`` and each direction a user extrapolates in
  (``DIRECTIONS``; a one-input law has the first only), the law is refitted on the rows below
  a cut and predicts the rows above it (refitted from the full fit, in the batch of the
  bootstrap replicates: rows above the cut get weight 0):

  - "size": rows whose size (first x column) is at most max / r;
  - "data": at each size, rows whose data (second x column) is at most the largest trained at
    that size / r ("what if I train longer?"; a size trained on one data size keeps it);
  - "compute": rows whose N * D is at most max / r;
  - "ratio" (intervals only, not the choice of form): rows whose data per parameter D / N is at
    least its smallest value x r, predicting the rows with the fewest tokens per parameter.

  A larger factor that holds out the same rows as a smaller one (sizes 3x apart: r = 4 and 8) is
  the same backtest and is used once, so that its rows are not counted twice.

  Each held-out row j lies beyond its refit's rows by e_jk along each input k (log units,
  :func:`excess_beyond`: for size, beyond the range of the fitted sizes; for data, beyond the
  range fitted *at the row's size*), and has a log error e_j. What the noise half-width w does
  not cover is r_j = max(|e_j| - w, 0): what the term must add to cover row j, taken out
  linearly because the interval adds the term to the bootstrap and noise linearly. The error
  is taken to grow as the square of the distance (``GROWTH``: a wrong form matches the
  truth's level and slope where it was fitted, and their curvatures part beyond). Input k's
  rate c_k is learned from the backtests along its own direction ("size" for N; "data" for D,
  and for unique data U): the scores s_j = r_j / e_jk^2 of their held-out rows beyond the fit
  along k, and c_k is the
  ceil((m_k + 1) level)-th smallest of its m_k scores (split-conformal; the largest when m_k is
  small). An input without such rows (no data backtest could be fitted) takes the quantile of
  all scores of all directions, compute included, each per square of its Euclidean distance. (The
  compute backtests also choose the form, ``fit.select``.) A target at distances e_k(x) beyond
  the data gets the interval of
  the bootstrap and noise draws widened on each side by

      sqrt(sum_k (c_k e_k(x)^2)^2),

  the errors of extrapolating along different inputs taken as independent. So a target beyond
  the data in D at a trained N is widened at the rate the data backtests measured, not at one
  rate pooled with the size backtests. Inside the data every e_k = 0 and the
  interval is that of the bootstrap and noise alone. One input: c = c_size, as before.

  Fewer data per parameter than any training row is a direction of its own (a joint law only):
  a larger N at a trained D lies there, and so do the largest models on the smallest budgets of
  an isoFLOP grid, where real losses bend away from the law toward the loss of predicting
  nothing (the unigram level; Porian et al. 2024's grids) while its data term grows without
  bound. The size and data backtests both extrapolate toward *more* of an input and never see
  that regime. So the "ratio" backtests hold out the rows with the fewest tokens per parameter,
  their scores are r_j / s_j^2 with s_j the row's shortfall below the smallest log(D / N) fitted
  (:func:`ratio_shortfall`), their conformal quantile is c_R, and a target whose log(D / N) is
  s(x) below the training rows' smallest is widened by

      max(sqrt(sum_k (c_k e_k(x)^2)^2), c_R s(x)^2).

  The larger of the two, not a third term in quadrature: log(D / N) = log D - log N is no
  direction independent of N and D, and the rows the size backtests held out (larger N at the
  same data) lay below the fewest tokens per parameter too, so their errors, and c_N, already
  hold part of it. One-sided: more data per parameter than any row is extrapolation in D, which
  c_D covers.
  Without a ratio backtest (too few rows to cut), c_R = 0, as before this term existed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scalinglab.fit.bootstrap import resample_counts

logger = logging.getLogger("scalinglab.fit.intervals")

CALIBRATION_FACTORS = (2.0, 4.0, 8.0)
# The extrapolation error beyond the data is taken to grow as the square of the log distance d:
# a law of the wrong form, fitted over a range, matches the truth's level and slope there, so
# their gap opens with the difference of curvatures, d^2 / 2 to leading order; a wrong slope is
# the bootstrap's part of the interval. Measured (docs/fitting.md, "How the score and the growth
# were chosen"; benchmarks/growth.py): with growth d a shifted power law fitted by a plain one,
# 2-8x beyond, is covered 81% of the time, 67% at 8x; with d^1.75 to d^3, 86-89%, flat in the distance.
GROWTH = 2.0
# A held-out row closer than this to the rows fitted (log units: a factor 1.5, a step of a sweep
# grid) measures noise more than extrapolation, and divided by its squared distance a noise-sized
# error would set the rate: such rows give no score. (Porian et al.'s grids hold a row 0.036
# below a ratio cut, whose score was 100 times any other.) Every backtest keeps rows beyond it:
# its largest held-out row lies at least log(factor) >= log 2 beyond its cut.
MIN_SCORED_DISTANCE = float(np.log(1.5))
DIRECTIONS = ("size", "data", "compute")
# The backtests measure the extrapolation error only as far beyond their fits as their held-out
# rows lie (Chinchilla's: 2.1 in log N, a factor 8). The d^2 growth is quoted up to this many
# times that distance along each direction (the square of the farthest factor measured: 64x for
# 8x); farther, an interval extrapolates its own error model past anything checked (at N = 1e30
# it read "1e-142 to 1e142"), and is not quoted (`Calibration.within_reach`).
REACH_ALLOWANCE = 2.0
# Fewer tokens per parameter (D / N) than any training row: a direction of its own for the
# intervals of a joint law (a larger N at a trained D is one), not for choosing the form.
RATIO = "ratio"
# Trained sizes within this (in log N: a factor 1.5) of a target's nearest trained size count as
# its size when the range of its other inputs is looked up: one size of a sweep grid, a band of
# sizes in data whose sizes are all different (Chinchilla's 240 runs have 142).
SIZE_WINDOW = float(np.log(1.5))
_DISTANCE_CHUNK = 2048  # targets per block of the (targets x rows) size-window matrix
_MAX_REDRAWS = 50


def group_ids(labels) -> np.ndarray:
    """Integer id (0..G-1) of each row's group, from any array of labels."""
    return np.unique(np.asarray(labels), return_inverse=True)[1].ravel()


def resample_group_counts(
    rng: np.random.Generator, groups: np.ndarray, n_replicates: int, min_distinct: int = 1
) -> np.ndarray:
    """Row weights of a cluster bootstrap: each replicate draws G groups with replacement.

    Every row of a group gets the number of times its group was drawn, so a group's rows move
    together. A replicate with fewer than ``min_distinct`` distinct groups (it could not
    identify the law's parameters) is drawn again, up to 50 times.

    Parameters
    ----------
    rng : Generator
    groups : ndarray of int, shape (n,)
        Group id of each row, 0..G-1 (see :func:`group_ids`).
    n_replicates : int
    min_distinct : int
        Fewest distinct groups a replicate may have (capped at G).

    Returns
    -------
    ndarray of shape (n_replicates, n), float
    """
    n_groups = int(groups.max()) + 1
    needed = min(min_distinct, n_groups)
    counts = resample_counts(rng, n_groups, n_replicates)
    for _ in range(_MAX_REDRAWS):
        short = (counts > 0).sum(axis=1) < needed
        if not short.any():
            break
        counts[short] = resample_counts(rng, n_groups, int(short.sum()))
    return counts[:, groups]


def noise_pool(log_x: np.ndarray, log_y: np.ndarray, log_residuals: np.ndarray) -> tuple[np.ndarray, str]:
    """Draws of observation noise in log y, and where they come from ("seeds" or "residuals").

    Rows with identical inputs are repeats (seeds): their deviations from their mean,
    scaled by sqrt(m / (m - 1)) to undo the mean's share, estimate the noise without any
    lack of fit. Without repeats, the residuals of the fit stand in for it.
    """
    frame = pd.DataFrame(log_x).assign(log_y=log_y)
    keys = list(range(log_x.shape[1]))
    size = frame.groupby(keys)["log_y"].transform("size").to_numpy()
    repeated = size >= 2
    if repeated.sum() >= 2:
        mean = frame.groupby(keys)["log_y"].transform("mean").to_numpy()
        deviation = (log_y - mean)[repeated] * np.sqrt(size[repeated] / (size[repeated] - 1))
        return deviation, "seeds"
    return np.asarray(log_residuals, dtype=float), "residuals"


def near_size(log_n_targets: np.ndarray, log_n_rows: np.ndarray) -> np.ndarray:
    """(targets x rows) True where a row's size is within ``SIZE_WINDOW`` of the trained size
    nearest to the target's (in log N)."""
    gap = np.abs(log_n_targets[:, None] - log_n_rows[None, :])
    return gap <= gap.min(axis=1, keepdims=True) + SIZE_WINDOW


def _range_excess(values: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return np.maximum(values - high, 0.0) + np.maximum(low - values, 0.0)


def excess_beyond(log_x: np.ndarray, fitted_log_x: np.ndarray) -> np.ndarray:
    """How far each row of ``log_x`` lies outside the fitted rows along each input, in log units.

    For the first input (size), the excess beyond the range of all fitted sizes; for each other
    input (data, unique data), beyond its range among the fitted rows at the row's own size
    (``near_size``), so that more data at a trained size is extrapolation even where larger
    models were trained on more. 0 inside the data.

    Parameters
    ----------
    log_x : ndarray (m, d)
        Log inputs of the targets.
    fitted_log_x : ndarray (n, d)
        Log inputs of the rows the law was fitted on.

    Returns
    -------
    ndarray (m, d), >= 0
    """
    log_x = np.asarray(log_x, dtype=float)
    outside = _range_excess(log_x, fitted_log_x.min(axis=0), fitted_log_x.max(axis=0))
    for start in range(0, len(log_x), _DISTANCE_CHUNK):
        block = slice(start, start + _DISTANCE_CHUNK)
        near = near_size(log_x[block, 0], fitted_log_x[:, 0])
        for k in range(1, log_x.shape[1]):
            column = fitted_log_x[:, k][None, :]
            high = np.where(near, column, -np.inf).max(axis=1)
            low = np.where(near, column, np.inf).min(axis=1)
            outside[block, k] = _range_excess(log_x[block, k], low, high)
    return outside


def excess_beyond_with_each(log_x: np.ndarray, fitted_log_x: np.ndarray, log_candidates: np.ndarray) -> np.ndarray:
    """:func:`excess_beyond` of the rows ``log_x`` (m, d) were each candidate row (c, d) fitted
    too, shape (c, m, d): a planner's look-ahead at how far its targets would still lie beyond
    the data after one more run. Row i equals ``excess_beyond(log_x, fitted_log_x + [candidate i])``."""
    log_x = np.asarray(log_x, dtype=float)
    candidates = np.atleast_2d(np.asarray(log_candidates, dtype=float))
    low = np.minimum(fitted_log_x.min(axis=0)[None, :], candidates)
    high = np.maximum(fitted_log_x.max(axis=0)[None, :], candidates)
    outside = _range_excess(log_x[None, :, :], low[:, None, :], high[:, None, :])
    if log_x.shape[1] < 2:
        return outside
    gap_fitted = np.abs(log_x[:, :1] - fitted_log_x[None, :, 0])  # (m, n)
    gap_each = np.abs(log_x[None, :, 0] - candidates[:, :1])  # (c, m)
    nearest = np.minimum(gap_fitted.min(axis=1)[None, :], gap_each)  # each candidate may be the nearest size
    step = max(1, _DISTANCE_CHUNK**2 // gap_fitted.size)
    for start in range(0, len(candidates), step):
        block = slice(start, start + step)
        near = gap_fitted[None] <= nearest[block, :, None] + SIZE_WINDOW  # (b, m, n)
        near_each = gap_each[block] <= nearest[block] + SIZE_WINDOW  # (b, m)
        for k in range(1, log_x.shape[1]):
            column, own = fitted_log_x[None, None, :, k], candidates[block, k][:, None]
            top = np.maximum(np.where(near, column, -np.inf).max(axis=2), np.where(near_each, own, -np.inf))
            bottom = np.minimum(np.where(near, column, np.inf).min(axis=2), np.where(near_each, own, np.inf))
            outside[block, :, k] = _range_excess(log_x[None, :, k], bottom, top)
    return outside


def ratio_shortfall_with_each(log_x: np.ndarray, fitted_log_x: np.ndarray, log_candidates: np.ndarray) -> np.ndarray:
    """:func:`ratio_shortfall` of the rows ``log_x`` (m, d) were each candidate row (c, d) fitted
    too, shape (c, m)."""
    log_x = np.asarray(log_x, dtype=float)
    candidates = np.atleast_2d(np.asarray(log_candidates, dtype=float))
    if log_x.shape[1] < 2:
        return np.zeros((len(candidates), len(log_x)))
    fewest = np.minimum(log_data_per_size(fitted_log_x).min(), log_data_per_size(candidates))
    return np.maximum(fewest[:, None] - log_data_per_size(log_x)[None, :], 0.0)


def log_data_per_size(log_x: np.ndarray) -> np.ndarray:
    """log(D / N) of each row (data per parameter, e.g. tokens per parameter); needs two inputs."""
    return log_x[:, 1] - log_x[:, 0]


def ratio_shortfall(log_x: np.ndarray, fitted_log_x: np.ndarray) -> np.ndarray:
    """How far each row of ``log_x`` lies below the fewest data per parameter of the fitted rows,
    min log(D / N) - log(D / N), in log units (0 at or above it, and for a one-input law).

    One-sided: more data per parameter than any row is extrapolation in D, which the data
    backtests measure; fewer is a regime (the largest models on the smallest budgets) that no
    size or data backtest reaches, since both extrapolate toward more of an input.
    """
    log_x = np.asarray(log_x, dtype=float)
    if log_x.shape[1] < 2:
        return np.zeros(len(log_x))
    return np.maximum(log_data_per_size(fitted_log_x).min() - log_data_per_size(log_x), 0.0)


def distance_beyond(log_x: np.ndarray, fitted_log_x: np.ndarray) -> np.ndarray:
    """The Euclidean norm over inputs of :func:`excess_beyond`: one distance from the data."""
    return np.sqrt((excess_beyond(log_x, fitted_log_x) ** 2).sum(axis=1))


def rows_below_cut(log_x: np.ndarray, factor: float, direction: str = "size") -> np.ndarray:
    """The training rows of a cut along ``direction`` that leaves out the last factor r.

    "size": size (first x column) at most max / r. "data": data (second column) at most the
    largest at the row's size (``near_size``) / r, except at sizes whose data spans less than r
    (nothing would be left to fit on there). "compute": N * D at most max / r. "ratio": D / N at
    least its smallest value x r (the rows with the fewest data per parameter held out).
    """
    cut = np.log(factor) - 1e-12
    if direction == RATIO:
        ratio = log_data_per_size(log_x)
        return ratio >= ratio.min() + cut
    if direction == "size":
        return log_x[:, 0] <= log_x[:, 0].max() - cut
    if direction == "compute":
        compute = log_x[:, 0] + log_x[:, 1]
        return compute <= compute.max() - cut
    near = near_size(log_x[:, 0], log_x[:, 0])
    most = np.where(near, log_x[None, :, 1], -np.inf).max(axis=1)
    least = np.where(near, log_x[None, :, 1], np.inf).min(axis=1)
    return (log_x[:, 1] <= most - cut) | (least > most - cut)


def extrapolation_cuts(log_x: np.ndarray, factors, ratio: bool = False) -> list[tuple[str, float, np.ndarray]]:
    """(direction, factor, training rows) of every cut that holds rows out and keeps some.

    The directions are ``DIRECTIONS`` for two or more inputs (and ``RATIO`` after them when
    ``ratio``), "size" alone for one.
    """
    directions = (DIRECTIONS + ((RATIO,) if ratio else ())) if log_x.shape[1] >= 2 else DIRECTIONS[:1]
    cuts = []
    for direction in directions:
        for factor in factors:
            train = rows_below_cut(log_x, factor, direction)
            if train.any() and not train.all():
                cuts.append((direction, factor, train))
    return cuts


MIN_DISTINCT_PER_INPUT = 3  # a power law with a floor along N or D (E, scale, exponent) needs 3 values


def enough_to_fit(n_params: int, log_x: np.ndarray, train: np.ndarray) -> bool:
    """Whether the rows ``train`` can identify a law of ``n_params`` parameters: more distinct
    sizes than parameters for one input; for several, more distinct rows than parameters and
    at least ``MIN_DISTINCT_PER_INPUT`` distinct values of N and of D (with two data sizes left,
    a floor and a data term cannot be told apart, and their extrapolation is arbitrary)."""
    if log_x.shape[1] == 1:
        return len(np.unique(log_x[train, 0])) >= n_params + 1
    return len(np.unique(log_x[train], axis=0)) >= n_params + 1 and all(
        len(np.unique(log_x[train, k])) >= MIN_DISTINCT_PER_INPUT for k in (0, 1)
    )


def conformal_rate(scores: np.ndarray, level: float) -> float:
    """The ceil((m + 1) level)-th smallest score (the largest when that exceeds m); 0 if none."""
    scores = np.sort(np.asarray(scores, dtype=float))
    if scores.size == 0:
        return 0.0
    rank = int(np.ceil((scores.size + 1) * level))
    return float(scores[min(rank, scores.size) - 1])


def input_direction(k: int) -> str:
    """The backtest direction that measures extrapolation along input k: "size" for the first
    (N), "data" for the others (D, and unique data U, which grows with D)."""
    return DIRECTIONS[0] if k == 0 else DIRECTIONS[1]


@dataclass(frozen=True)
class Calibration:
    """Extrapolation errors of the law measured on its own data (see the module docstring).

    Attributes
    ----------
    held_out : DataFrame
        One row per held-out row of each backtest: ``direction``, ``factor``, ``distance`` (log
        units from the rows that backtest was fitted on: the norm of the ``excess_k``),
        ``excess_0``, ``excess_1``, ... (that distance along each input), ``excess_ratio``
        (:func:`ratio_shortfall`), ``log_error`` (observed - predicted) and ``beyond_noise``
        (what of the error the noise half-width does not cover, max(|e| - w, 0)). Only rows
        beyond ``MIN_SCORED_DISTANCE`` (along ``distance``; for a "ratio" backtest, along
        ``excess_ratio``) are kept.
    noise_halfwidth : float
        Half-width w of the noise interval used in the scores.
    n_inputs : int
        Inputs of the law.
    growth : float
        How the error grows with the distance d beyond the data: the widening is c d^growth
        (``GROWTH``; another value replays the same backtests with another growth, as
        ``benchmarks/growth.py`` does).
    """

    held_out: pd.DataFrame
    noise_halfwidth: float
    n_inputs: int = 1
    growth: float = GROWTH

    def scores(self) -> pd.Series:
        """Each held-out row's ``beyond_noise`` per ``distance ** growth`` (for a "ratio"
        backtest's rows, per ``excess_ratio ** growth``): the widening rate it alone asks for."""
        along = self.held_out["distance"].to_numpy(float)
        if "excess_ratio" in self.held_out:
            ratio = self.held_out["direction"].to_numpy() == RATIO
            along = np.where(ratio, self.held_out["excess_ratio"].to_numpy(float), along)
        return self.held_out["beyond_noise"].astype(float) / along**self.growth

    def pooled_rate(self, level: float) -> float:
        """One widening rate for every direction: the conformal quantile of all scores of the
        size, data and compute backtests together (the rate of inputs without a backtest of
        their own)."""
        along_inputs = self.held_out["direction"].to_numpy() != RATIO
        return conformal_rate(self.scores().to_numpy(float)[along_inputs], level)

    def ratio_rate(self, level: float) -> float:
        """Widening per squared unit of log distance below the fewest data per parameter trained,
        c_R: the conformal quantile of ``beyond_noise / excess_ratio ** GROWTH`` over the held-out
        rows of the "ratio" backtests (0 without one: a one-input law, or too few rows to cut)."""
        if "excess_ratio" not in self.held_out:
            return 0.0
        shortfall = self.held_out["excess_ratio"].to_numpy(float)
        rows = (self.held_out["direction"].to_numpy() == RATIO) & (shortfall > MIN_SCORED_DISTANCE)
        return conformal_rate(
            self.held_out["beyond_noise"].to_numpy(float)[rows] / shortfall[rows] ** self.growth, level
        )

    def rates(self, level: float) -> np.ndarray:
        """Widening per squared unit of log distance along each input, c_k, for coverage ``level``.

        c_k is the conformal quantile of ``beyond_noise / excess_k ** GROWTH`` over the held-out
        rows of the backtests along input k (:func:`input_direction`) that lie beyond their fit along
        k; an input without such rows takes :meth:`pooled_rate`.
        """
        rates = np.empty(self.n_inputs)
        for k in range(self.n_inputs):
            excess = self.excess(k).to_numpy(float)
            rows = (self.held_out["direction"].to_numpy() == input_direction(k)) & (excess > MIN_SCORED_DISTANCE)
            scores = self.held_out["beyond_noise"].to_numpy(float)[rows] / excess[rows] ** self.growth
            rates[k] = conformal_rate(scores, level) if rows.any() else self.pooled_rate(level)
        return rates

    def excess(self, k: int) -> pd.Series:
        """The distance of each held-out row along input k."""
        return self.held_out[f"excess_{k}"] if f"excess_{k}" in self.held_out else self.held_out["distance"]

    def rate(self, level: float) -> float:
        """The largest per-input rate (:meth:`rates`): the widening per squared unit of log
        distance in the direction the law extrapolates worst."""
        return float(self.rates(level).max()) if self.n_inputs else 0.0

    def reach(self) -> np.ndarray:
        """The farthest log distance along each input at which a backtest along it measured the
        error (its held-out rows' largest excess beyond ``MIN_SCORED_DISTANCE``); an input without
        such rows takes the farthest distance of any size, data or compute backtest, as its rate
        takes their pooled quantile. 0 without any backtest."""
        along_inputs = self.held_out["direction"].to_numpy() != RATIO
        pooled = float(self.held_out["distance"].to_numpy(float)[along_inputs].max(initial=0.0))
        reach = np.full(self.n_inputs, pooled)
        for k in range(self.n_inputs):
            excess = self.excess(k).to_numpy(float)
            rows = (self.held_out["direction"].to_numpy() == input_direction(k)) & (excess > MIN_SCORED_DISTANCE)
            if rows.any():
                reach[k] = excess[rows].max()
        return reach

    def ratio_reach(self) -> float:
        """The farthest shortfall below the fewest data per parameter at which a "ratio" backtest
        measured the error; without one, the farthest distance along the size backtests (whose
        held-out rows, larger N at the same data, lay below that ratio too)."""
        if "excess_ratio" in self.held_out:
            shortfall = self.held_out["excess_ratio"].to_numpy(float)
            rows = (self.held_out["direction"].to_numpy() == RATIO) & (shortfall > MIN_SCORED_DISTANCE)
            if rows.any():
                return float(shortfall[rows].max())
        return float(self.reach()[0]) if self.n_inputs else 0.0

    def within_reach(self, excess: np.ndarray, shortfall: np.ndarray | None = None) -> np.ndarray:
        """Whether each target's interval is quoted: True unless it lies beyond ``REACH_ALLOWANCE``
        times :meth:`reach` along some input, or that many times :meth:`ratio_reach` below the
        fewest data per parameter. Without any backtest the reach is 0: the interval holds no
        extrapolation term, so it is quoted inside the data only (seen: '1.70 to 1.79' at 1e8
        times the largest size of 4)."""
        excess = np.atleast_2d(np.asarray(excess, dtype=float))
        inside = (excess <= REACH_ALLOWANCE * self.reach()[None, :]).all(axis=1)
        if shortfall is not None:
            inside &= np.asarray(shortfall, dtype=float) <= REACH_ALLOWANCE * self.ratio_reach()
        return inside

    def widening(self, excess: np.ndarray, level: float, shortfall: np.ndarray | None = None) -> np.ndarray:
        """Half-width added to each side of a log interval: max(sqrt(sum_k (c_k e_k^2)^2), c_R s^2)
        for targets at per-input distances ``excess`` (m, d) (:func:`excess_beyond`) and
        ``shortfall`` s below the fewest data per parameter trained (:func:`ratio_shortfall`;
        None: 0).

        The errors of extrapolating along different inputs are taken as independent, so their
        terms add in quadrature; along one input it is c_k e_k^2. The ratio term is no
        independent direction (log D - log N): the larger of the two counts what both backtests
        saw once (module docstring).
        """
        along_inputs = np.sqrt(((self.rates(level)[None, :] * excess**self.growth) ** 2).sum(axis=1))
        if shortfall is None:
            return along_inputs
        return np.maximum(along_inputs, self.ratio_rate(level) * np.asarray(shortfall, dtype=float) ** self.growth)


def backtest_masks(form, log_x: np.ndarray, factors=CALIBRATION_FACTORS):
    """Training rows of each calibration backtest: the cuts of :func:`extrapolation_cuts` that
    leave enough rows to fit ``form`` on (:func:`enough_to_fit`).

    Returns
    -------
    masks : ndarray of bool, shape (k, n)
        One row per used cut; True where the row is fitted on.
    used : list of (str, float)
        The direction and factor of each mask.
    """
    masks, used = [], []
    for direction, factor, train in extrapolation_cuts(log_x, factors, ratio=True):
        # A larger factor that cuts the same rows (sizes 3x apart, r = 4 and 8) is the same
        # backtest: counting its scores twice would weigh that cut double.
        repeated = any((train == mask).all() for mask in masks)
        if enough_to_fit(form.n_params, log_x, train) and not repeated:
            masks.append(train)
            used.append((direction, factor))
    return np.array(masks, dtype=bool).reshape(len(masks), len(log_x)), used


def calibrate(
    thetas: np.ndarray,
    masks: np.ndarray,
    factors,
    form,
    log_x: np.ndarray,
    log_y: np.ndarray,
    noise: np.ndarray,
    level: float,
) -> Calibration:
    """Score the backtests of :func:`backtest_masks`: the rows above each cut, predicted.

    Parameters
    ----------
    thetas : ndarray (k, p)
        Internal parameters of the law fitted on the rows of each mask.
    masks, factors : as returned by :func:`backtest_masks` (``factors``: (direction, factor) pairs)
    form : Form
    log_x, log_y : the fitted data, in logs
    noise : ndarray
        Noise draws (see :func:`noise_pool`).
    level : float
        Coverage the noise half-width is taken at.
    """
    halfwidth = float(np.quantile(np.abs(noise), level)) if noise.size else 0.0
    rows = []
    for (direction, factor), train, theta in zip(factors, masks, thetas):
        test = ~train
        error = log_y[test] - form.log_predict(theta[None, :], log_x[test])[0]
        excess = excess_beyond(log_x[test], log_x[train])
        distance = np.sqrt((excess**2).sum(axis=1))
        shortfall = ratio_shortfall(log_x[test], log_x[train])
        # What of the backtest error the noise half-width does not cover is what the term must
        # add; the interval adds it to the bootstrap and noise linearly, so it is taken out
        # linearly too (Calibration.scores divides it by the distance's growth). A held-out row
        # within MIN_SCORED_DISTANCE of the fitted rows (along the inputs; for a "ratio"
        # backtest, below the fewest data per parameter fitted) gives no score.
        beyond_noise = np.maximum(np.abs(error) - halfwidth, 0.0)
        along = shortfall if direction == RATIO else distance
        outside = along > MIN_SCORED_DISTANCE
        rows.append(
            pd.DataFrame(
                {
                    "direction": direction,
                    "factor": factor,
                    "distance": distance[outside],
                    **{f"excess_{k}": excess[outside, k] for k in range(log_x.shape[1])},
                    "excess_ratio": shortfall[outside],
                    "log_error": error[outside],
                    "beyond_noise": beyond_noise[outside],
                }
            )
        )
    if not rows:
        # Debug: ScalingLaw adds this to its warnings_, which its callers show.
        logger.debug("too few sizes for an extrapolation backtest: the prediction interval has no extrapolation term")
        excess_columns = [f"excess_{k}" for k in range(log_x.shape[1])]
        held_out = pd.DataFrame(
            columns=[
                "direction",
                "factor",
                "distance",
                *excess_columns,
                "excess_ratio",
                "log_error",
                "beyond_noise",
            ]
        )
    else:
        held_out = pd.concat(rows, ignore_index=True)
    return Calibration(held_out, halfwidth, log_x.shape[1])
