"""Compute-optimal allocation against the closed form of Hoffmann et al. (2022), eq. 4."""

import numpy as np
import pandas as pd
import pytest

from scalinglab.errors import UserError
from scalinglab.fit import ScalingLaw, compute_optimal
from scalinglab.fit.allocate import slope_bisection_minimum

BUDGETS = [1e19, 1e21, 5.76e23, 1e26]


def closed_form_n_opt(params, compute, flops_per_param_token=6.0):
    a, b = params["alpha"], params["beta"]
    g = (a * params["A"] / (b * params["B"])) ** (1 / (a + b))
    return g * (np.asarray(compute) / flops_per_param_token) ** (b / (a + b))


def test_bisection_finds_each_minimum_even_where_the_function_is_flat():
    centres = np.array([-3.0, 0.5, 7.0])
    flat = lambda u: 1e-3 * (u - centres) ** 2 + 1  # noqa: E731
    found = slope_bisection_minimum(flat, np.full(3, -10.0), np.full(3, 10.0))
    np.testing.assert_allclose(found, centres, atol=1e-9)


def test_n_opt_matches_the_closed_form_and_spends_the_budget(chinchilla_law):
    table = compute_optimal(chinchilla_law, BUDGETS)
    np.testing.assert_allclose(table["N_opt"], closed_form_n_opt(chinchilla_law.params_, BUDGETS), rtol=1e-8)
    np.testing.assert_allclose(6 * table["N_opt"] * table["D_opt"], BUDGETS, rtol=1e-12)
    np.testing.assert_allclose(table["tokens_per_param"], table["D_opt"] / table["N_opt"], rtol=1e-12)


def test_loss_at_the_optimum_is_the_lowest_on_the_budget_line(chinchilla_law):
    row = compute_optimal(chinchilla_law, [1e22]).iloc[0]
    n = row["N_opt"] * np.array([0.5, 0.9, 1.0, 1.1, 2.0])
    losses = chinchilla_law.predict(np.column_stack([n, 1e22 / (6 * n)]))
    assert np.argmin(losses) == 2
    assert losses[2] == pytest.approx(row["loss_opt"], rel=1e-12)


def test_intervals_bracket_every_figure(chinchilla_law):
    table = compute_optimal(chinchilla_law, BUDGETS)
    for name in ("N_opt", "D_opt", "tokens_per_param", "loss_opt"):
        assert (table[f"{name}_low"] <= table[name]).all()
        assert (table[name] <= table[f"{name}_high"]).all()


def test_chinchilla_budget_allocates_about_20_tokens_per_parameter(chinchilla_law):
    # Besiroglu et al. (2024) find ~20 tokens per parameter at Chinchilla's 5.76e23 FLOPs.
    row = compute_optimal(chinchilla_law, [5.76e23]).iloc[0]
    assert 10 < row["tokens_per_param"] < 30
    assert row["tokens_per_param_low"] < 20 < row["tokens_per_param_high"]


def test_a_callable_flop_model_equal_to_6n_gives_the_same_answer(chinchilla_law):
    by_number = compute_optimal(chinchilla_law, BUDGETS, flop_model=6.0)
    by_callable = compute_optimal(chinchilla_law, BUDGETS, flop_model=lambda n: 6.0 * n)
    pd.testing.assert_frame_equal(by_number, by_callable, rtol=1e-9)


def test_a_flop_model_with_per_token_overhead_is_solved_like_a_brute_force_search(chinchilla_law):
    def flops_per_token(n):
        return 6.0 * n + 3e9

    row = compute_optimal(chinchilla_law, [1e22], flop_model=flops_per_token).iloc[0]
    sizes = np.geomspace(1e7, 1e12, 200_001)
    losses = chinchilla_law.predict(np.column_stack([sizes, 1e22 / flops_per_token(sizes)]))
    assert row["N_opt"] == pytest.approx(sizes[np.argmin(losses)], rel=1e-4)
    assert row["D_opt"] == pytest.approx(1e22 / flops_per_token(row["N_opt"]), rel=1e-9)


def test_kaplan_law_gets_an_allocation_too():
    n, d = np.meshgrid(np.geomspace(1e6, 1e10, 6), np.geomspace(1e8, 1e12, 6))
    n, d = n.ravel(), d.ravel()
    loss = ((6.4e13 / n) ** (0.076 / 0.103) + 1.8e13 / d) ** 0.103
    law = ScalingLaw("kaplan", n_bootstrap=0).fit(pd.DataFrame({"N": n, "D": d, "L": loss}), x=["N", "D"], y="L")
    table = compute_optimal(law, [1e20, 1e22])
    assert (table["N_opt"].diff().dropna() > 0).all()
    assert "N_opt_low" not in table  # no bootstrap, no interval


def test_a_single_input_law_has_no_allocation():
    x = np.geomspace(1, 1e4, 10)
    law = ScalingLaw("power", n_bootstrap=0).fit(pd.DataFrame({"x": x, "y": 1 + x**-0.5}), x="x", y="y")
    with pytest.raises(UserError, match="joint law"):
        compute_optimal(law, [1e20])


@pytest.mark.parametrize("bad", [[0.0], [np.nan], [-1e20]])
def test_budgets_must_be_positive_numbers(chinchilla_law, bad):
    with pytest.raises(UserError, match="budgets"):
        compute_optimal(chinchilla_law, bad)
