"""Synthetic recovery: data drawn from known parameters is fitted back, for every form, and
the bootstrap intervals cover the truth about as often as they claim."""

import numpy as np
import pandas as pd
import pytest
from fit_helpers import EXAMPLE_PARAMS, power_table, reference_prediction

from scalinglab.fit import ScalingLaw

NOISE = 0.005  # standard deviation of the log noise


def one_input_design(n=60):
    return np.geomspace(1e2, 1e9, n)[:, None]


def joint_design():
    n, d = np.meshgrid(np.geomspace(1e6, 1e10, 8), np.geomspace(1e8, 1e12, 8))
    return np.column_stack([n.ravel(), d.ravel()])


def synthetic_table(name, seed=0):
    x = one_input_design() if name in ("power", "powerlaw", "bnsl") else joint_design()
    rng = np.random.default_rng(seed)
    y = reference_prediction(name, EXAMPLE_PARAMS[name], x) * np.exp(rng.normal(0, NOISE, len(x)))
    columns = {"x": x[:, 0]} if x.shape[1] == 1 else {"N": x[:, 0], "D": x[:, 1]}
    return pd.DataFrame({**columns, "y": y}), list(columns)


# Relative tolerance per parameter: tight where the data pins it, looser for the softer ones.
TOLERANCE = {
    "power": {"E": 0.01, "A": 0.02, "alpha": 0.005},
    "powerlaw": {"A": 0.01, "k": 0.001},
    "chinchilla": {"E": 0.01, "A": 0.1, "B": 0.1, "alpha": 0.02, "beta": 0.02},
    "kaplan": {"Nc": 0.3, "Dc": 0.3, "alpha_N": 0.02, "alpha_D": 0.02},
    "bnsl": {"E": 0.03, "A": 0.03, "c0": 0.03, "c1": 0.05, "d1": 0.1, "f1": 0.15},
}


@pytest.mark.parametrize("name", list(TOLERANCE))
def test_known_parameters_are_recovered(name):
    table, x = synthetic_table(name)
    law = ScalingLaw(name, n_bootstrap=0).fit(table, x=x, y="y")
    for param, tolerance in TOLERANCE[name].items():
        assert law.params_[param] == pytest.approx(EXAMPLE_PARAMS[name][param], rel=tolerance), param


@pytest.mark.parametrize("name", list(TOLERANCE))
def test_the_truth_lies_inside_the_bootstrap_interval(name):
    table, x = synthetic_table(name, seed=1)
    law = ScalingLaw(name, n_bootstrap=300, random_state=0).fit(table, x=x, y="y")
    inside = [law.ci_[p][0] <= EXAMPLE_PARAMS[name][p] <= law.ci_[p][1] for p in law.params_]
    # With 4-6 parameters one may fall just outside by chance; most must be inside.
    assert sum(inside) >= len(inside) - 1


def test_powerlaw_fits_a_rising_cost_with_positive_exponent():
    x = np.geomspace(1e3, 1e8, 12)
    table = pd.DataFrame({"n_params": x, "seconds": 2e-6 * x**0.9})
    law = ScalingLaw("powerlaw", n_bootstrap=0).fit(table, x="n_params", y="seconds")
    assert law.params_["k"] == pytest.approx(0.9, rel=1e-9)
    assert law.params_["A"] == pytest.approx(2e-6, rel=1e-8)


COVERAGE_TRUTH = {
    "power": {"E": 1.7, "A": 400.0, "alpha": 0.34},
    "powerlaw": {"A": 2e-6, "k": 0.9},
}


def coverage_table(name, seed):
    truth = COVERAGE_TRUTH[name]
    if name == "power":
        return power_table(n=30, seed=seed, sigma=0.01, params=tuple(truth.values()))
    x = np.geomspace(1e3, 1e8, 30)
    noise = np.exp(np.random.default_rng(seed).normal(0, 0.05, len(x)))
    return pd.DataFrame({"x": x, "y": truth["A"] * x ** truth["k"] * noise})


@pytest.mark.slow
@pytest.mark.parametrize("name", list(COVERAGE_TRUTH))
def test_95_percent_intervals_cover_the_truth_90_to_99_percent_of_200_replicates(name):
    truth = COVERAGE_TRUTH[name]
    covered = {param: 0 for param in truth}
    replicates = 200
    for seed in range(replicates):
        table = coverage_table(name, seed=1000 + seed)
        law = ScalingLaw(name, n_bootstrap=200, random_state=seed).fit(table, x="x", y="y")
        for param, value in truth.items():
            covered[param] += law.ci_[param][0] <= value <= law.ci_[param][1]
    for param, count in covered.items():
        assert 0.90 <= count / replicates <= 0.99, (param, count / replicates)
