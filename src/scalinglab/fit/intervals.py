"""Prediction intervals that hold beyond the data: cluster bootstrap, noise, extrapolation term.

A new measurement at x is predicted as

    log y(x) = log f_b(x) + noise + extrapolation error,

* f_b: the law refitted on a **cluster bootstrap** replicate. Whole groups of rows are drawn
  (model sizes by default, or a ``groups=`` column: the runs, seeds or checkpoints of one
  model), so rows that share a model count as one piece of evidence, not many.
* noise: drawn from the spread between seeds at the same x where some x has several rows,
  else from the residuals of the fit.
* extrapolation error: how wrong the law is when it extrapolates, measured on the data itself.
  For each factor r in ``CALIBRATION_FACTORS``, the law is refitted on the rows whose size
  (first x column) is at most max / r and predicts the rows above (refitted from the full fit,
  in the batch of the bootstrap replicates: rows above the cut get weight 0). Each held-out
  row j gives a score s_j = sqrt(max(e_j^2 - w^2, 0)) / d_j: its log error e_j with the noise
  half-width w taken out in quadrature (extrapolation error and noise are independent), per
  unit of its distance d_j beyond the fitted range (in log x). The rate c is the
  ceil((m + 1) level)-th smallest of the m scores (split-conformal; the largest when m is small),
  and the interval of the bootstrap and noise draws is widened by c * d(x) on each side.
  Inside the fitted range d = 0 and the interval is that of the bootstrap and noise alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scalinglab.fit.bootstrap import resample_counts

logger = logging.getLogger("scalinglab.fit.intervals")

CALIBRATION_FACTORS = (2.0, 4.0, 8.0)
_MAX_REDRAWS = 50


def group_ids(labels) -> np.ndarray:
    """Integer id (0..G-1) of each row's group, from any array of labels."""
    return np.unique(np.asarray(labels), return_inverse=True)[1].ravel()


def resample_group_counts(rng: np.random.Generator, groups: np.ndarray, n_replicates: int,
                          min_distinct: int = 1) -> np.ndarray:
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


def distance_beyond(log_x: np.ndarray, log_low: np.ndarray, log_high: np.ndarray) -> np.ndarray:
    """How far each row lies outside the box [low, high] of the fitted inputs, in log units.

    The Euclidean norm over inputs of max(0, log x - log high) + max(0, log low - log x).
    """
    outside = np.maximum(log_x - log_high, 0.0) + np.maximum(log_low - log_x, 0.0)
    return np.sqrt((outside**2).sum(axis=1))


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
        One row per held-out row of each backtest: ``factor``, ``distance`` (log units beyond
        the range that backtest was fitted on), ``log_error`` (observed - predicted) and ``score``.
    noise_halfwidth : float
        Half-width w of the noise interval used in the scores.
    """

    held_out: pd.DataFrame
    noise_halfwidth: float

    def rate(self, level: float) -> float:
        """Widening per unit of log distance, c, for intervals of coverage ``level``."""
        return conformal_rate(self.held_out["score"].to_numpy(), level)


def rows_below_cut(log_x: np.ndarray, factor: float) -> np.ndarray:
    """The rows whose size (first x column, in logs) is at most max / factor: a backtest's or a
    holdout's training rows."""
    size = log_x[:, 0]
    return size <= size.max() - np.log(factor) + 1e-12


def backtest_masks(form, log_x: np.ndarray, factors=CALIBRATION_FACTORS):
    """Training rows of each backtest: the rows whose size (first x column) is at most max / r.

    A factor is used when it holds some rows out and leaves at least ``form.n_params + 1``
    distinct sizes to fit on.

    Returns
    -------
    masks : ndarray of bool, shape (k, n)
        One row per used factor; True where the row is fitted on.
    used : list of float
        The factor of each mask.
    """
    size = log_x[:, 0]
    masks, used = [], []
    for factor in factors:
        train = rows_below_cut(log_x, factor)
        if not train.all() and len(np.unique(size[train])) >= form.n_params + 1:
            masks.append(train)
            used.append(factor)
    return np.array(masks, dtype=bool).reshape(len(masks), len(size)), used


def calibrate(thetas: np.ndarray, masks: np.ndarray, factors, form, log_x: np.ndarray,
              log_y: np.ndarray, noise: np.ndarray, level: float) -> Calibration:
    """Score the backtests of :func:`backtest_masks`: the rows above each cut, predicted.

    Parameters
    ----------
    thetas : ndarray (k, p)
        Internal parameters of the law fitted on the rows of each mask.
    masks, factors : as returned by :func:`backtest_masks`
    form : Form
    log_x, log_y : the fitted data, in logs
    noise : ndarray
        Noise draws (see :func:`noise_pool`).
    level : float
        Coverage the noise half-width is taken at.
    """
    halfwidth = float(np.quantile(np.abs(noise), level)) if noise.size else 0.0
    rows = []
    for factor, train, theta in zip(factors, masks, thetas):
        test = ~train
        error = log_y[test] - form.log_predict(theta[None, :], log_x[test])[0]
        distance = distance_beyond(log_x[test], log_x[train].min(axis=0), log_x[train].max(axis=0))
        # The backtest error is extrapolation error plus noise, independent: take the noise
        # out in quadrature, then express what is left per unit of distance.
        beyond_noise = np.sqrt(np.maximum(error**2 - halfwidth**2, 0.0))
        score = beyond_noise / np.maximum(distance, 1e-12)
        rows.append(pd.DataFrame({"factor": factor, "distance": distance, "log_error": error,
                                  "score": np.where(np.isfinite(score), score, np.inf)}))
    if not rows:
        # Debug: ScalingLaw adds this to its warnings_, which its callers show.
        logger.debug("too few sizes for an extrapolation backtest: the prediction interval "
                    "has no extrapolation term")
        held_out = pd.DataFrame(columns=["factor", "distance", "log_error", "score"], dtype=float)
    else:
        held_out = pd.concat(rows, ignore_index=True)
    return Calibration(held_out, halfwidth)
