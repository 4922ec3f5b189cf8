"""The numbers behind each figure, on runs whose laws are known."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic_runs import DATA_SIZES, WIDTHS, flops, params_of, synthetic_runs, true_loss

from scalinglab.analysis import fit_metric_vs_params
from scalinglab.report import figures


@pytest.fixture(scope="module")
def runs():
    return synthetic_runs()


@pytest.fixture(scope="module")
def outcome(runs):
    return fit_metric_vs_params(runs, n_bootstrap=20)


def test_metric_vs_params_has_a_series_per_data_size_with_its_law(runs, outcome):
    data = figures.metric_vs_params_data(runs, "val_loss", fits=outcome.fits)
    assert [s.name for s in data.series] == ["data = 100", "data = 300", "data = 1k"]
    for series, d in zip(data.series, DATA_SIZES):
        np.testing.assert_allclose(series.y, true_loss(series.x, d), rtol=1e-9)
        np.testing.assert_allclose(series.fit_y, true_loss(series.fit_x, d), rtol=1e-4)
        assert np.all(series.fit_low <= series.fit_y + 1e-9) and np.all(series.fit_y <= series.fit_high + 1e-9)


def test_cost_figure_uses_the_pooled_law_for_every_series(runs, outcome):
    data = figures.metric_vs_params_data(runs, "latency_ms_p50", fits=outcome.costs["latency_ms_p50"], log_y=True)
    assert len(data.series) == 3 and all(s.fit_y is not None for s in data.series)
    np.testing.assert_allclose(data.series[0].fit_y, 0.01 * data.series[0].fit_x**0.5, rtol=1e-6)


def test_metric_vs_data_has_a_series_per_model_size(runs):
    data = figures.metric_vs_data_data(runs, "val_loss")
    assert len(data.series) == len(WIDTHS)
    assert all(list(s.x) == list(DATA_SIZES) for s in data.series)
    assert all(np.all(np.diff(s.y) < 0) for s in data.series)  # more data, lower loss


def test_isoflop_optimum_is_the_best_data_size_at_that_budget(outcome):
    data = figures.isoflop_data(outcome)
    assert len(data.curves) >= 3
    for budget, n_best, d_best in zip(data.budgets_flops, data.optimal_n, data.optimal_data):
        candidates = {
            d: budget / (6.0 * d) for d in DATA_SIZES
            if params_of(WIDTHS[0]) <= budget / (6.0 * d) <= params_of(WIDTHS[-1])
        }
        expected = min(candidates, key=lambda d: true_loss(candidates[d], d))
        assert d_best == expected
        assert n_best == pytest.approx(candidates[expected], rel=1e-6)
        assert flops(n_best, d_best) == pytest.approx(budget, rel=1e-6)


def test_pareto_frontier_is_cheapest_first_and_always_better(runs):
    data = figures.pareto_data(runs, "val_loss", "train_seconds")
    front_cost = data.cost_values[data.on_frontier]
    front_loss = data.metric_values[data.on_frontier]
    assert np.all(np.diff(front_cost) >= 0) and np.all(np.diff(front_loss) < 0)
    assert data.on_frontier[0]  # the cheapest configuration is on it by definition
    assert 1 < data.on_frontier.sum() < len(data.on_frontier)


def test_backtest_of_exact_laws_predicts_the_held_out_size(runs, outcome):
    data = figures.backtest_data(runs, outcome)
    assert len(data.held_out) == len(DATA_SIZES)
    assert np.all(data.held_out["n_params"] == params_of(WIDTHS[-1]))
    assert np.abs(data.held_out["relative_error"]).max() < 1e-3
    assert all(np.abs(s.y).max() < 1e-4 for s in data.in_sample)


def test_seed_spread_reports_the_relative_spread():
    runs = synthetic_runs(seeds=(0, 1), seed_noise=0.2)
    data = figures.seed_spread_data(runs, "val_loss")
    assert sum(len(s.x) for s in data.series) == len(runs)
    # two seeds at 1.0 and 1.2 times the loss: std / mean = (0.2 / sqrt 2) / 1.1
    assert data.worst_relative_std == pytest.approx(0.2 / np.sqrt(2) / 1.1, rel=1e-6)


def test_the_reports_own_recommendation_stays_within_the_trained_sizes():
    """Training time here grows with N, but a generous default budget would let the law run 10x past
    the data; the report must answer with a size it trained around, not an extrapolation."""
    from scalinglab.recommend import Budgets
    from scalinglab.report.html import _recommendation

    runs = synthetic_runs()
    outcome = fit_metric_vs_params(runs, n_bootstrap=100)
    choice, note, _ = _recommendation(outcome, runs, Budgets(train_seconds=1e9))
    assert choice is not None, note
    assert choice.n_params <= runs["n_params"].max() * 1.0001
