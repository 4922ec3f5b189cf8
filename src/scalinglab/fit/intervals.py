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
  - "compute": rows whose N * D is at most max / r.

  Each held-out row j gives a score s_j = sqrt(max(e_j^2 - w^2, 0)) / d_j: its log error e_j
  with the noise half-width w taken out in quadrature (extrapolation error and noise are
  independent), per unit of its distance d_j from the fitted rows (:func:`distance_beyond`,
  log units; rows at distance 0 are interpolation and give no score). The rate c is the
  ceil((m + 1) level)-th smallest of the m scores of all directions together (split-conformal;
  the largest when m is small), and the interval of the bootstrap and noise draws is widened by
  c * d(x) on each side. Inside the data d = 0 and the interval is that of the bootstrap and
  noise alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scalinglab.fit.bootstrap import resample_counts

logger = logging.getLogger("scalinglab.fit.intervals")

CALIBRATION_FACTORS = (2.0, 4.0, 8.0)
DIRECTIONS = ("size", "data", "compute")
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


def distance_beyond(log_x: np.ndarray, fitted_log_x: np.ndarray) -> np.ndarray:
    """How far each row of ``log_x`` lies from the fitted rows, in log units.

    The Euclidean norm over inputs of each input's excess beyond a range: for the first input
    (size), the range of all fitted sizes; for each other input (data, unique data), its range
    among the fitted rows at the row's own size (``near_size``), so that more data at a trained
    size is extrapolation even where larger models were trained on more. 0 inside the data.

    Parameters
    ----------
    log_x : ndarray (m, d)
        Log inputs of the targets.
    fitted_log_x : ndarray (n, d)
        Log inputs of the rows the law was fitted on.
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
    return np.sqrt((outside**2).sum(axis=1))


def rows_below_cut(log_x: np.ndarray, factor: float, direction: str = "size") -> np.ndarray:
    """The training rows of a cut along ``direction`` that leaves out the last factor r.

    "size": size (first x column) at most max / r. "data": data (second column) at most the
    largest at the row's size (``near_size``) / r, except at sizes whose data spans less than r
    (nothing would be left to fit on there). "compute": N * D at most max / r.
    """
    cut = np.log(factor) - 1e-12
    if direction == "size":
        return log_x[:, 0] <= log_x[:, 0].max() - cut
    if direction == "compute":
        compute = log_x[:, 0] + log_x[:, 1]
        return compute <= compute.max() - cut
    near = near_size(log_x[:, 0], log_x[:, 0])
    most = np.where(near, log_x[None, :, 1], -np.inf).max(axis=1)
    least = np.where(near, log_x[None, :, 1], np.inf).min(axis=1)
    return (log_x[:, 1] <= most - cut) | (least > most - cut)


def extrapolation_cuts(log_x: np.ndarray, factors) -> list[tuple[str, float, np.ndarray]]:
    """(direction, factor, training rows) of every cut that holds rows out and keeps some.

    The directions are ``DIRECTIONS`` for two or more inputs, "size" alone for one.
    """
    directions = DIRECTIONS if log_x.shape[1] >= 2 else DIRECTIONS[:1]
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


@dataclass(frozen=True)
class Calibration:
    """Extrapolation errors of the law measured on its own data (see the module docstring).

    Attributes
    ----------
    held_out : DataFrame
        One row per held-out row of each backtest: ``direction``, ``factor``, ``distance`` (log
        units from the rows that backtest was fitted on), ``log_error`` (observed - predicted)
        and ``score``.
    noise_halfwidth : float
        Half-width w of the noise interval used in the scores.
    """

    held_out: pd.DataFrame
    noise_halfwidth: float

    def rate(self, level: float) -> float:
        """Widening per unit of log distance, c, for intervals of coverage ``level``."""
        return conformal_rate(self.held_out["score"].to_numpy(), level)


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
    for direction, factor, train in extrapolation_cuts(log_x, factors):
        if enough_to_fit(form.n_params, log_x, train):
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
        distance = distance_beyond(log_x[test], log_x[train])
        # The backtest error is extrapolation error plus noise, independent: take the noise
        # out in quadrature, then express what is left per unit of distance. A held-out row
        # inside the fitted rows (distance 0) measures no extrapolation: it gives no score.
        beyond_noise = np.sqrt(np.maximum(error**2 - halfwidth**2, 0.0))
        outside = distance > 1e-9
        score = beyond_noise[outside] / distance[outside]
        rows.append(
            pd.DataFrame(
                {
                    "direction": direction,
                    "factor": factor,
                    "distance": distance[outside],
                    "log_error": error[outside],
                    "score": np.where(np.isfinite(score), score, np.inf),
                }
            )
        )
    if not rows:
        # Debug: ScalingLaw adds this to its warnings_, which its callers show.
        logger.debug("too few sizes for an extrapolation backtest: the prediction interval has no extrapolation term")
        held_out = pd.DataFrame(columns=["direction", "factor", "distance", "log_error", "score"])
    else:
        held_out = pd.concat(rows, ignore_index=True)
    return Calibration(held_out, halfwidth)
