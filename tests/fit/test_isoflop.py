"""IsoFLOP analysis (approach 2) on runs drawn from a known Chinchilla law."""

import numpy as np
import pandas as pd
import pytest

from scalinglab.errors import UserError
from scalinglab.fit import isoflop_analysis
from scalinglab.fit.isoflop import group_by_compute

# The paper's approach 3 law: N_opt ~ C^(beta/(alpha+beta)).
E, A, B, ALPHA, BETA = 1.69, 406.4, 410.7, 0.34, 0.28
BUDGETS = [6e18, 1e19, 3e19, 6e19, 1e20, 3e20, 6e20, 1e21, 3e21]


def true_n_opt(compute):
    g = (ALPHA * A / (BETA * B)) ** (1 / (ALPHA + BETA))
    return g * (compute / 6) ** (BETA / (ALPHA + BETA))


def isoflop_runs(noise=0.003, seed=0, sizes_per_budget=9):
    rng = np.random.default_rng(seed)
    rows = []
    for compute in BUDGETS:
        for factor in np.geomspace(1 / 8, 8, sizes_per_budget):
            n = true_n_opt(compute) * factor
            d = compute / (6 * n)
            loss = (E + A * n**-ALPHA + B * d**-BETA) * np.exp(rng.normal(0, noise))
            rows.append({"N": n, "C": compute * np.exp(rng.normal(0, 0.01)), "loss": loss})
    return pd.DataFrame(rows)


def test_runs_within_the_tolerance_form_one_group():
    labels = group_by_compute(np.log10([1e19, 1.05e19, 1e20, 0.98e20, 1e21]), tolerance_decades=0.05)
    np.testing.assert_array_equal(labels, [0, 0, 1, 1, 2])


def test_budgets_each_within_the_tolerance_of_the_next_are_not_chained_into_one():
    # 0.03 decades apart each: a chain of neighbours spans 0.09 decades, more than one budget
    labels = group_by_compute(np.array([0.0, 0.03, 0.06, 0.09]), tolerance_decades=0.05)
    np.testing.assert_array_equal(labels, [0, 0, 1, 1])


def test_a_profile_of_sizes_barely_apart_is_no_profile():
    """4 widths 1.2x apart at one data size, FLOPs within 0.06 decades: 'N* at 9.07k (8.74k to 9.38k)'."""
    narrow = np.array([7.5e3, 8.0e3, 8.5e3, 9.0e3])
    wide = np.array([1e3, 3e3, 9e3, 2.7e4])
    table = pd.concat(
        [
            pd.DataFrame({"N": narrow, "C": 6 * narrow * 1437, "loss": [0.30, 0.29, 0.285, 0.29]}),
            pd.DataFrame({"N": wide, "C": 1e10, "loss": [0.5, 0.3, 0.28, 0.35]}),
            pd.DataFrame({"N": wide, "C": 1e11, "loss": [0.45, 0.25, 0.2, 0.22]}),
        ]
    )
    groups = isoflop_analysis(table, tolerance_decades=0.1, n_bootstrap=50).groups  # its exponents leave it out
    assert len(groups) == 3 and groups.loc[0, "note"].startswith("its sizes span 1.2x, less than the 2x")
    assert not groups.loc[0, "vertex_inside"] and (groups.loc[1:, "note"] == "").all()
    with pytest.raises(UserError, match="spanning 2x or more; found 1"):
        isoflop_analysis(table.iloc[:8], tolerance_decades=0.1, n_bootstrap=0)


def test_exponents_recover_the_laws_allocation():
    result = isoflop_analysis(isoflop_runs(), random_state=0)
    exponents = result.exponents.set_index("name")
    expected_a = BETA / (ALPHA + BETA)
    assert exponents.loc["a", "value"] == pytest.approx(expected_a, abs=0.02)
    assert exponents.loc["b", "value"] == pytest.approx(1 - expected_a, abs=0.02)
    assert exponents.loc["a", "ci_low"] < expected_a < exponents.loc["a", "ci_high"]
    assert len(result.groups) == len(BUDGETS)


def test_each_profile_vertex_is_near_the_true_optimum():
    groups = isoflop_analysis(isoflop_runs(noise=0.0), n_bootstrap=0).groups
    np.testing.assert_allclose(groups["N_opt"], true_n_opt(groups["compute"]), rtol=0.1)
    assert groups["vertex_inside"].all()
    assert "N_opt_low" not in groups


def test_a_group_column_overrides_the_automatic_grouping():
    runs = isoflop_runs()
    runs["budget"] = np.repeat(np.arange(len(BUDGETS)), 9)
    by_column = isoflop_analysis(runs, group="budget", n_bootstrap=0)
    automatic = isoflop_analysis(runs, n_bootstrap=0)
    pd.testing.assert_frame_equal(by_column.exponents, automatic.exponents)


def test_profiles_with_too_few_sizes_are_reported_not_used():
    runs = isoflop_runs()
    runs = runs[~((runs["C"] > 5e20) & (runs["C"] < 7e20) & (runs.index % 9 > 1))]
    groups = isoflop_analysis(runs, n_bootstrap=0).groups
    assert groups["note"].str.contains("fewer than 3").sum() == 1
    assert groups["N_opt"].isna().sum() == 1


def test_one_budget_is_not_enough():
    runs = isoflop_runs()
    with pytest.raises(UserError, match="at least two compute groups"):
        isoflop_analysis(runs[runs["C"] < 8e18], n_bootstrap=0)
