"""The design math of the planner: how much a run would shrink the target's uncertainty.

Everything here is linear algebra on a fitted law's parameters (internal, log-space ones, see
``scalinglab.fit.forms``), in the standard local linearisation of a nonlinear model around its
estimate (Chernoff 1953, "Locally optimal designs for estimating parameters"; Atkinson, Donev and
Tobias 2007, *Optimum Experimental Designs, with SAS*, ch. 17):

* a run at inputs x observes log y(x) = f(x, theta) + noise, with gradient j(x) = df/dtheta;
* the parameters' uncertainty is a covariance ``sigma`` (p, p);
* observing x with noise variance s2 updates it as a Kalman / Bayesian linear step,
  sigma' = sigma - sigma j j' sigma / (j' sigma j + s2);
* the variance of log y at a target t is g(t)' sigma g(t), so the run lowers the mean target
  variance by  mean_t (g(t)' sigma j)^2 / (j' sigma j + s2)  (the sequential V-optimal /
  I-optimal criterion restricted to the target rows; Atkinson et al. ch. 10.6).

D-optimal design (Kiefer and Wolfowitz 1959; sequential form: Wynn 1970, Fedorov 1972) instead
raises log det of the information, by log(1 + j' sigma j / s2) per run. A batch is chosen
greedily: after each pick ``sigma`` is updated as if it had been observed, so the next pick is
scored given the picks so far (no k copies of one point). Greedy selection of this kind is the
usual approximation for batches (Krause, Singh and Guestrin 2008, JMLR 9, on near-optimal
sensor placement); the per-cost ratio is the cost-aware greedy rule of Leskovec et al. 2007.
No torch, no pandas: arrays in, arrays out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from scalinglab.fit.forms import Form
from scalinglab.fit.intervals import (
    Calibration,
    excess_beyond,
    excess_beyond_with_each,
    ratio_shortfall,
    ratio_shortfall_with_each,
)

# Prior standard deviation of every internal parameter (log scales and exponents): weak, so
# data dominate, but it keeps sigma finite when some parameter is not yet identified.
PRIOR_SD = 3.0
# Smallest noise standard deviation of log y assumed (0.1 %): a perfect fit of few rows would
# otherwise claim any run near them tells nothing new.
MIN_NOISE_SD = 1e-3


def jacobian_rows(form: Form, theta: np.ndarray, log_x: np.ndarray) -> np.ndarray:
    """d log y / d theta at each row, shape (n, p), for one internal parameter vector (p,)."""
    _, jacobian = form.log_predict_and_jacobian(theta[None, :], log_x, jacobian=True)
    n = log_x.shape[0]
    return np.column_stack([np.broadcast_to(column, (1, n))[0] for column in jacobian])


def laplace_covariance(jacobian: np.ndarray, noise_var: float, prior_sd: float = PRIOR_SD) -> np.ndarray:
    """Posterior covariance of the parameters from the told rows' gradients (p, p):
    (J'J / s2 + I / prior_sd^2)^-1, the Laplace (Gauss-Newton) approximation."""
    p = jacobian.shape[1]
    precision = jacobian.T @ jacobian / noise_var + np.eye(p) / prior_sd**2
    return _symmetric_inverse(precision)


def ensemble_covariance(thetas: np.ndarray | None) -> np.ndarray | None:
    """Covariance of bootstrap replicates of theta (p, p), or None without at least 3 finite."""
    if thetas is None:
        return None
    finite = thetas[np.isfinite(thetas).all(axis=1)]
    if len(finite) < 3:
        return None
    return np.atleast_2d(np.cov(finite, rowvar=False))


def noise_variance(noise_draws: np.ndarray, n_params: int = 0) -> float:
    """Variance of log y's observation noise from draws, floored at MIN_NOISE_SD^2.

    Residuals of a fit with ``n_params`` parameters understate the noise by (n - p) / n; their
    sum of squares is divided by n - p (at least 1) instead of n. Seed deviations (already
    corrected for their mean's share) are passed with n_params 0.
    """
    draws = np.asarray(noise_draws, dtype=float)
    draws = draws[np.isfinite(draws)]
    variance = float(np.sum(draws**2)) / max(draws.size - n_params, 1) if draws.size else 0.0
    return max(variance, MIN_NOISE_SD**2)


def _symmetric_inverse(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    values = np.maximum(values, 1e-12 * max(values.max(), 1e-300))
    return (vectors / values) @ vectors.T


def with_form_spread(
    sigma: np.ndarray,
    candidate_jacobian: np.ndarray,
    target_jacobian: np.ndarray,
    candidate_shifts: np.ndarray,
    target_shifts: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The covariance and gradients extended by one blend weight per plausible other form.

    With M other forms m, log y = f(x) + sum_m w_m (f_m(x) - f(x)): w_m = 0 is the chosen form,
    w_m = 1 form m. Each w_m gets prior mean 0 and variance 1 / (M + 1), so the target's variance
    gains the spread of the forms' predictions around the chosen one, mean over the M + 1 forms
    of (f_m(t) - f(t))^2 (Bayesian model averaging with equal weights, linearised; Draper 1995,
    "Assessment and propagation of model uncertainty", JRSS B 57). A run's gradient along w_m is
    how far the forms disagree there, f_m(x) - f(x): the standard gain formula then credits the
    runs that discriminate the forms (the T-optimal criterion of Atkinson and Fedorov 1975,
    "The design of experiments for discriminating between two rival models", Biometrika 62).

    candidate_shifts (n, M), target_shifts (T, M): f_m - f in log y. Returns sigma (p + M, p + M)
    and the two gradients with M columns more.
    """
    m = candidate_shifts.shape[1]
    p = sigma.shape[0]
    extended = np.zeros((p + m, p + m))
    extended[:p, :p] = sigma
    extended[p:, p:] = np.eye(m) / (m + 1)
    return (
        extended,
        np.hstack([candidate_jacobian, candidate_shifts]),
        np.hstack([target_jacobian, target_shifts]),
    )


def target_variance(sigma: np.ndarray, target_jacobian: np.ndarray) -> np.ndarray:
    """Variance of log y at each target row, g' sigma g, shape (T,)."""
    return np.einsum("tp,pq,tq->t", target_jacobian, sigma, target_jacobian)


@dataclass(frozen=True)
class Batch:
    """A greedy batch: positions into the candidates, in the order picked, and the score of each
    (its criterion gain given the earlier picks, divided by cost^cost_power)."""

    picks: list[int]
    scores: list[float]
    gains: list[float]


@dataclass(frozen=True)
class ExtrapolationTerm:
    """The part of the target's variance that no parameter of the law carries: its error of
    extrapolating beyond the runs, as the law's own backtests calibrated it
    (``scalinglab.fit.intervals``; the term a prediction interval is widened by beyond the data).

    The Laplace and bootstrap covariances say how uncertain the law's parameters are *if its
    form is right*; they credit a cheap run far from the target as much as one beside it. The
    extrapolation term says how wrong the form has been found to be at the distance the target
    lies from the runs, and only a run that brings the data nearer the target shrinks it: the
    planner's criterion is then the variance of the interval it reports, not of its parametric
    part alone. A target inside the runs has none. The widening w at level ``level`` is read as
    a normal half-width, variance (w / z)^2.

    ``fitted_log_x`` (n, d): the told runs; ``candidate_log_x`` (c, d), ``target_log_x`` (T, d).
    """

    calibration: Calibration
    target_log_x: np.ndarray
    candidate_log_x: np.ndarray
    fitted_log_x: np.ndarray
    level: float = 0.95

    def _variance(self, widening: np.ndarray) -> np.ndarray:
        return (widening / norm.ppf(0.5 + self.level / 2)) ** 2

    def mean_variance(self, picks: list[int]) -> float:
        """Mean over the targets of the term's variance with the told runs and ``picks`` fitted."""
        fitted = np.vstack([self.fitted_log_x, self.candidate_log_x[picks]])
        widening = self.calibration.widening(
            excess_beyond(self.target_log_x, fitted), self.level, ratio_shortfall(self.target_log_x, fitted)
        )
        return float(np.mean(self._variance(widening)))

    def gains(self, picks: list[int]) -> np.ndarray:
        """Drop of :meth:`mean_variance` were each candidate fitted besides ``picks``, shape (c,)."""
        fitted = np.vstack([self.fitted_log_x, self.candidate_log_x[picks]])
        excess = excess_beyond_with_each(self.target_log_x, fitted, self.candidate_log_x)  # (c, T, d)
        shortfall = ratio_shortfall_with_each(self.target_log_x, fitted, self.candidate_log_x)  # (c, T)
        count, targets = shortfall.shape
        widening = self.calibration.widening(
            excess.reshape(count * targets, -1), self.level, shortfall.reshape(-1)
        ).reshape(count, targets)
        return self.mean_variance(picks) - self._variance(widening).mean(axis=1)


def target_gains(sigma, candidate_jacobian, target_jacobian, noise_var) -> np.ndarray:
    """Drop of the mean target variance of log y if each candidate were observed, shape (n,)."""
    sigma_j = candidate_jacobian @ sigma  # (n, p)
    denominator = np.einsum("np,np->n", sigma_j, candidate_jacobian) + noise_var
    cross = target_jacobian @ sigma_j.T  # (T, n)
    return np.mean(cross**2, axis=0) / denominator


def d_gains(sigma, candidate_jacobian, noise_var) -> np.ndarray:
    """Rise of log det of the information if each candidate were observed, shape (n,)."""
    spread = np.einsum("np,pq,nq->n", candidate_jacobian, sigma, candidate_jacobian)
    return np.log1p(spread / noise_var)


def observe(sigma: np.ndarray, jacobian_row: np.ndarray, noise_var: float) -> np.ndarray:
    """The covariance after observing one row with the given gradient (rank-one update)."""
    sigma_j = sigma @ jacobian_row
    return sigma - np.outer(sigma_j, sigma_j) / (jacobian_row @ sigma_j + noise_var)


def greedy_batch(
    sigma: np.ndarray,
    candidate_jacobian: np.ndarray,
    target_jacobian: np.ndarray | None,
    noise_var: float,
    cost: np.ndarray,
    k: int,
    *,
    criterion: str = "target",
    cost_power: float = 1.0,
    budget: float = np.inf,
    extrapolation: ExtrapolationTerm | None = None,
) -> Batch:
    """Pick up to k candidates greedily, each the best given the picks before it.

    criterion "target" scores the drop of the target's variance (with ``extrapolation``, its
    extrapolation term's drop too), "d" the rise of log det; score = gain / cost^cost_power
    (cost_power 0: cost ignored). Only candidates that fit in what is left of ``budget`` are
    picked; fewer than k come back when nothing more fits.
    """
    available = np.ones(len(cost), dtype=bool)
    picks, scores, gains = [], [], []
    left = float(budget)
    for _ in range(int(k)):
        available &= cost <= left
        if not available.any():
            break
        if criterion == "target":
            gain = target_gains(sigma, candidate_jacobian, target_jacobian, noise_var)
            if extrapolation is not None:
                gain = gain + extrapolation.gains(picks)
        else:
            gain = d_gains(sigma, candidate_jacobian, noise_var)
        score = np.where(available, gain / cost**cost_power, -np.inf)
        best = int(np.argmax(score))
        picks.append(best)
        scores.append(float(score[best]))
        gains.append(float(gain[best]))
        available[best] = False
        left -= float(cost[best])
        sigma = observe(sigma, candidate_jacobian[best], noise_var)
    return Batch(picks, scores, gains)


# Plans compared by ``plan_for_budget``: gain per cost^power for each power. 0 is plain greedy
# (the most informative runs first), 1 the cost-effectiveness ratio; taking the better of the two
# is the budgeted greedy of Leskovec et al. (2007, "Cost-effective outbreak detection in
# networks", KDD), which keeps a constant-factor guarantee neither has alone; 0.5 sits between.
COST_POWERS = (0.0, 0.5, 1.0)


def plan_for_budget(
    sigma,
    candidate_jacobian,
    target_jacobian,
    noise_var,
    cost,
    budget,
    *,
    cost_powers=COST_POWERS,
    max_picks: int = 256,
    exchange_passes: int = 0,
    extrapolation: ExtrapolationTerm | None = None,
) -> tuple[Batch, float]:
    """Plan the whole remaining budget greedily for each cost power; keep the plan that lowers
    the target's variance most (receding horizon: the caller runs only its first picks).

    Every plan is judged by the same number: the sum of its picks' raw gains, which telescopes
    to the mean target variance before the plan minus after it (each gain is the drop given the
    picks before it), i.e. the final variance under the budget. The cost power only decides
    which runs a plan lists, not how plans are compared.

    With ``exchange_passes``, the kept plan is then improved by ``exchange`` (its picks' scores
    and gains recomputed in the plan's order; the parametric variance only, so not with
    ``extrapolation``).

    Returns the plan and its cost power.
    """
    if exchange_passes and extrapolation is not None:
        raise ValueError("exchange judges the parametric variance only; it takes no extrapolation term")
    best, best_power = None, cost_powers[0]
    for power in cost_powers:
        plan = greedy_batch(
            sigma,
            candidate_jacobian,
            target_jacobian,
            noise_var,
            cost,
            min(max_picks, len(cost)),
            cost_power=power,
            budget=budget,
            extrapolation=extrapolation,
        )
        if best is None or sum(plan.gains) > sum(best.gains):
            best, best_power = plan, power
    if exchange_passes and best.picks:
        picks = exchange(
            sigma, candidate_jacobian, target_jacobian, noise_var, cost, budget, best.picks, max_passes=exchange_passes
        )
        gains = sequential_gains(sigma, candidate_jacobian, target_jacobian, noise_var, picks)
        best = Batch(picks, [gain / cost[pick] ** best_power for gain, pick in zip(gains, picks)], gains)
    return best, best_power


def mean_target_variance(sigma: np.ndarray, target_jacobian: np.ndarray) -> float:
    """Mean over the target rows of the variance of log y, the planner's criterion."""
    return float(np.mean(target_variance(sigma, target_jacobian)))


def posterior(sigma: np.ndarray, jacobian_rows_observed: np.ndarray, noise_var: float) -> np.ndarray:
    """The covariance after observing every row of ``jacobian_rows_observed`` (m, p) at once:
    (sigma^-1 + J'J / s2)^-1, the batch form of ``observe``."""
    precision = _symmetric_inverse(sigma) + jacobian_rows_observed.T @ jacobian_rows_observed / noise_var
    return _symmetric_inverse(precision)


def exchange(
    sigma,
    candidate_jacobian,
    target_jacobian,
    noise_var,
    cost,
    budget,
    picks: list[int],
    *,
    max_passes: int = 2,
) -> list[int]:
    """Improve a plan within ``budget`` by Fedorov's exchange (Fedorov 1972, *Theory of Optimal
    Experiments*; Atkinson, Donev and Tobias 2007, ch. 12): remove one pick (or none) and put in
    its place the candidate that lowers the mean target variance left after the plan most, while
    that lowers it and the plan still fits; repeat until a pass changes nothing.

    Greedy picks are made one at a time and never revisited; an exchange can undo a pick that
    later ones made redundant. A replaced pick keeps its place in the plan, an added one goes last.
    """
    picks = list(picks)
    current = mean_target_variance(posterior(sigma, candidate_jacobian[picks], noise_var), target_jacobian)
    for _ in range(max_passes):
        improved = False
        for slot in [None, *range(len(picks))]:  # None: add a candidate without removing one
            kept = picks if slot is None else picks[:slot] + picks[slot + 1 :]
            after = posterior(sigma, candidate_jacobian[kept], noise_var)
            fits = cost <= budget - float(cost[kept].sum())
            fits[picks] = False
            if not fits.any():
                continue
            left = mean_target_variance(after, target_jacobian) - target_gains(
                after, candidate_jacobian, target_jacobian, noise_var
            )
            best = int(np.argmin(np.where(fits, left, np.inf)))
            if left[best] < current * (1 - 1e-9):
                current, improved = float(left[best]), True
                picks = picks + [best] if slot is None else picks[:slot] + [best] + picks[slot + 1 :]
        if not improved:
            break
    return picks


def sequential_gains(sigma, candidate_jacobian, target_jacobian, noise_var, picks) -> list[float]:
    """Each pick's drop of the mean target variance given the picks before it (``target_gains``)."""
    gains = []
    for pick in picks:
        gains.append(float(target_gains(sigma, candidate_jacobian[[pick]], target_jacobian, noise_var)[0]))
        sigma = observe(sigma, candidate_jacobian[pick], noise_var)
    return gains


def space_filling(
    log_x: np.ndarray,
    cost: np.ndarray,
    k: int,
    rng: np.random.Generator,
    *,
    taken: np.ndarray | None = None,
    budget: float = np.inf,
    cheap_share: float = 0.5,
) -> list[int]:
    """A small cheap starting design: greedy maximin in standardised log inputs among the
    cheapest ``cheap_share`` of candidates (at least k of them), away from the ``taken`` points
    (log inputs of runs already told); the first point at random when none is taken.

    Maximin (Johnson, Moore and Ylvisaker 1990) spreads the few first runs over every input so
    that each exponent is seen to vary before any model-based choice is made.
    """
    order = np.argsort(cost, kind="stable")
    pool = order[: min(len(cost), max(int(k), int(np.ceil(cheap_share * len(cost)))))]
    pool = pool[cost[pool] <= budget]
    if pool.size == 0:
        return []
    center, spread = log_x[pool].mean(axis=0), log_x[pool].std(axis=0)
    scale = np.where(spread > 0, spread, 1.0)
    points = (log_x[pool] - center) / scale
    nearest = np.full(pool.size, np.inf)
    for point in [] if taken is None else (np.atleast_2d(taken) - center) / scale:
        nearest = np.minimum(nearest, np.linalg.norm(points - point, axis=1))
    chosen: list[int] = []
    left = float(budget)
    while len(chosen) < k:
        if np.isinf(nearest).all():
            best = int(rng.integers(pool.size))
        else:
            distance = np.where(cost[pool] <= left, nearest, -np.inf)
            distance[chosen] = -np.inf
            best = int(np.argmax(distance))
            if not np.isfinite(distance[best]):
                break
        chosen.append(best)
        left -= float(cost[pool[best]])
        nearest = np.minimum(nearest, np.linalg.norm(points - points[best], axis=1))
    return [int(pool[i]) for i in chosen]
