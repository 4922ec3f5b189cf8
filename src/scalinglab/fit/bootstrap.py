"""Nonparametric bootstrap of a fit: resample rows, refit every replicate in one batch.

A replicate is a vector of counts (how often each row was drawn); its objective is the
count-weighted Huber loss, so all replicates share the data arrays and are refitted together
by the batched optimiser, each starting from the full-data optimum.
"""

from __future__ import annotations

import numpy as np

from scalinglab.errors import UserError
from scalinglab.fit.fitter import Problem, levenberg_marquardt


def resample_counts(rng: np.random.Generator, n_points: int, n_replicates: int) -> np.ndarray:
    """How many times each of ``n_points`` rows is drawn in each replicate, shape (B, n)."""
    draws = rng.integers(0, n_points, size=(n_replicates, n_points))
    flat = (draws + n_points * np.arange(n_replicates)[:, None]).ravel()
    counts = np.bincount(flat, minlength=n_replicates * n_points)
    return counts.reshape(n_replicates, n_points).astype(float)


def refit_replicates(problem: Problem, theta_hat: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Refit every replicate from the full-data optimum ``theta_hat``.

    Parameters
    ----------
    problem : Problem
        The full-data fitting problem.
    theta_hat : ndarray of shape (p,)
        Internal parameters fitted on all rows.
    counts : ndarray of shape (B, n)
        Row counts of each replicate (from :func:`resample_counts`).

    Returns
    -------
    ndarray of shape (B, p)
        Internal parameters of each replicate.
    """
    start = np.tile(theta_hat, (len(counts), 1))
    # A replicate stops when a step gains less than 1e-8 of its objective: a replicate crawling
    # along a flat valley would otherwise hold the batch for hundreds of iterations, and
    # percentile intervals do not resolve such gains.
    return levenberg_marquardt(problem, start, counts, rtol=1e-8)[0]


def percentile_interval(samples: np.ndarray, level: float, axis: int = 0, *, skip_nan: bool = False):
    """Equal-tailed percentile interval of bootstrap samples along ``axis``: (low, high);
    ``skip_nan``: NaN marks a sample left out (slower)."""
    if not 0 < level < 1:
        raise UserError(f"level must lie strictly between 0 and 1, got {level}")
    tail = 50.0 * (1.0 - level)
    percentile = np.nanpercentile if skip_nan else np.percentile
    low, high = percentile(samples, [tail, 100.0 - tail], axis=axis)
    return low, high
