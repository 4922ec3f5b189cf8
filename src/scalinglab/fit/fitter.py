"""Robust multi-start fitting: Huber loss on log residuals, minimised for many starts at once.

The objective of one parameter vector theta is

    f(theta) = sum_i w_i * huber_delta(log_predict(theta, x_i) - log y_i)

with w_i = 1 for a plain fit and w_i = the number of times row i was drawn for a bootstrap
replicate. ``levenberg_marquardt`` minimises it for S parameter vectors (and, for the bootstrap,
S weight vectors) in one batch of numpy operations: each iteration solves S small p x p systems.

The step. The Huber loss is quadratic for |r| <= delta and linear beyond, so the Gauss-Newton
curvature of the objective comes only from the points inside: H_in = J_in^T J_in. With a small
delta (1e-3, nearly an L1 fit) few points are inside and H_in is singular far from the optimum.
The step therefore solves

    (H_in + lambda * H_irls) step = -gradient,   H_irls = J^T diag(min(1, delta/|r|)) J,

where H_irls is the curvature of the reweighted least-squares majoriser of the Huber loss
(huber(r) <= huber(r0) + w(r0)/2 (r^2 - r0^2), w = min(1, delta/|r|)). A large lambda gives
short reweighted steps, which always descend; lambda -> 0 gives Gauss-Newton on the points
inside, which converges in a few steps once they are identified (the idea of Madsen and
Nielsen's finite algorithm for Huber regression). Reweighting alone needs hundreds of
iterations near an L1-like optimum. A step is kept only when it lowers the true objective;
lambda shrinks after a kept step and grows after a rejected one, per start.

Variable projection of the starts. For a separable form, y = sum_k c_k * term_k(x; rest), the
scales c_k = exp(scale_k) enter linearly: for fixed exponents the best scales follow from a
small non-negative least-squares problem on relative residuals (y_hat - y) / y, which is the
log residual to first order. ``profile_scales`` replaces the scales of every start by these,
so starts that differ only in their scales (5 x 6 x 6 of the 4,500 of Chinchilla's grid, for
each pair of exponents) become one: the search runs over the exponents only, and the few
profiled starts are then optimised jointly (scales and exponents) on the true Huber objective.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from scalinglab.errors import UserError
from scalinglab.fit.forms import Form

DEFAULT_HUBER_DELTA = 1e-3

# A race round that lowers the best objective by less than this (relative) ends the race;
# L-BFGS-B then polishes the best start.
_RACE_RTOL = 1e-6

# Starts x points optimised in one batch; bounds the size of each temporary array (~12 MB).
_MAX_CELLS_PER_BATCH = 1_500_000


def huber(residuals: np.ndarray, delta: float) -> np.ndarray:
    """Huber loss, elementwise: r^2/2 for |r| <= delta, delta*(|r| - delta/2) beyond.

    Parameters
    ----------
    residuals : ndarray
        Residuals (here: log predicted minus log observed).
    delta : float
        Where the loss turns from quadratic to linear.
    """
    magnitude = np.abs(residuals)
    return np.where(magnitude <= delta, 0.5 * residuals**2, delta * (magnitude - 0.5 * delta))


@dataclass(frozen=True)
class Problem:
    """The data and loss of one fit, in log space.

    Attributes
    ----------
    form : Form
        The scaling-law form.
    log_x : ndarray of shape (n, d)
        Log of the inputs.
    log_y : ndarray of shape (n,)
        Log of the observed values.
    delta : float
        Huber delta on log residuals.
    """

    form: Form
    log_x: np.ndarray
    log_y: np.ndarray
    delta: float = DEFAULT_HUBER_DELTA

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of the internal parameters, each (p,)."""
        return self.form.bounds(self.log_x)

    def clip(self, theta: np.ndarray) -> np.ndarray:
        """Project parameter vectors onto the bounds."""
        lower, upper = self.bounds
        return np.clip(theta, lower, upper)

    def objective(self, theta: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Summed Huber loss of each parameter vector, shape (S,).

        Parameters
        ----------
        theta : ndarray of shape (S, p)
            Internal parameters.
        weights : ndarray of shape (n,) or (S, n), optional
            Weight of each point (bootstrap counts); 1 when omitted.
        """
        residuals = self.form.log_predict(np.atleast_2d(theta), self.log_x) - self.log_y
        loss = huber(residuals, self.delta)
        if weights is not None:
            loss = loss * weights
        with np.errstate(invalid="ignore"):
            return np.where(np.isfinite(loss).all(axis=1), loss.sum(axis=1), np.inf)


def _stationarity_terms(problem: Problem, theta: np.ndarray, weights: np.ndarray):
    """Objective, gradient and the two curvature matrices of each row of ``theta``.

    Returns
    -------
    loss : (S,), inf where the loss is not finite
    gradient : (S, p)
    hessian_inside : (S, p, p), J^T diag(weights * [|r| <= delta]) J
    hessian_irls : (S, p, p), J^T diag(weights * min(1, delta/|r|)) J
    """
    delta = problem.delta
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        pred, jacobian = problem.form.log_predict_and_jacobian(theta, problem.log_x)
        residuals = pred - problem.log_y
        magnitude = np.abs(residuals)
        inside = magnitude <= delta
        loss = np.einsum("sn,sn->s", huber(residuals, delta), weights)
        weighted_psi = weights * np.clip(residuals, -delta, delta)
        # One (S, p, n) array: the products below are then single batched matmuls.
        stacked = np.stack([np.broadcast_to(column, residuals.shape) for column in jacobian], axis=1)
        gradient = np.matmul(stacked, weighted_psi[:, :, None])[:, :, 0]
        hessian_inside = _inside_gram(stacked, weights * inside)
        hessian_irls = _weighted_gram(stacked, weights * (delta / np.maximum(magnitude, delta)))
    finite = np.isfinite(loss) & np.isfinite(gradient).all(axis=1) & np.isfinite(hessian_irls).all(axis=(1, 2))
    return np.where(finite, loss, np.inf), gradient, hessian_inside, hessian_irls


def _inside_gram(jacobian: np.ndarray, inside_weights: np.ndarray) -> np.ndarray:
    """_weighted_gram for the points inside the quadratic zone, computed only for the rows that
    have any: far from an optimum (the first multi-start rounds) that is few rows."""
    n_params = jacobian.shape[1]
    gram = np.zeros((inside_weights.shape[0], n_params, n_params))
    rows = np.flatnonzero(inside_weights.any(axis=1))
    if rows.size:
        gram[rows] = _weighted_gram(jacobian[rows], inside_weights[rows])
    return gram


def _weighted_gram(jacobian: np.ndarray, point_weights: np.ndarray) -> np.ndarray:
    """J^T diag(point_weights) J per row, from the stacked Jacobian (S, p, n)."""
    return np.matmul(jacobian * point_weights[:, None, :], jacobian.transpose(0, 2, 1))


@dataclass
class _Batch:
    """The still-running starts of a Levenberg-Marquardt batch and their current state."""

    rows: np.ndarray  # which start (row of the output) each batch row is
    theta: np.ndarray
    weights: np.ndarray
    damping: np.ndarray
    loss: np.ndarray
    gradient: np.ndarray
    hessian_inside: np.ndarray
    hessian_irls: np.ndarray

    _STATE = ("rows", "theta", "weights", "damping", "loss", "gradient", "hessian_inside", "hessian_irls")

    def keep(self, mask: np.ndarray) -> None:
        for name in self._STATE:
            setattr(self, name, getattr(self, name)[mask])

    def accept(self, improved, theta, loss, gradient, hessian_inside, hessian_irls) -> None:
        self.theta[improved] = theta[improved]
        self.loss[improved] = loss[improved]
        self.gradient[improved] = gradient[improved]
        self.hessian_inside[improved] = hessian_inside[improved]
        self.hessian_irls[improved] = hessian_irls[improved]


def _damped_step(problem: Problem, batch: _Batch) -> np.ndarray:
    """Solve (H_in + lambda H_irls) step = -gradient for every row (see the module docstring)."""
    lower, upper = problem.bounds
    theta, gradient = batch.theta, batch.gradient
    # A parameter at a bound whose descent direction points outside stays where it is.
    pinned = ((theta <= lower) & (gradient > 0)) | ((theta >= upper) & (gradient < 0))
    free = ~pinned
    system = batch.hessian_inside + batch.damping[:, None, None] * batch.hessian_irls
    system *= free[:, :, None] & free[:, None, :]
    # A floor keeps the system positive definite where a parameter has (almost) no influence.
    irls_diagonal = np.diagonal(batch.hessian_irls, axis1=1, axis2=2)
    floor = 1e-10 * irls_diagonal.max(axis=1, keepdims=True) + 1e-300
    p = system.shape[1]
    system[:, np.arange(p), np.arange(p)] += floor + pinned
    rhs = np.where(pinned, 0.0, gradient)[:, :, None]
    with np.errstate(invalid="ignore", over="ignore"):
        try:
            return -np.linalg.solve(system, rhs)[:, :, 0]
        except np.linalg.LinAlgError:
            # Some row is exactly singular (a bootstrap replicate drawn onto too few distinct
            # sizes, say): the pseudo-inverse gives every row its least-norm step instead.
            return -(np.linalg.pinv(system) @ rhs)[:, :, 0]


def levenberg_marquardt(
    problem: Problem,
    theta0: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    max_iter: int = 500,
    rtol: float = 1e-12,
) -> tuple[np.ndarray, np.ndarray]:
    """Minimise the Huber objective from every row of ``theta0`` at once.

    Parameters
    ----------
    problem : Problem
        Data, form and Huber delta.
    theta0 : ndarray of shape (S, p)
        Starting internal parameters, one row per start.
    weights : ndarray of shape (n,) or (S, n), optional
        Point weights, shared or one vector per start (bootstrap replicates).
    max_iter : int
        Iteration cap per start.
    rtol : float
        A start stops when an accepted step lowers its objective by less than ``rtol`` times
        its value, when a rejected step promised (to first order) no more than that, or when
        no step is accepted any more.

    Returns
    -------
    theta : ndarray of shape (S, p)
        Final parameters.
    loss : ndarray of shape (S,)
        Final objective values (inf where the start never produced a finite loss).
    """
    theta = problem.clip(np.array(theta0, dtype=float, copy=True))
    n_starts, n_points = theta.shape[0], len(problem.log_y)
    if weights is None:
        weights = np.ones(n_points)
    weights = np.broadcast_to(np.asarray(weights, dtype=float), (n_starts, n_points))
    per_batch = max(1, _MAX_CELLS_PER_BATCH // n_points)
    results = [
        _levenberg_marquardt_batch(problem, theta[i : i + per_batch], weights[i : i + per_batch], max_iter, rtol)
        for i in range(0, n_starts, per_batch)
    ]
    return np.concatenate([r[0] for r in results]), np.concatenate([r[1] for r in results])


def _levenberg_marquardt_batch(problem, theta, weights, max_iter, rtol):
    """levenberg_marquardt on one batch; ``theta`` is updated in place and returned."""
    n_starts = theta.shape[0]
    # Below this the loss is rounding noise: residuals cannot resolve better than a few ulps of log y.
    ulps = 8 * np.finfo(float).eps * (1.0 + np.abs(problem.log_y).max())
    rounding_floor = 0.5 * ulps**2 * weights.sum(axis=1)
    terms = _stationarity_terms(problem, theta, weights)
    final_loss = terms[0].copy()
    batch = _Batch(np.arange(n_starts), theta.copy(), weights, np.full(n_starts, 1.0), *terms)
    batch.keep(np.isfinite(final_loss))

    for _ in range(max_iter):
        if batch.rows.size == 0:
            break
        trial = problem.clip(batch.theta + _damped_step(problem, batch))
        # First-order decrease the step promises; nothing left to gain means converged.
        promised_gain = -np.einsum("sp,sp->s", batch.gradient, trial - batch.theta)
        trial_terms = _stationarity_terms(problem, trial, batch.weights)
        improved = trial_terms[0] < batch.loss
        gain = np.where(improved, batch.loss - trial_terms[0], 0.0)
        batch.accept(improved, trial, *trial_terms)
        batch.damping = np.where(improved, np.maximum(batch.damping / 3, 1e-9), batch.damping * 4)

        theta[batch.rows] = batch.theta
        final_loss[batch.rows] = batch.loss
        tolerance = rtol * batch.loss + rounding_floor[batch.rows]
        done = (improved & (gain <= tolerance)) | (~improved & (promised_gain <= tolerance)) | (batch.damping > 1e10)
        batch.keep(~done)
    return theta, final_loss


def polish(problem: Problem, theta: np.ndarray) -> tuple[np.ndarray, float, tuple[bool, str]]:
    """Refine one parameter vector with SciPy's L-BFGS-B (analytic gradient), as the paper does.

    Returns the refined parameters and objective (or the input if refinement did not help),
    and (converged, message) as L-BFGS-B reports them.
    """
    from scipy.optimize import minimize  # imported here: it costs half a second at start-up

    lower, upper = problem.bounds

    def loss_and_gradient(vector):
        pred, jacobian = problem.form.log_predict_and_jacobian(vector[None, :], problem.log_x)
        residuals = pred[0] - problem.log_y
        psi = np.clip(residuals, -problem.delta, problem.delta)
        gradient = [np.sum(np.broadcast_to(column, pred.shape)[0] * psi) for column in jacobian]
        return huber(residuals, problem.delta).sum(), np.array(gradient)

    start_loss = float(problem.objective(theta[None, :])[0])
    result = minimize(
        loss_and_gradient,
        theta,
        jac=True,
        method="L-BFGS-B",
        bounds=list(zip(lower, upper)),
        options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 1000},
    )
    status = (bool(result.success), str(result.message))
    if np.isfinite(result.fun) and result.fun < start_loss:
        return result.x, float(result.fun), status
    return theta, start_loss, status


def _nnls_by_support(gram: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Non-negative least squares min ||B c - 1||^2, c >= 0, for S problems of K <= 4 unknowns.

    From the normal equations (gram = B^T B, (S, K, K); rhs = B^T 1, (S, K)): the solution is
    the unconstrained optimum on its own support, so every support is solved in one batch and
    the best non-negative one kept (2^K - 1 small solves instead of an active-set loop).

    Returns
    -------
    ndarray of shape (S, K), zero outside the chosen support.
    """
    n_problems, n_terms = rhs.shape
    best = np.zeros((n_problems, n_terms))
    best_value = np.zeros(n_problems)  # c = 0 gives ||1||^2 - 0: the objective less that constant
    ridge = 1e-12 * np.trace(gram, axis1=1, axis2=2)[:, None, None] + 1e-300
    for size in range(1, n_terms + 1):
        for support in itertools.combinations(range(n_terms), size):
            index = np.array(support)
            sub_gram = gram[:, index[:, None], index[None, :]] + ridge * np.eye(size)
            sub_rhs = rhs[:, index]
            with np.errstate(invalid="ignore", over="ignore"):
                coefficients = np.linalg.solve(sub_gram, sub_rhs[:, :, None])[:, :, 0]
                value = -np.einsum("sk,sk->s", coefficients, sub_rhs)  # c.Gc - 2 c.b at the optimum
            better = (coefficients > 0).all(axis=1) & np.isfinite(value) & (value < best_value)
            best[better] = 0.0
            best[np.ix_(better, index)] = coefficients[better]
            best_value[better] = value[better]
    return best


def profile_scales(problem: Problem, starts: np.ndarray) -> np.ndarray:
    """Starts of a separable form with their scales replaced by the profiled optimum.

    Starts that differ only in their scale parameters collapse into one (see the module
    docstring). Forms that are not separable get their starts back unchanged.

    Parameters
    ----------
    problem : Problem
        Data and form.
    starts : ndarray of shape (S, p)
        Internal parameters.

    Returns
    -------
    ndarray of shape (S', p), S' <= S, in the order of first appearance.
    """
    form = problem.form
    if not form.scale_index:
        return starts
    scale_index = list(form.scale_index)
    theta = np.array(starts, dtype=float, copy=True)
    theta[:, scale_index] = 0.0
    _, first = np.unique(np.delete(theta, scale_index, axis=1), axis=0, return_index=True)
    theta = problem.clip(theta[np.sort(first)])
    n_starts, n_points = theta.shape[0], len(problem.log_y)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        # Term k over y: the relative residual is sum_k c_k term_k / y - 1.
        log_relative = [
            np.broadcast_to(term, (n_starts, n_points)) - problem.log_y for term in form.log_terms(theta, problem.log_x)
        ]
        basis = np.exp(np.clip(np.stack(log_relative, axis=2), -700.0, 700.0))
        gram = np.einsum("snk,snl->skl", basis, basis)
        rhs = basis.sum(axis=1)
    coefficients = _nnls_by_support(gram, rhs)
    # A term the least squares drops starts negligible (1e-12 of y), not at log(0).
    theta[:, scale_index] = np.log(np.maximum(coefficients, 1e-12))
    return problem.clip(theta)


@dataclass(frozen=True)
class MultiStartResult:
    """Outcome of a multi-start fit.

    Attributes
    ----------
    theta : ndarray of shape (p,)
        Best internal parameters.
    loss : float
        Objective at ``theta``.
    n_starts : int
        Number of starting points given (before profiling).
    n_optimised : int
        Starts actually optimised: after profiling the scales of a separable form, starts that
        shared their exponents count once.
    n_at_best : int
        Of the starts run to convergence, how many reached the best objective (within a
        relative 1e-6): one alone is a warning sign of a rugged objective.
    n_converged_runs : int
        Starts run to convergence (the survivors of successive halving).
    converged : bool
        Whether the final local optimisation (L-BFGS-B) reported convergence.
    message : str
        Why it stopped, in the optimiser's words.
    """

    theta: np.ndarray
    loss: float
    n_starts: int
    n_optimised: int = 0
    n_at_best: int = 1
    n_converged_runs: int = 1
    converged: bool = True
    message: str = ""


def fit_multistart(
    problem: Problem,
    starts: np.ndarray,
    *,
    round_iter: int = 2,
    shrink: int = 3,
    min_keep: int = 24,
    race_iter: int = 25,
    race_margin: float = 0.5,
) -> MultiStartResult:
    """Fit from every start at once, dropping the least promising ones as the fit proceeds.

    Successive halving: all starts take ``round_iter`` batched iterations, the best
    1/``shrink`` of them go on, and so on until ``min_keep`` remain. Those race: after each
    ``race_iter`` iterations a start whose objective is more than ``1 + race_margin`` times the
    best one's leaves (the best three always stay), so a start crawling along a flat valley
    does not hold the batch for hundreds of iterations. The rest run to convergence and the
    best is polished with L-BFGS-B. The starts of a separable form are first reduced by
    :func:`profile_scales`.

    Parameters
    ----------
    problem : Problem
        Data, form and Huber delta.
    starts : ndarray of shape (S, p)
        Starting points (internal parameters).
    round_iter, shrink, min_keep : int
        Iterations per round, the factor by which each round cuts the starts, and how many
        starts enter the race.
    race_iter, race_margin
        Iterations between two cuts of the race, and how much worse than the best a start may be.

    Raises
    ------
    UserError
        When no start gives a finite objective.
    """
    candidates = profile_scales(problem, np.asarray(starts, dtype=float))
    n_optimised = len(candidates)
    while len(candidates) > min_keep:
        candidates, loss = levenberg_marquardt(problem, candidates, max_iter=round_iter)
        n_keep = max(min_keep, len(candidates) // shrink)
        candidates = candidates[np.argsort(loss, kind="stable")[:n_keep]]
    refined, refined_loss = _race(problem, candidates, race_iter, race_margin)
    if not np.isfinite(refined_loss).any():
        raise UserError(
            f"form {problem.form.name!r}: no starting point gives a finite loss on these data; "
            "check the columns or pass start_grid="
        )
    theta, loss, (polished, message) = polish(problem, refined[int(np.argmin(refined_loss))])
    converged, message = _convergence(problem, theta, polished, message)
    finite = refined_loss[np.isfinite(refined_loss)]
    n_at_best = int(np.sum(finite <= loss + 1e-6 * abs(loss) + 1e-12))
    return MultiStartResult(
        theta=theta,
        loss=loss,
        n_starts=len(starts),
        n_optimised=n_optimised,
        n_at_best=max(1, n_at_best),
        n_converged_runs=len(refined),
        converged=converged,
        message=message,
    )


def _race(problem: Problem, candidates: np.ndarray, race_iter: int, margin: float):
    """Run the starts to convergence, cutting those far behind the best every ``race_iter`` steps.

    The race ends when no start is left, or when a whole round lowered the best objective by
    less than ``_RACE_RTOL`` relative: what remains is then crawling along a flat valley (a
    floor E sliding towards 0, say) at no visible gain.
    """
    finished_theta, finished_loss = [], []
    loss = problem.objective(candidates)
    best = np.min(loss)
    for _ in range(max(1, 500 // race_iter)):
        theta, new_loss = levenberg_marquardt(problem, candidates, max_iter=race_iter)
        stalled = new_loss >= loss * (1 - 1e-12)  # no progress in a whole round: converged
        finished_theta.append(theta[stalled])
        finished_loss.append(new_loss[stalled])
        previous_best, best = best, np.min(np.concatenate([new_loss, *finished_loss]))
        order = np.argsort(new_loss, kind="stable")
        near = new_loss <= best * (1 + margin) + 1e-300
        near[order[:3]] = True
        going = near & ~stalled
        candidates, loss = theta[going], new_loss[going]
        if len(candidates) == 0 or best >= previous_best * (1 - _RACE_RTOL):
            break
    return (np.concatenate([*finished_theta, candidates]), np.concatenate([*finished_loss, loss]))


def _convergence(problem: Problem, theta: np.ndarray, polished: bool, message: str):
    """(converged, why): L-BFGS-B's verdict, or a projected gradient negligible on the loss's scale.

    L-BFGS-B reports a failed line search ("ABNORMAL") when started at an optimum of the
    Huber loss, whose curvature jumps; the gradient then tells whether it is one.
    """
    if polished:
        return True, message
    weights = np.ones((1, len(problem.log_y)))
    _, gradient, _, _ = _stationarity_terms(problem, theta[None, :], weights)
    lower, upper = problem.bounds
    gradient = gradient[0]
    outward = ((theta <= lower) & (gradient > 0)) | ((theta >= upper) & (gradient < 0))
    largest = float(np.max(np.abs(np.where(outward, 0.0, gradient))))
    tolerance = 1e-6 * problem.delta * len(problem.log_y)
    if largest <= tolerance:
        return True, f"projected gradient {largest:.2g} <= {tolerance:.2g} (L-BFGS-B: {message})"
    return False, f"projected gradient {largest:.2g} > {tolerance:.2g} (L-BFGS-B: {message})"
