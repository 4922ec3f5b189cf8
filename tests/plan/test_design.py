"""The design algebra on a straight line, where the answers are known in closed form."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from scalinglab.fit.intervals import Calibration
from scalinglab.plan import design


def line(xs):
    """Gradients of y = a + b x at xs: rows (1, x)."""
    return np.column_stack([np.ones(len(xs)), np.asarray(xs, dtype=float)])


def test_a_target_beyond_the_data_wants_the_far_end_and_the_gain_is_the_kalman_drop():
    sigma = np.eye(2)
    candidates, target = line([0.0, 1.0, 2.0]), line([5.0])
    gains = design.target_gains(sigma, candidates, target, noise_var=0.5)
    after = design.observe(sigma, candidates[2], 0.5)
    drop = design.target_variance(sigma, target) - design.target_variance(after, target)
    assert np.argmax(gains) == 2
    assert gains[2] == pytest.approx(drop[0])


def test_greedy_batch_conditions_on_its_picks():
    sigma = np.eye(2) * 100
    candidates = line([0.0, 0.0, 0.0, 3.0, 3.0, 3.0])
    batch = design.greedy_batch(sigma, candidates, None, 1.0, np.ones(6), 2, criterion="d", cost_power=0)
    assert {0, 3} & set(batch.picks) and len({candidates[i][1] for i in batch.picks}) == 2
    assert batch.gains[0] >= batch.gains[1]


def test_budget_plans_keep_the_better_of_plain_and_per_cost_greedy():
    sigma = np.eye(2)
    candidates, target = line([1.0, 4.0]), line([5.0])
    cost = np.array([1.0, 10.0])
    plan, power = design.plan_for_budget(sigma, candidates, target, 0.1, cost, budget=10.0)
    assert plan.picks == [1] and power == 0.0  # the costly far point beats the cheap near one
    plain = design.greedy_batch(sigma, candidates, target, 0.1, cost, 2, cost_power=1.0, budget=10.0)
    assert sum(plan.gains) >= sum(plain.gains)


def test_space_filling_is_cheap_spread_and_avoids_taken_points():
    log_x = np.log(np.array([[1.0], [2.0], [4.0], [8.0], [16.0], [32.0]]))
    cost = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0])
    picks = design.space_filling(log_x, cost, 2, np.random.default_rng(0), taken=log_x[[0]])
    assert sorted(picks) == [1, 2]  # the cheaper half, away from the taken x = 1


def test_noise_variance_corrects_residuals_for_the_fitted_parameters_and_has_a_floor():
    assert design.noise_variance(np.array([0.1, -0.1, 0.1, -0.1]), 2) == pytest.approx(0.04 / 2)
    assert design.noise_variance(np.zeros(5)) == design.MIN_NOISE_SD**2


@pytest.mark.parametrize("power", design.COST_POWERS)
def test_a_plans_gains_add_up_to_its_drop_of_the_final_target_variance(power):
    # plan_for_budget compares plans by sum(gains); that is one number for every cost power, the
    # target variance left once the whole plan is observed, not raw gain against gain per cost.
    rng = np.random.default_rng(0)
    sigma = np.diag([1.0, 0.5, 2.0])
    candidates = np.column_stack([np.ones(12), rng.uniform(0, 2, 12), rng.uniform(0, 2, 12) ** 2])
    target = np.array([[1.0, 4.0, 16.0], [1.0, 3.0, 9.0]])
    cost = rng.uniform(1, 10, 12)
    plan = design.greedy_batch(sigma, candidates, target, 0.05, cost, 12, cost_power=power, budget=20.0)
    after = sigma
    for pick in plan.picks:
        after = design.observe(after, candidates[pick], 0.05)
    drop = design.target_variance(sigma, target).mean() - design.target_variance(after, target).mean()
    assert len(plan.picks) >= 2 and cost[plan.picks].sum() <= 20.0
    assert sum(plan.gains) == pytest.approx(drop, rel=1e-9)


def test_the_form_spread_adds_the_forms_disagreement_and_credits_runs_that_discriminate_them():
    sigma = np.eye(2) * 0.01
    candidates = np.array([[1.0, 1.0], [1.0, 1.0]])  # the same parameter information ...
    target = np.array([[1.0, 2.0]])
    shifts = np.array([[0.0], [0.05]])  # ... but only the second run tells the two forms apart
    target_shift = np.array([[0.1]])
    extended, candidate_jacobian, target_jacobian = design.with_form_spread(
        sigma, candidates, target, shifts, target_shift
    )
    spread = 0.1**2 / 2  # one other form, prior weight variance 1 / 2
    assert design.target_variance(extended, target_jacobian)[0] == pytest.approx(
        design.target_variance(sigma, target)[0] + spread
    )
    gains = design.target_gains(extended, candidate_jacobian, target_jacobian, 1e-4)
    plain = design.target_gains(sigma, candidates, target, 1e-4)
    assert plain[0] == pytest.approx(plain[1]) and gains[1] > gains[0] * 1.05


def test_exchange_repairs_a_greedy_budget_plan_to_the_best_affordable_design():
    # quadratic in x, target far beyond, 8 candidates of unequal cost: budgeted greedy is 3x off
    rng = np.random.default_rng(0)
    jacobian = np.column_stack([np.ones(8), rng.uniform(0, 3, 8), rng.uniform(0, 3, 8) ** 2])
    target, cost, budget, noise_var, sigma = (
        np.array([[1.0, 5.0, 25.0]]),
        rng.uniform(1, 4, 8),
        6.0,
        0.01,
        np.eye(3) * 9,
    )

    def left(picks):
        return design.mean_target_variance(design.posterior(sigma, jacobian[list(picks)], noise_var), target)

    best = min(
        left(subset)
        for size in range(1, 9)
        for subset in itertools.combinations(range(8), size)
        if cost[list(subset)].sum() <= budget
    )
    greedy, _ = design.plan_for_budget(sigma, jacobian, target, noise_var, cost, budget)
    improved, _ = design.plan_for_budget(sigma, jacobian, target, noise_var, cost, budget, exchange_passes=2)
    assert left(greedy.picks) > 2 * best
    assert left(improved.picks) == pytest.approx(best)
    assert cost[improved.picks].sum() <= budget
    assert sum(improved.gains) == pytest.approx(design.mean_target_variance(sigma, target) - best)


def extrapolation_on_a_line(candidates_x, target_x=3.0):
    """One input fitted on [0, 1], its error measured to grow as 0.5 d^2 beyond the data."""
    held_out = pd.DataFrame({"direction": ["size"], "excess_0": [1.0], "distance": [1.0], "beyond_noise": [0.5]})
    return design.ExtrapolationTerm(
        Calibration(held_out, noise_halfwidth=0.0),
        target_log_x=np.array([[target_x]]),
        candidate_log_x=np.array(candidates_x, dtype=float)[:, None],
        fitted_log_x=np.array([[0.0], [1.0]]),
    )


def test_the_extrapolation_term_is_shrunk_only_by_runs_nearer_the_target():
    term = extrapolation_on_a_line([0.5, 2.0, 3.0, 4.0])
    sd = lambda distance: 0.5 * distance**2 / 1.959964  # noqa: E731 (the widening read as a normal half-width)
    assert term.mean_variance([]) == pytest.approx(sd(2.0) ** 2)
    np.testing.assert_allclose(
        term.gains([]), [0.0, sd(2.0) ** 2 - sd(1.0) ** 2, sd(2.0) ** 2, sd(2.0) ** 2], rtol=1e-6
    )
    np.testing.assert_allclose(term.gains([1]), [0.0, 0.0, sd(1.0) ** 2, sd(1.0) ** 2], rtol=1e-6)  # given x = 2


def test_with_the_extrapolation_term_a_plans_gains_add_up_to_both_parts_drop():
    # The parametric part alone would buy the cheap far end of the fitted range (x = 0); the run
    # beside the target removes what the backtests say the form's error there is.
    xs = np.array([0.0, 0.5, 1.0, 2.5])
    sigma, candidates, target, cost = np.eye(2) * 0.01, line(xs), line([3.0]), np.array([1.0, 1.0, 1.0, 4.0])
    term = extrapolation_on_a_line(xs)
    plain = design.greedy_batch(sigma, candidates, target, 0.01, cost, 1, cost_power=1.0)
    plan = design.greedy_batch(sigma, candidates, target, 0.01, cost, 2, cost_power=1.0, extrapolation=term)
    assert plain.picks != [3] and plan.picks[0] == 3
    after = sigma
    for pick in plan.picks:
        after = design.observe(after, candidates[pick], 0.01)
    drop = design.target_variance(sigma, target).mean() - design.target_variance(after, target).mean()
    assert sum(plan.gains) == pytest.approx(drop + term.mean_variance([]) - term.mean_variance(plan.picks), rel=1e-9)
