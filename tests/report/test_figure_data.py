"""The numbers behind each figure, on runs whose laws are known."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic_runs import DATA_SIZES, WIDTHS, flops, params_of, synthetic_runs, true_loss

from scalinglab.analysis import analyze, backtest_largest, fit_metric_vs_params
from scalinglab.report import figures


@pytest.fixture(scope="module")
def runs():
    return synthetic_runs()


@pytest.fixture(scope="module")
def outcome(runs):
    return fit_metric_vs_params(runs, n_bootstrap=20)


@pytest.mark.slow
def test_metric_vs_params_has_a_series_per_data_size_with_its_law(runs, outcome):
    data = figures.metric_vs_params_data(runs, "val_loss", fits=outcome.fits)
    assert [s.name for s in data.series] == ["data = 100", "data = 300", "data = 1k"]
    for series, d in zip(data.series, DATA_SIZES):
        np.testing.assert_allclose(series.y, true_loss(series.x, d), rtol=1e-9)
        np.testing.assert_allclose(series.fit_y, true_loss(series.fit_x, d), rtol=1e-4)
        assert np.all(series.fit_low <= series.fit_y + 1e-9) and np.all(series.fit_y <= series.fit_high + 1e-9)


def test_a_cost_that_does_not_depend_on_data_is_one_series_with_the_pooled_law(runs, outcome):
    data = figures.metric_vs_params_data(runs, "latency_ms_p50", cost=outcome.costs["latency_ms_p50"], log_y=True)
    (series,) = data.series  # not one identical series per data size drawn on top of each other
    assert series.name == figures.EVERY_DATA_SIZE and list(series.x) == sorted(params_of(w) for w in WIDTHS)
    np.testing.assert_allclose(series.y, 0.01 * series.x**0.5, rtol=1e-9)
    np.testing.assert_allclose(series.fit_y, 0.01 * series.fit_x**0.5, rtol=1e-3)


def test_cost_that_grows_with_data_is_drawn_at_each_data_size(runs, outcome):
    data = figures.metric_vs_params_data(runs, "train_flops", cost=outcome.costs["train_flops"], log_y=True)
    for series, d in zip(data.series, DATA_SIZES):
        np.testing.assert_allclose(series.fit_y, flops(series.fit_x, d), rtol=1e-6)


def test_metric_vs_data_has_a_series_per_model_size(runs):
    data = figures.metric_vs_data_data(runs, "val_loss")
    assert len(data.series) == len(WIDTHS)
    assert all(list(s.x) == list(DATA_SIZES) for s in data.series)
    assert all(np.all(np.diff(s.y) < 0) for s in data.series)  # more data, lower loss


@pytest.mark.slow
def test_isoflop_curves_follow_the_joint_law_and_pass_through_its_optimum(runs):
    joint = analyze(runs, n_bootstrap=0).joint
    data = figures.isoflop_data(joint)
    assert len(data.curves) == 5
    for curve, budget, n_best, best in zip(data.curves, data.budgets_flops, data.optimal_n, data.optimal_metric):
        d = budget / (6.0 * curve.x)
        drawn = np.isfinite(curve.y)
        assert drawn[np.argmin(np.abs(np.log(curve.x / n_best)))]  # the valley around the optimum is drawn
        np.testing.assert_allclose(curve.y[drawn], true_loss(curve.x, d)[drawn], rtol=1e-4)
        assert best <= np.nanmin(curve.y) * (1 + 1e-6)  # the optimum is at least as good as every split drawn
        assert best == pytest.approx(true_loss(n_best, budget / (6.0 * n_best)), rel=1e-4)


def test_pareto_frontier_is_cheapest_first_and_always_better(runs):
    data = figures.pareto_data(runs, "val_loss", "train_seconds")
    front_cost = data.cost_values[data.on_frontier]
    front_loss = data.metric_values[data.on_frontier]
    assert np.all(np.diff(front_cost) >= 0) and np.all(np.diff(front_loss) < 0)
    assert data.on_frontier[0]  # the cheapest configuration is on it by definition
    assert 1 < data.on_frontier.sum() < len(data.on_frontier)


def test_the_pareto_figure_keeps_configurations_worse_than_the_baseline_off_its_frontier(runs):
    baseline = float(runs["val_loss"].median())
    data = figures.pareto_data(runs.assign(baseline_val_loss=baseline), "val_loss", "train_seconds")
    assert data.on_frontier.any() and (data.metric_values[data.on_frontier] < baseline).all()
    assert (data.metric_values >= baseline).any()  # such configurations are still drawn, as points


def test_backtest_of_exact_laws_predicts_the_held_out_size(runs, outcome):
    data = figures.backtest_data(runs, outcome, backtest_largest(runs, outcome))
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
    assert data.most_seeds == 2


def test_one_run_per_configuration_has_no_seed_spread_not_a_spread_of_zero():
    """Seen: 'Across seeds, the largest spread of val_loss is 0.0% of its mean' with one seed."""
    data = figures.seed_spread_data(synthetic_runs(seeds=(0,)), "val_loss")
    assert data.most_seeds == 1 and data.worst_relative_std is None


@pytest.mark.slow
def test_the_report_answers_what_recommend_answers_for_its_budget(tmp_path):
    """One analysis, one recommend function: the report's answer is `recommend`'s for the same budget."""
    from scalinglab.recommendation import default_budgets, recommend
    from scalinglab.report.html import write_report

    runs = synthetic_runs()
    runs["train_seconds"] = runs["train_seconds"] * 1.1 + 1e-7  # a time with more digits than are printed
    analysis = analyze(runs, n_bootstrap=50)
    budgets = default_budgets(analysis)
    assert all(float(f"{value:.6g}") == value for value in budgets.given().values())  # the command is this budget
    choice = recommend(analysis, budgets)
    html = write_report(tmp_path / "report.html", analysis).read_text()
    assert f"Train about {figures.format_count(choice.n_params)} parameters" in html
    given = " ".join(f"--{name.replace('_', '-')} {value:.6g}" for name, value in budgets.given().items())
    assert f"scalinglab recommend OUT {given}" in html


def _within(values, limits) -> bool:
    finite = np.asarray(values, float)[np.isfinite(values)]
    return bool(np.all((finite >= limits[0]) & (finite <= limits[1])))


def test_a_band_far_wider_than_the_data_is_clipped_to_the_view_of_the_data():
    """Losses flat near zero and noisy: the law's prediction band is much wider than the points."""
    runs = synthetic_runs(seeds=(0, 1))
    runs["val_loss"] = 1e-3 * np.exp(np.random.default_rng(0).normal(0, 1.5, len(runs)))
    fits = fit_metric_vs_params(runs, n_bootstrap=50).fits
    data = figures.metric_vs_params_data(runs, "val_loss", fits=fits)
    raw_high = max(
        np.max(fit.predict_interval(s.fit_x, kind=figures.BAND_KIND)[1]) for fit, s in zip(fits, data.series)
    )
    assert raw_high > data.y_limits[1]  # the band really leaves the view, so the clipping below is tested
    points = np.concatenate([np.r_[s.y - s.y_std, s.y + s.y_std] for s in data.series])
    span = points.max() - points.min()
    assert data.y_limits == pytest.approx((points.min() - span / 2, points.max() + span / 2))
    for series in data.series:
        assert _within(series.fit_low, data.y_limits) and _within(series.fit_high, data.y_limits)
        assert _within(series.fit_y, data.y_limits) and np.isfinite(series.fit_y).any()


@pytest.mark.slow
def test_isoflop_curves_are_cut_to_the_view_of_the_optima(runs):
    joint = analyze(runs, n_bootstrap=0).joint
    data = figures.isoflop_data(joint)
    raw = [joint.predict(curve.x, budget / (6.0 * curve.x)) for curve, budget in zip(data.curves, data.budgets_flops)]
    assert max(np.max(y) for y in raw) > data.y_limits[1]  # at a tenth of the smallest size the law explodes
    span = np.ptp(data.optimal_metric)
    assert data.y_limits == pytest.approx(
        (max(data.optimal_metric.min() - span / 2, 0), data.optimal_metric.max() + span / 2)
    )
    assert all(_within(curve.y, data.y_limits) for curve in data.curves)


@pytest.mark.parametrize("latency, log_y", [(0.0, False), (-1.0, False), (np.nan, True), (2.0, True)])
def test_a_log_axis_only_where_every_point_is_positive(runs, latency, log_y):
    frame = runs.copy()
    frame.loc[frame.index[::2], "latency_ms_p50"] = latency
    data = figures.metric_vs_params_data(frame, "latency_ms_p50", log_y=True)
    assert data.log_y == log_y and data.log_x
    assert all(np.isfinite(s.y).all() for s in data.series)


def test_a_column_no_run_measured_has_no_series(runs):
    frame = runs.assign(grad_norm_mean=np.nan)
    data = figures.metric_vs_params_data(frame, "grad_norm_mean", log_y=True)
    assert data.series == [] and not data.log_y and data.y_limits is None


def test_a_pareto_of_zero_costs_has_a_linear_cost_axis_and_no_star_it_cannot_draw(runs):
    frame = runs.assign(train_seconds=0.0)
    data = figures.pareto_data(frame, "val_loss", "train_seconds", recommended=(np.inf, 1.0))
    assert not data.log_x and data.recommended is None and len(data.cost_values) == len(runs)


def test_seed_spread_of_a_zero_mean_is_no_number():
    runs = synthetic_runs(seeds=(0, 1)).assign(val_loss=0.0)
    data = figures.seed_spread_data(runs, "val_loss")
    assert data.worst_relative_std is None
    assert sum(len(s.x) for s in data.series) == len(runs)


def test_the_data_axis_says_what_it_counts(runs):
    assert figures.metric_vs_data_data(runs, "val_loss").x_label == "training data (examples)"
    language_model = runs.assign(train_tokens_seen=runs["train_size"])
    assert figures.metric_vs_data_data(language_model, "val_loss").x_label == "training data (tokens seen)"
    assert figures.metric_vs_params_data(runs, "val_loss").x_label == "parameters"


def test_columns_drawn_once_for_every_data_size_are_metrics_that_do_not_grow_with_data():
    from scalinglab.metrics import METRICS, SAME_FOR_EVERY_DATA_SIZE

    assert SAME_FOR_EVERY_DATA_SIZE <= set(METRICS)
    assert not any(METRICS[name].grows_with_data for name in SAME_FOR_EVERY_DATA_SIZE)


def test_a_section_with_nothing_measured_says_so_instead_of_a_bare_heading():
    """Seen: "How does size relate to generalization?" over nothing, in every report of runs that
    recorded no training loss."""
    from scalinglab.report.html import _generalization_section

    without = analyze(synthetic_runs().drop(columns=["generalization_gap"]), n_bootstrap=0)
    (said,) = _generalization_section(without).sentences
    assert said.startswith("Not measured: these runs recorded no generalization gap")
    with_gap = _generalization_section(analyze(synthetic_runs(), n_bootstrap=0))
    assert not any(s.startswith("Not measured") for s in with_gap.sentences) and with_gap.figures


def test_an_accuracy_axis_stops_at_1():
    """Seen: the quick start's accuracy figure ran its axis to 1.2."""
    runs = synthetic_runs()
    runs["val_accuracy"] = 1 - 0.5 * runs["val_loss"] / runs["val_loss"].max()  # up to ~0.97, seeds apart
    data = figures.metric_vs_params_data(runs, "val_accuracy")
    assert data.y_limits is not None and data.y_limits[1] <= 1.0
    finite = np.concatenate([s.y for s in data.series])
    assert data.y_limits[0] <= finite.min() and finite.max() <= data.y_limits[1]
