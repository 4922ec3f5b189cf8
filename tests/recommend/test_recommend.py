"""The recommendation on laws whose optimum is known in closed form."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scalinglab.analysis import analyze
from scalinglab.errors import UserError
from scalinglab.recommendation import Budgets, recommend

pytestmark = pytest.mark.slow  # end to end: real training, sweeps or the CLI in a subprocess

DATA_SIZES = (100, 300, 1000)
SECONDS_PER_PARAM_EXAMPLE = 1e-6
E, A, ALPHA, B, BETA = 1.0, 50.0, 0.4, 2.0, 0.5


def true_loss(n_params, data_size, floor=E):
    return floor + B * np.asarray(data_size, float) ** -BETA + A * np.asarray(n_params, float) ** -ALPHA


def true_latency_ms(n_params):
    return 0.01 * np.asarray(n_params, float) ** 0.5


def runs(data_sizes=DATA_SIZES, floor=E) -> pd.DataFrame:
    """Runs that lie exactly on known laws: the loss is a chinchilla law, time = c N D, latency ~ sqrt(N)."""
    return pd.DataFrame(
        [
            dict(
                status="ok",
                n_params=n,
                train_size=d,
                seed=0,
                val_loss=float(true_loss(n, d, floor)),
                train_seconds=SECONDS_PER_PARAM_EXAMPLE * n * d,
                train_flops=6.0 * n * d,
                latency_ms_p50=float(true_latency_ms(n)),
                bytes_fp32=4.0 * n,
            )
            for d in data_sizes
            for n in np.geomspace(1e3, 1e6, 7)
        ]
    )


@pytest.fixture(scope="module")
def analysis():
    return analyze(runs(), n_bootstrap=30)


def analytic_time_optimum(budget_s: float) -> tuple[float, float]:
    """N*, D* minimising the law under c N D = T (the compute-optimal split with k = c)."""
    product = budget_s / SECONDS_PER_PARAM_EXAMPLE
    g = (ALPHA * A / (BETA * B)) ** (1 / (ALPHA + BETA))
    n_opt = g * product ** (BETA / (ALPHA + BETA))
    return n_opt, product / n_opt


def test_the_joint_law_chooses_an_untrained_data_size(analysis):
    budget_s = 200.0
    n_opt, d_opt = analytic_time_optimum(budget_s)
    assert d_opt not in DATA_SIZES and min(DATA_SIZES) < d_opt < max(DATA_SIZES)

    choice = recommend(analysis, Budgets(train_seconds=budget_s))

    assert choice.law.startswith("joint law")
    assert choice.train_size not in DATA_SIZES
    assert choice.train_size == pytest.approx(d_opt, rel=0.10)  # data grid: 25 sizes over one decade
    assert choice.n_params == pytest.approx(n_opt, rel=0.10)
    assert choice.predicted == pytest.approx(true_loss(choice.n_params, choice.train_size), rel=1e-3)
    assert choice.predicted <= true_loss(n_opt, d_opt) * 1.002  # as good as the true optimum, to the grid step
    assert choice.usage["train_seconds"]["predicted"] <= budget_s
    assert choice.binding == "the budget --train-seconds 200"
    assert choice.ci_low <= choice.predicted * (1 + 1e-9) and choice.predicted <= choice.ci_high * (1 + 1e-9)


def test_data_available_caps_the_data(analysis):
    capped = analyze(runs(), n_bootstrap=0, data_available=150)
    choice = recommend(capped, Budgets(train_seconds=200.0))
    assert choice.train_size <= 150


def test_latency_binds_before_time(analysis):
    limit_ms = 2.0
    largest_fast_enough = (limit_ms / 0.01) ** 2  # 4e4 parameters
    choice = recommend(analysis, Budgets(train_seconds=200.0, latency_ms=limit_ms))
    assert choice.train_size == 1000  # at 4e4 parameters time is no object, so all the data wins
    assert choice.n_params == pytest.approx(largest_fast_enough, rel=0.015)
    assert choice.binding == "the budget --latency-ms 2"


def test_far_extrapolation_is_said(analysis):
    choice = recommend(analysis, Budgets(train_seconds=1e5))
    assert choice.extrapolation_factor > 3
    assert "far outside what was trained" in choice.warnings[0]


def test_a_floorless_law_stays_inside_the_trained_range_unless_asked():
    floorless = analyze(runs(floor=0.0), n_bootstrap=0)
    assert not floorless.joint.has_floor
    inside = recommend(floorless, Budgets(train_seconds=1e5))
    assert inside.n_params <= 1e6 * 1.0001 and inside.warnings == []
    asked = recommend(floorless, Budgets(train_seconds=1e5), max_extrapolation=10)
    assert asked.n_params > 1e6
    assert asked.warnings[0].startswith("extrapolating a law with no resolved floor")
    assert asked.lines()[0].startswith("warning: extrapolating a law with no resolved floor")


def test_one_data_size_falls_back_to_its_own_law():
    single = analyze(runs(data_sizes=(300,)), n_bootstrap=0)
    assert single.joint is None
    choice = recommend(single, Budgets(train_seconds=1.0))  # between the trained sizes 1k and 1M
    assert choice.law == "per-train_size law of size" and choice.train_size == 300
    assert choice.n_params == pytest.approx(1.0 / (SECONDS_PER_PARAM_EXAMPLE * 300), rel=0.015)


def test_pareto_frontier_only_buys_improvements(analysis):
    choice = recommend(analysis, Budgets(train_seconds=200.0))
    frontier = choice.frontiers["train_seconds"]
    assert 3 <= len(frontier) <= 13
    assert frontier["train_seconds"].is_monotonic_increasing
    assert frontier["val_loss"].is_monotonic_decreasing
    assert frontier["chosen"].sum() == 1


def test_json_carries_the_agreed_keys(analysis):
    data = recommend(analysis, Budgets(train_seconds=200.0)).to_dict()
    assert {"n_params", "train_size", "predicted", "ci_low", "ci_high", "law", "binding"} <= set(data)


def test_budget_nothing_fits_is_a_user_error(analysis):
    with pytest.raises(UserError, match="no model size fits the budget.*raise the budget"):
        recommend(analysis, Budgets(train_seconds=1e-9))


def test_budget_without_a_law_is_a_user_error(analysis):
    with pytest.raises(UserError, match="--memory-mb: peak_memory_bytes was not measured"):
        recommend(analysis, Budgets(train_seconds=200.0, memory_mb=10.0))


def test_a_budget_must_be_positive(analysis):
    with pytest.raises(UserError, match="--train-seconds -1: a budget must be a finite number > 0"):
        recommend(analysis, Budgets(train_seconds=-1.0))


@pytest.mark.parametrize(
    "value", [2332.8500000000004, 2332.85, 0.30000000000000004, 7.0, 123456789.0, 1.0000004e-3, 0.07, 1e-300]
)
def test_a_default_budget_prints_as_itself_and_affords_what_it_was_read_from(value):
    """Seen: the report printed `--train-seconds 2332.85` for 2332.8500000000004, a budget that no
    longer afforded the slowest configuration, so the command gave another answer."""
    from scalinglab.recommendation import printable_ceiling

    rounded = printable_ceiling(value)
    assert rounded >= value and float(f"{rounded:.6g}") == rounded
    assert rounded <= value * (1 + 1e-5)
    if float(f"{value:.6g}") == value:  # a value that prints as itself stays itself (0.07 was 0.0700001)
        assert rounded == value


def test_a_budget_of_no_time_is_left_as_it_is():
    """Runs that recorded 0 s (the report of hostile results): no log of 0, no 'nan' budget."""
    from scalinglab.recommendation import printable_ceiling

    assert printable_ceiling(0.0) == 0.0
