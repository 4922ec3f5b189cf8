"""Prediction intervals: cluster bootstrap, noise from seeds, the calibrated extrapolation term."""

import numpy as np
import pandas as pd
import pytest
from fit_helpers import bending_split, misspecified_draw, misspecified_split, power_table

from scalinglab.errors import UserError
from scalinglab.fit import ScalingLaw
from scalinglab.fit.forms import get_form
from scalinglab.fit.intervals import (
    GROWTH,
    MIN_SCORED_DISTANCE,
    REACH_ALLOWANCE,
    Calibration,
    backtest_masks,
    conformal_rate,
    distance_beyond,
    excess_beyond,
    excess_beyond_with_each,
    extrapolation_cuts,
    group_ids,
    noise_pool,
    ratio_shortfall,
    ratio_shortfall_with_each,
    resample_group_counts,
    rows_below_cut,
)


def test_cluster_bootstrap_moves_a_groups_rows_together():
    groups = group_ids(["a", "a", "a", "b", "c", "c", "d"])
    counts = resample_group_counts(np.random.default_rng(0), groups, 500)
    assert counts.shape == (500, 7)
    for members in ([0, 1, 2], [4, 5]):
        assert (counts[:, members] == counts[:, members[:1]]).all()
    # Each replicate draws as many groups as there are (4), not as many rows (7).
    per_group = counts[:, [0, 3, 4, 6]]
    assert (per_group.sum(axis=1) == 4).all()
    assert counts.sum(axis=1).min() != counts.sum(axis=1).max()  # group sizes differ, so totals vary


def test_replicates_with_too_few_distinct_groups_are_drawn_again():
    groups = np.arange(4)
    counts = resample_group_counts(np.random.default_rng(1), groups, 300, min_distinct=3)
    assert ((counts > 0).sum(axis=1) >= 3).all()


def test_noise_comes_from_seeds_when_some_x_is_repeated():
    log_x = np.log(np.array([[1.0], [1.0], [2.0], [2.0], [4.0]]))
    log_y = np.array([0.0, 0.2, 1.0, 1.0, 3.0])
    draws, source = noise_pool(log_x, log_y, log_residuals=np.full(5, 9.0))
    assert source == "seeds"
    # deviations from the mean of each pair, times sqrt(2): +-0.1 * sqrt(2) and 0
    np.testing.assert_allclose(np.sort(np.abs(draws)), [0, 0, 0.1 * np.sqrt(2), 0.1 * np.sqrt(2)])
    _, source = noise_pool(log_x[[0, 2, 4]], log_y[[0, 2, 4]], log_residuals=np.zeros(3))
    assert source == "residuals"


def test_conformal_rate_is_the_finite_sample_quantile():
    scores = np.arange(1.0, 20.0)  # 19 scores: ceil(20 * 0.95) = 19th smallest
    assert conformal_rate(scores, 0.95) == 19.0
    assert conformal_rate(scores, 0.5) == 10.0
    assert conformal_rate(np.array([]), 0.95) == 0.0


@pytest.fixture(scope="module")
def law():
    return ScalingLaw("power", n_bootstrap=300, random_state=0).fit(power_table(n=24), x="x", y="y")


def test_prediction_interval_contains_the_band_of_the_curve(law):
    x = np.geomspace(1e6, 1e12, 7)
    low, high = law.predict_interval(x)
    mean_low, mean_high = law.predict_interval(x, kind="mean")
    assert (low <= mean_low).all() and (mean_high <= high).all()
    assert (low < law.predict(x)).all() and (law.predict(x) < high).all()


def test_prediction_interval_widens_with_the_distance_beyond_the_data(law):
    assert law.extrapolation_rate() > 0
    assert law.extrapolation_rates() == {"x": law.extrapolation_rate()}
    assert law.diagnostics()["extrapolation_rates"] == {"x": law.extrapolation_rate(0.95)}
    x = np.array([1e10, 1e11, 1e12])  # the data end at 1e10
    low, high = law.predict_interval(x)
    relative_width = (high - low) / law.predict(x)
    assert relative_width[0] < relative_width[1] < relative_width[2]


def test_observation_is_the_old_name_of_prediction(law):
    x = np.array([1e7, 1e11])
    np.testing.assert_array_equal(
        law.predict_interval(x, kind="observation"), law.predict_interval(x, kind="prediction")
    )
    with pytest.raises(UserError, match="kind must be one of"):
        law.predict_interval(x, kind="confidence")


def test_groups_column_is_resampled_whole_and_checked():
    table = power_table(n=24).assign(run=np.repeat(np.arange(8), 3))
    grouped = ScalingLaw("power", n_bootstrap=200, random_state=0).fit(table, x="x", y="y", groups="run")
    assert grouped.n_groups_ == 8
    by_row = ScalingLaw("power", n_bootstrap=200, random_state=0).fit(table, x="x", y="y")
    assert by_row.n_groups_ == 24  # default: one group per distinct size
    few = ScalingLaw("power", n_bootstrap=50, random_state=0).fit(table, x="x", y="y", groups=np.repeat([0, 1, 2], 8))
    assert any("only 3 groups to resample for 3 parameters" in w for w in few.warnings_)
    assert not any("groups to resample" in w for w in grouped.warnings_)
    with pytest.raises(UserError, match="groups column 'seed' not found"):
        ScalingLaw("power", n_bootstrap=10).fit(table, x="x", y="y", groups="seed")
    with pytest.raises(UserError, match="one label per row"):
        ScalingLaw("power", n_bootstrap=10).fit(table, x="x", y="y", groups=[1, 2])


@pytest.mark.slow
def test_prediction_intervals_cover_a_misspecified_law_beyond_the_data():
    # The plain power law is the wrong form here; the interval must own up to it.
    inside = []
    for seed in range(100):
        table, beyond, observed = misspecified_draw(seed)
        law = ScalingLaw("power", n_bootstrap=100, random_state=seed).fit(table, x="x", y="y")
        low, high = law.predict_interval(beyond)
        inside.append((low <= observed) & (observed <= high))
    coverage = float(np.mean(inside))
    print(f"coverage of 95% prediction intervals over 100 misspecified fits: {coverage:.1%}")
    assert 0.85 <= coverage <= 0.99


@pytest.mark.slow
@pytest.mark.parametrize("direction", ["D", "N"])
def test_a_wrong_form_extrapolating_in_either_input_still_covers(direction):
    """Chinchilla's form fitted to a truth whose data exponent moves with N, predicting 4x and
    16x beyond the trained tokens (or sizes): the backtests along that direction must widen the
    intervals enough. (The benchmark runs 100+ replicates: benchmarks/joint_laws.py.)"""
    inside, widths = [], []
    for seed in range(8):
        train, targets = misspecified_split(direction, seed)
        law = ScalingLaw("chinchilla", n_bootstrap=50, random_state=seed).fit(train, x=["N", "D"], y="loss")
        low, high = law.predict_interval(targets, 0.95)
        observed = targets["loss"].to_numpy()
        inside.append((low <= observed) & (observed <= high))
        widths.append(np.log(high / low))
    assert np.mean(inside) >= 0.85
    # Calibrated, not unbounded: the worst target (16x the largest size at the fewest tokens,
    # 1/16 of the fewest tokens per parameter trained) errs by a factor 1.3-1.4, so an interval
    # that holds it spans about 2-3.5x there.
    assert np.all(np.isfinite(widths)) and np.max(widths) < np.log(4.0)


# Two sizes; the small one trained on 1e9 and 2e9 tokens, the large one on 1e9 to 8e9.
STAIRCASE = np.log([[1e6, 1e9], [1e6, 2e9], [1e8, 1e9], [1e8, 2e9], [1e8, 4e9], [1e8, 8e9]])


def test_more_data_at_a_trained_size_is_a_distance_even_inside_the_overall_box():
    targets = np.log([[1e6, 8e9], [1e8, 8e9], [1e6, 1.5e9], [1e8, 32e9]])
    distance = distance_beyond(targets, STAIRCASE)
    np.testing.assert_allclose(distance, [np.log(4.0), 0.0, 0.0, np.log(4.0)], atol=1e-12)


def test_the_data_cut_holds_out_the_largest_data_of_each_size_and_keeps_single_data_sizes():
    train = rows_below_cut(STAIRCASE, 2.0, "data")
    # Largest at 1e6 is 2e9 (keep <= 1e9); at 1e8, 8e9 (keep <= 4e9).
    assert train.tolist() == [True, False, True, True, True, False]
    lone = np.log([[1e6, 1e9], [1e8, 1e9], [1e8, 4e9]])
    assert rows_below_cut(lone, 2.0, "data").tolist() == [True, True, False]


def test_each_input_gets_the_rate_of_the_rows_that_lie_beyond_the_data_along_it():
    # Rows 0-1 come from size backtests, 2-3 from data backtests; row 4 (a compute cut's) sets neither rate.
    held_out = pd.DataFrame(
        {
            "direction": ["size", "size", "data", "data", "compute"],
            "excess_0": [1.0, 2.0, 0.0, 0.1, 0.5],
            "excess_1": [0.0, 0.0, 1.0, 1.0, 1.0],
            "beyond_noise": [0.2, 0.2, 0.01, 0.03, 0.02],
        }
    ).assign(distance=lambda f: np.hypot(f["excess_0"], f["excess_1"]))
    calibration = Calibration(held_out, noise_halfwidth=0.0, n_inputs=2)
    assert calibration.growth == GROWTH == 2.0
    # Few scores: the conformal quantile is the largest of each input's own (per squared
    # distance: the size rows score 0.2 / 1 and 0.2 / 4).
    np.testing.assert_allclose(calibration.rates(0.95), [0.2, 0.03])
    assert calibration.rate(0.95) == pytest.approx(0.2)
    # Along one input the widening is c_k e_k^2; along both, the two terms add in quadrature.
    excess = np.array([[0.0, 2.0], [1.0, 0.0], [1.0, 2.0], [0.0, 0.0]])
    np.testing.assert_allclose(calibration.widening(excess, 0.95), [0.12, 0.2, np.hypot(0.2, 0.12), 0.0])
    # Without a data backtest, data takes the quantile of every score (per squared distance).
    no_data = Calibration(held_out[held_out["direction"] != "data"], noise_halfwidth=0.0, n_inputs=2)
    np.testing.assert_allclose(no_data.rates(0.95), [0.2, 0.2])


def test_intervals_are_quoted_as_far_as_the_backtests_measured_times_the_allowance():
    held_out = pd.DataFrame(
        {
            "direction": ["size", "size", "data", "ratio"],
            "excess_0": [1.0, 2.0, 0.1, 0.0],
            "excess_1": [0.0, 0.0, 1.5, 1.0],
            "excess_ratio": [0.0, 0.0, 0.0, 1.2],
            "beyond_noise": [0.2, 0.2, 0.01, 0.05],
        }
    ).assign(distance=lambda f: np.hypot(f["excess_0"], f["excess_1"]))
    calibration = Calibration(held_out, noise_halfwidth=0.0, n_inputs=2)
    np.testing.assert_allclose(calibration.reach(), [2.0, 1.5])  # each input's own backtests' farthest row
    assert calibration.ratio_reach() == pytest.approx(1.2)
    edge = REACH_ALLOWANCE * np.array([2.0, 1.5])
    excess = np.array([[0.0, 0.0], edge, edge + [0.01, 0.0], edge + [0.0, 0.01]])
    np.testing.assert_array_equal(calibration.within_reach(excess), [True, True, False, False])
    shortfall = np.array([0.0, REACH_ALLOWANCE * 1.2, REACH_ALLOWANCE * 1.2 + 0.01, 0.0])
    np.testing.assert_array_equal(calibration.within_reach(np.zeros((4, 2)), shortfall), [True, True, False, True])
    # Without a data backtest, data reaches as far as any backtest along an input did.
    no_data = Calibration(held_out[held_out["direction"] != "data"], noise_halfwidth=0.0, n_inputs=2)
    np.testing.assert_allclose(no_data.reach(), [2.0, 2.0])
    no_backtest = Calibration(held_out.iloc[:0], noise_halfwidth=0.0, n_inputs=2)
    np.testing.assert_array_equal(no_backtest.within_reach(np.array([[0.0, 0.0], [0.1, 0.0]])), [True, False])


def test_a_law_quotes_intervals_within_its_reach_only(law):
    (reach,) = law.reach_factors().values()
    largest = float(np.exp(law.fitted_log_x_.max()))
    np.testing.assert_array_equal(law.within_reach([largest * reach * 0.99, largest * reach * 1.01]), [True, False])
    assert np.isfinite(law.predict_interval([largest * reach * 1.01])).all()  # computed, not quoted


def test_another_growth_replays_the_same_backtests_with_the_widening_c_d_to_that_power():
    held_out = pd.DataFrame({"direction": ["size", "size"], "excess_0": [1.0, 2.0], "beyond_noise": [0.1, 0.8]}).assign(
        distance=lambda f: f["excess_0"]
    )
    squared, linear = Calibration(held_out, 0.0), Calibration(held_out, 0.0, growth=1.0)
    assert squared.rate(0.95) == pytest.approx(0.2) and linear.rate(0.95) == pytest.approx(0.4)  # 0.8/4, 0.8/2
    np.testing.assert_allclose(squared.widening(np.array([[3.0]]), 0.95), [0.2 * 9])
    np.testing.assert_allclose(linear.widening(np.array([[3.0]]), 0.95), [0.4 * 3])


def test_excess_is_measured_per_input_and_its_norm_is_the_distance():
    targets = np.log([[1e6, 8e9], [1e9, 8e9], [1e10, 1e9]])
    excess = excess_beyond(targets, STAIRCASE)
    np.testing.assert_allclose(excess, [[0, np.log(4.0)], [np.log(10.0), 0], [np.log(100.0), 0]], atol=1e-12)
    np.testing.assert_allclose(distance_beyond(targets, STAIRCASE), np.hypot(excess[:, 0], excess[:, 1]))


@pytest.mark.parametrize("n_inputs", [1, 2, 3])
def test_the_look_ahead_excess_is_the_excess_with_each_candidate_fitted_too(n_inputs):
    # A candidate can widen a range, become the target's nearest size, or join its size window.
    rng = np.random.default_rng(n_inputs)
    fitted, targets = rng.normal(0, 2, (30, n_inputs)), rng.normal(0, 3, (4, n_inputs))
    candidates = np.vstack([rng.normal(0, 3, (40, n_inputs)), targets])
    excess = excess_beyond_with_each(targets, fitted, candidates)
    shortfall = ratio_shortfall_with_each(targets, fitted, candidates)
    for i, candidate in enumerate(candidates):
        with_it = np.vstack([fitted, candidate])
        np.testing.assert_allclose(excess[i], excess_beyond(targets, with_it), atol=1e-12)
        np.testing.assert_allclose(shortfall[i], ratio_shortfall(targets, with_it), atol=1e-12)
    assert (excess[-4:][np.arange(4), np.arange(4)] == 0).all()  # a run at a target leaves it no excess
    assert (excess > 0).any() and (excess == 0).any()


def test_cuts_that_hold_out_the_same_rows_are_one_backtest():
    log_x = np.log(np.array([[n, d] for n in np.geomspace(1e7, 1e9, 5) for d in np.geomspace(1e8, 1e10, 5)]))
    masks, used = backtest_masks(get_form("chinchilla"), log_x)
    assert len({mask.tobytes() for mask in masks}) == len(masks)
    # Sizes 3.2x apart: r = 4 and r = 8 hold out the same two sizes; only r = 4 is kept.
    assert ("size", 4.0) in used and ("size", 8.0) not in used


def test_the_ratio_cut_holds_out_the_fewest_tokens_per_parameter_and_the_shortfall_is_one_sided():
    log_x = np.log([[1e6, 1e6], [1e6, 4e6], [1e7, 4e6], [1e7, 1e8], [1e8, 1e8]])  # D/N 1, 4, 0.4, 10, 1
    assert rows_below_cut(log_x, 4.0, "ratio").tolist() == [False, True, False, True, False]
    assert ("ratio", 2.0) in [(direction, factor) for direction, factor, _ in extrapolation_cuts(log_x, (2.0,), True)]
    assert "ratio" not in [direction for direction, _, _ in extrapolation_cuts(log_x, (2.0,))]  # not for `auto`
    targets = np.log([[1e8, 1e7], [1e9, 1e8], [1e6, 1e9]])  # D/N 0.1, 0.1, 1000
    np.testing.assert_allclose(ratio_shortfall(targets, log_x), [np.log(4.0), np.log(4.0), 0.0])
    assert ratio_shortfall(log_x[:, :1], log_x[:, :1]).tolist() == [0.0] * 5  # one input: no ratio


def test_the_ratio_rate_comes_from_the_ratio_backtests_only_and_widens_where_it_says_more():
    held_out = pd.DataFrame(
        {
            "direction": ["size", "data", "ratio", "ratio"],
            "excess_0": [1.0, 0.0, 0.0, 0.0],
            "excess_1": [0.0, 1.0, 0.0, 0.5],
            "excess_ratio": [1.0, 0.0, 0.5, 1.0],
            "beyond_noise": [0.1, 0.02, 0.1, 0.1],
        }
    ).assign(distance=lambda f: np.hypot(f["excess_0"], f["excess_1"]))
    calibration = Calibration(held_out, noise_halfwidth=0.0, n_inputs=2)
    np.testing.assert_allclose(calibration.scores(), [0.1, 0.02, 0.4, 0.1])  # per squared distance
    assert calibration.ratio_rate(0.95) == pytest.approx(0.4)  # 0.1 / 0.5^2, not the size row's 0.1 / 1
    np.testing.assert_allclose(calibration.rates(0.95), [0.1, 0.02])
    assert calibration.pooled_rate(0.95) == pytest.approx(0.1)  # ratio rows stay out of the fallback
    # The larger of the input terms (c_N e_N^2 = 0.1 here) and c_R s^2: 0.4 x 1.0, then 0.4 x 0.0625.
    excess = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    np.testing.assert_allclose(calibration.widening(excess, 0.95, np.array([1.0, 0.25, 0.0])), [0.4, 0.1, 0.0])
    np.testing.assert_allclose(calibration.widening(excess, 0.95), [0.1, 0.1, 0.0])


def bending_fit(seed):
    """Chinchilla's form fitted to the bending truth (fit_helpers.bending_split)."""
    train, targets = bending_split(seed)
    return ScalingLaw("chinchilla", n_bootstrap=50, random_state=seed).fit(train, x=["N", "D"], y="loss"), targets


def test_a_larger_model_at_a_trained_token_count_is_widened_by_what_the_ratio_backtests_saw():
    law, targets = bending_fit(0)
    log_x = np.log(targets[["N", "D"]].to_numpy())
    shortfall = ratio_shortfall(log_x, law.fitted_log_x_)
    beyond = shortfall > 0  # fewer tokens per parameter than any training row: 3 targets
    assert beyond.sum() == 3 and law.calibration_.ratio_rate(0.95) > 0
    assert law.diagnostics()["extrapolation_rate_data_per_parameter"] == law.calibration_.ratio_rate(0.95)
    # The ratio term is c_R s^2 where it exceeds the input terms; the other targets are unchanged.
    along_inputs = law.calibration_.widening(excess_beyond(log_x, law.fitted_log_x_), 0.95)
    np.testing.assert_allclose(
        law._widening(log_x, 0.95), np.maximum(along_inputs, law.calibration_.ratio_rate(0.95) * shortfall**2)
    )
    assert np.all(law._widening(log_x, 0.95)[~beyond] == along_inputs[~beyond])


@pytest.mark.slow
def test_the_ratio_term_holds_targets_the_input_terms_miss_below_the_fewest_tokens_per_parameter():
    """Over 10 draws, the 30 targets below the fewest tokens per parameter trained: without the
    ratio term none is inside; with it more than half (measured 58% over 20 draws: the truth bends
    harder at the larger sizes than at any backtest's, so the backtests understate the error;
    docs/fitting.md)."""
    inside, without = [], []
    for seed in range(10):
        law, targets = bending_fit(seed)
        log_x = np.log(targets[["N", "D"]].to_numpy())
        beyond = ratio_shortfall(log_x, law.fitted_log_x_) > 0
        low, high = law.predict_interval(targets, 0.95)
        extra = law._widening(log_x, 0.95) - law.calibration_.widening(excess_beyond(log_x, law.fitted_log_x_), 0.95)
        observed = targets["loss"].to_numpy()
        inside.extend(((low <= observed) & (observed <= high))[beyond])
        without.extend(((low * np.exp(extra) <= observed) & (observed <= high / np.exp(extra)))[beyond])
    assert len(inside) == 30 and not any(without)
    assert np.mean(inside) > 0.5


def test_held_out_rows_within_a_grid_step_of_the_fit_give_no_score():
    # Sizes 1.37x apart: every cut holds out rows closer than a factor 1.5 to the rows fitted,
    # whose noise-sized errors divided by a small squared distance would set the rate.
    table = power_table(n=30)
    law = ScalingLaw("power", n_bootstrap=10, random_state=0).fit(table, x="x", y="y")
    log_x = np.log(table[["x"]].to_numpy())
    near = [
        (distance_beyond(log_x[~train], log_x[train]) <= MIN_SCORED_DISTANCE).sum()
        for _, _, train in extrapolation_cuts(log_x, (2.0, 4.0, 8.0))
    ]
    assert min(near) >= 1
    held_out = law.calibration_.held_out
    assert len(held_out) > 0 and held_out["distance"].min() > MIN_SCORED_DISTANCE


def test_an_interval_inside_the_data_reads_the_replicates_that_resampled_around_it():
    """Seen: losses drawn at random (1 to 5) for 6 sizes x 3 seeds; the interval at the smallest
    trained size read "1.47 to 7.1e4": the bootstrap replicates that lost that size predicted it
    from the others, with an exponent the noise left free."""
    sizes = np.repeat(np.geomspace(1e6, 3e8, 6), 3)
    rng = np.random.default_rng(7)  # before: "1.15 to 8.9e9" at 1e6 (seeds 1 and 8: 3.3e3, 1.4e5)
    noise = pd.DataFrame({"N": sizes, "loss": rng.uniform(1, 5, len(sizes))})
    law = ScalingLaw("power", n_bootstrap=400, random_state=0).fit(noise, x="N", y="loss")
    low, high = law.predict_interval(pd.DataFrame({"N": [1e6, 1e7]}))
    assert (high < 3 * noise.loss.max()).all() and (low > noise.loss.min() / 3).all(), (low, high)
    spans_low = law.bootstrap_log_x_low_[:, 0]
    assert 0.1 < np.mean(spans_low > np.log(1e6)) < 0.6  # about (5/6)^6 = 33% lost the smallest size
