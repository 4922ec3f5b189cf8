"""Ordinary least squares with its t intervals: the one implementation behind the linear fits of
the analysis (`batch_size.critical_batch_law`, the steps-examples fit of `batch_size`, and
`transfer.transfer_law`)."""

from __future__ import annotations

import numpy as np


def least_squares(design: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(parameters, their covariance sigma^2 (X^T X)^-1, residual degrees of freedom) of `target`
    on the columns of `design`; the covariance is nan without a residual degree of freedom."""
    design, target = np.asarray(design, float), np.asarray(target, float)
    theta, *_ = np.linalg.lstsq(design, target, rcond=None)
    dof = len(target) - design.shape[1]
    residual = target - design @ theta
    sigma2 = float(residual @ residual) / dof if dof > 0 else float("nan")
    return theta, sigma2 * np.linalg.inv(design.T @ design), dof


def t_half_widths(covariance: np.ndarray, dof: int) -> np.ndarray:
    """Half-widths of the parameters' 95 % intervals from the t-distribution with `dof` degrees of
    freedom (at least 1)."""
    from scipy import stats

    return np.sqrt(np.diag(covariance)) * stats.t.ppf(0.975, max(dof, 1))
