"""The recommendation on laws whose optimum is known in closed form."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scalinglab.analysis import fit_metric_vs_params
from scalinglab.errors import UserError
from scalinglab.recommend import Budgets, recommend

DATA_SIZES = (100, 300, 1000)
SECONDS_PER_PARAM_EXAMPLE = 1e-6


def floor(data_size: float) -> float:
    return 1.0 + 2.0 * data_size**-0.5


def true_loss(n_params, data_size):
    return floor(data_size) + 50.0 * np.asarray(n_params, float) ** -0.4


def true_latency_ms(n_params):
    return 0.01 * np.asarray(n_params, float) ** 0.5


@pytest.fixture(scope="module")
def outcome():
    """Runs that lie exactly on known laws: loss in N per data size, time = c N D, latency ~ sqrt(N)."""
    rows = [
        dict(
            status="ok", n_params=n, train_size=d, seed=0, val_loss=float(true_loss(n, d)),
            train_seconds=SECONDS_PER_PARAM_EXAMPLE * n * d, train_flops=6.0 * n * d,
            latency_ms_p50=float(true_latency_ms(n)), bytes_fp32=4.0 * n,
        )
        for d in DATA_SIZES
        for n in np.geomspace(1e3, 1e6, 7)
    ]
    return fit_metric_vs_params(pd.DataFrame(rows), n_bootstrap=20)


def test_time_budget_finds_the_known_optimum(outcome):
    budget_s = 200.0
    # Under a time budget each data size affords N = T / (c D); the best is the lowest loss there.
    affordable = {d: budget_s / (SECONDS_PER_PARAM_EXAMPLE * d) for d in DATA_SIZES}
    best_d = min(DATA_SIZES, key=lambda d: true_loss(affordable[d], d))
    assert best_d == 300  # interior: neither the least nor the most data wins, so the test can fail

    choice = recommend(outcome, Budgets(train_seconds=budget_s))

    assert choice.group == best_d
    assert choice.n_params == pytest.approx(affordable[best_d], rel=0.015)
    assert choice.n_params <= affordable[best_d] * 1.0001
    assert choice.predicted == pytest.approx(true_loss(affordable[best_d], best_d), rel=1e-3)
    assert choice.binding == "--train-seconds 200"
    assert choice.usage["train_seconds"]["predicted"] <= budget_s
    assert choice.warnings == []  # 6.7e5 lies inside the trained range 1e3..1e6


def test_latency_binds_before_time(outcome):
    limit_ms = 2.0
    largest_fast_enough = (limit_ms / 0.01) ** 2  # 4e4 parameters
    choice = recommend(outcome, Budgets(train_seconds=200.0, latency_ms=limit_ms))
    assert choice.group == 1000  # at 4e4 parameters time is no object, so the most data wins
    assert choice.n_params == pytest.approx(largest_fast_enough, rel=0.015)
    assert choice.binding == "--latency-ms 2"


def test_far_extrapolation_is_said(outcome):
    choice = recommend(outcome, Budgets(train_seconds=1e5))
    assert choice.extrapolation_factor > 3
    assert any("far outside what was trained" in warning for warning in choice.warnings)


def test_pareto_frontier_only_buys_improvements(outcome):
    choice = recommend(outcome, Budgets(train_seconds=200.0))
    frontier = choice.frontiers["train_seconds"]
    assert 3 <= len(frontier) <= 13
    assert frontier["train_seconds"].is_monotonic_increasing
    assert frontier["val_loss"].is_monotonic_decreasing
    assert frontier["chosen"].sum() == 1
    assert set(frontier["train_size"]) <= set(DATA_SIZES)


def test_budget_nothing_fits_is_a_user_error(outcome):
    with pytest.raises(UserError, match="no model size fits the budget.*raise the budget"):
        recommend(outcome, Budgets(train_seconds=1e-9))


def test_budget_without_a_law_is_a_user_error(outcome):
    with pytest.raises(UserError, match="--memory-mb: no law of peak_memory_bytes"):
        recommend(outcome, Budgets(train_seconds=200.0, memory_mb=10.0))
