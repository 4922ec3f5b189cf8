"""The batched optimiser against SciPy, and the properties the bootstrap relies on."""

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import huber as scipy_huber

from scalinglab.fit import FORMS
from scalinglab.fit.fitter import Problem, fit_multistart, huber, levenberg_marquardt

FORM = FORMS["power"]


def noisy_power_problem(n=30, seed=0, delta=1e-3):
    rng = np.random.default_rng(seed)
    x = np.geomspace(1e6, 1e10, n)
    y = (1.7 + 400 * x**-0.34) * np.exp(rng.normal(0, 0.01, n))
    return Problem(FORM, np.log(x)[:, None], np.log(y), delta)


def scipy_optimum(problem, start):
    """Reference: SciPy's L-BFGS-B from a given start (gradient from the tested Jacobian)."""
    lower, upper = problem.bounds

    def value_and_gradient(theta):
        pred, jacobian = problem.form.log_predict_and_jacobian(theta[None, :], problem.log_x)
        psi = np.clip(pred[0] - problem.log_y, -problem.delta, problem.delta)
        gradient = [np.sum(np.broadcast_to(column, pred.shape)[0] * psi) for column in jacobian]
        return problem.objective(theta[None, :])[0], np.array(gradient)

    result = minimize(
        value_and_gradient,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=list(zip(lower, upper)),
    )
    return result.x, result.fun


def test_huber_matches_scipy():
    r = np.linspace(-0.01, 0.01, 101)
    np.testing.assert_allclose(huber(r, 1e-3), scipy_huber(1e-3, r), rtol=1e-14)


@pytest.mark.slow
@pytest.mark.parametrize("delta", [1e-3, 1e-1])
def test_batched_optimum_is_no_worse_than_scipy_from_the_same_starts(delta):
    problem = noisy_power_problem(delta=delta)
    starts = FORM.start_grid(problem.log_x, problem.log_y)[::9]
    theta, loss = levenberg_marquardt(problem, starts)
    for start, found in zip(starts, loss):
        _, reference = scipy_optimum(problem, start)
        assert found <= reference * (1 + 1e-6)


def test_counts_as_weights_equal_repeating_rows():
    problem = noisy_power_problem(n=12)
    counts = np.array([2, 0, 1, 3, 1, 0, 1, 1, 2, 0, 1, 0], dtype=float)
    repeated = Problem(
        FORM, np.repeat(problem.log_x, counts.astype(int), axis=0), np.repeat(problem.log_y, counts.astype(int))
    )
    start = FORM.start_grid(problem.log_x, problem.log_y)[:5]
    weighted_theta, weighted_loss = levenberg_marquardt(problem, start, counts)
    repeated_theta, repeated_loss = levenberg_marquardt(repeated, start)
    np.testing.assert_allclose(weighted_loss, repeated_loss, rtol=1e-9)


def test_each_row_of_a_batch_is_solved_independently():
    problem = noisy_power_problem()
    starts = FORM.start_grid(problem.log_x, problem.log_y)
    together, _ = levenberg_marquardt(problem, starts[:6])
    alone = np.vstack([levenberg_marquardt(problem, starts[i : i + 1])[0] for i in range(6)])
    np.testing.assert_allclose(together, alone, rtol=1e-12, atol=1e-12)


def test_bounds_hold_when_the_optimum_lies_outside_them():
    # Data rising with x: a decaying power law fits it best as a step, alpha at its upper bound.
    x = np.geomspace(1, 100, 20)
    problem = Problem(FORM, np.log(x)[:, None], np.log(2 + 0.1 * x))
    theta, _ = levenberg_marquardt(problem, FORM.start_grid(problem.log_x, problem.log_y))
    lower, upper = problem.bounds
    assert (theta >= lower).all() and (theta <= upper).all()
    assert np.isclose(theta[:, 2], upper[2]).any()


def test_non_finite_starts_are_reported_as_infinite_loss_not_nan():
    problem = noisy_power_problem()
    theta, loss = levenberg_marquardt(problem, np.array([[np.nan, 1.0, 0.5], [0.5, 6.0, 0.3]]))
    assert loss[0] == np.inf and np.isfinite(loss[1])


@pytest.mark.slow
def test_multistart_finds_the_global_optimum_that_a_single_poor_start_misses():
    problem = noisy_power_problem(n=40, seed=3)
    poor_start = np.array([[np.log(2.5), 0.0, 2.0]])
    _, poor_loss = levenberg_marquardt(problem, poor_start)
    best = fit_multistart(problem, FORM.start_grid(problem.log_x, problem.log_y))
    grid = FORM.start_grid(problem.log_x, problem.log_y)
    every_start = min(scipy_optimum(problem, start)[1] for start in grid[::6])
    assert best.loss <= every_start * (1 + 1e-9)
    assert best.loss < poor_loss[0]
