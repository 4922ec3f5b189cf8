"""A wild cluster bootstrap for a fitted ScalingLaw: a measurement for benchmarks, not the fit's default.

The fit's own bootstrap resamples whole groups (model sizes). With few groups a replicate often
drops the largest sizes and extrapolates further than the fit does. The wild cluster bootstrap
(Cameron, Gelbach & Miller 2008, "Bootstrap-based improvements for inference with clustered
errors", section 3.5) keeps every row where it is and refits the fitted values plus each row's
residual times one random weight per group: Rademacher (+-1), or Webb's six-point weights
(+-sqrt(1/2), +-1, +-sqrt(3/2); M. D. Webb, "Reworking wild bootstrap-based inference for clustered
errors", Queen's Economics Department WP 1315, 2013, Canadian Journal of Economics 2023) when there
are too few groups for Rademacher's 2^G distinct draws.

Only the replicates behind the intervals change: ``ci_`` and ``bootstrap_params_`` stay the fit's.

``use_wild_bootstrap(law)`` swaps a fitted law's bootstrap replicates for wild ones, so that
``law.predict_interval`` (both kinds; the noise and the extrapolation term unchanged) gives the
intervals the fit would give with it. Used by ``planner_coverage.py --wild`` and
``coverage.py --wild``.
"""

from __future__ import annotations

import numpy as np

from scalinglab.fit.fitter import Problem, levenberg_marquardt
from scalinglab.fit.law import ScalingLaw

WEBB_BELOW = 12  # fewer groups than this draw Webb's weights (Webb advises them below about 10-12)
WEBB_WEIGHTS = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])


def group_weights(rng: np.random.Generator, n_groups: int, n_replicates: int) -> np.ndarray:
    """One weight per replicate and group, mean 0 and variance 1, shape (n_replicates, n_groups)."""
    if n_groups < WEBB_BELOW:
        return rng.choice(WEBB_WEIGHTS, size=(n_replicates, n_groups))
    return rng.choice(np.array([-1.0, 1.0]), size=(n_replicates, n_groups))


def wild_cluster_thetas(law: ScalingLaw, n_replicates: int, seed: int) -> np.ndarray:
    """Internal parameters of ``n_replicates`` wild-cluster refits of ``law``, shape (B, p).

    Groups are the law's default ones: the distinct values of its first input (model size).
    """
    log_x = law.fitted_log_x_
    fitted = law.form_.log_predict(law.theta_[None, :], log_x)[0]
    _, group_of_row = np.unique(log_x[:, 0], return_inverse=True)
    weights = group_weights(np.random.default_rng(seed), int(group_of_row.max()) + 1, n_replicates)
    thetas = []
    for replicate_weights in weights:
        # One problem per replicate: each has its own y (the LM batch shares one y over its starts).
        log_y = fitted + law.log_residuals_ * replicate_weights[group_of_row]
        problem = Problem(law.form_, log_x, log_y, float(law.huber_delta))
        thetas.append(levenberg_marquardt(problem, law.theta_[None, :], rtol=1e-8)[0][0])
    return np.array(thetas)


def use_wild_bootstrap(law: ScalingLaw, seed: int = 0) -> ScalingLaw:
    """``law`` with its bootstrap replicates replaced by as many wild-cluster ones (in place)."""
    law.bootstrap_theta_ = wild_cluster_thetas(law, len(law.bootstrap_theta_), seed)
    return law
