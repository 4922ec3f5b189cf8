"""The estimator API others code against: attributes, prediction, intervals, reproducibility."""

import numpy as np
import pandas as pd
import pytest
from fit_helpers import power_table

from scalinglab.errors import UserError
from scalinglab.fit import ScalingLaw


@pytest.fixture(scope="module")
def table():
    return power_table()


@pytest.fixture(scope="module")
def law(table):
    return ScalingLaw("power", n_bootstrap=300, random_state=0).fit(table, x="x", y="y")


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        ScalingLaw("power", 1e-3)


def test_fit_returns_the_estimator_with_named_parameters(law):
    assert isinstance(law, ScalingLaw)
    assert list(law.params_) == ["E", "A", "alpha"]
    assert all(isinstance(value, float) for value in law.params_.values())


def test_summary_has_one_row_per_parameter_with_its_interval(law):
    summary = law.summary()
    assert list(summary.columns) == ["name", "value", "ci_low", "ci_high", "on_bound", "ci_bounded"]
    assert summary["ci_bounded"].all()
    assert summary.attrs["diagnostics"]["converged"]
    assert list(summary["name"]) == ["E", "A", "alpha"]
    assert (summary["ci_low"] <= summary["value"]).all()
    assert (summary["value"] <= summary["ci_high"]).all()
    assert summary.set_index("name").loc["alpha", "ci_low"] == law.ci_["alpha"][0]


def test_predict_accepts_a_frame_or_an_array_and_evaluates_the_formula(law, table):
    p = law.params_
    expected = p["E"] + p["A"] * table["x"].to_numpy() ** -p["alpha"]
    np.testing.assert_allclose(law.predict(table), expected, rtol=1e-12)
    np.testing.assert_allclose(law.predict(table["x"].to_numpy()), expected, rtol=1e-12)


@pytest.mark.parametrize("kind", ["mean", "observation"])
def test_prediction_interval_brackets_the_prediction(law, table, kind):
    low, high = law.predict_interval(table, 0.95, kind=kind)
    predicted = law.predict(table)
    assert low.shape == high.shape == predicted.shape
    assert (low <= predicted).all() and (predicted <= high).all()


def test_observation_interval_is_wider_than_the_curves_band(law, table):
    mean_low, mean_high = law.predict_interval(table, kind="mean")
    obs_low, obs_high = law.predict_interval(table, kind="observation")
    assert np.median(obs_high - obs_low) > np.median(mean_high - mean_low)


def test_a_higher_level_gives_a_wider_interval(law, table):
    narrow = np.subtract(*law.predict_interval(table, 0.5)[::-1])
    wide = np.subtract(*law.predict_interval(table, 0.99)[::-1])
    assert (wide >= narrow).all() and (wide > narrow).any()


def test_refit_with_the_same_seed_is_identical(table):
    first = ScalingLaw("power", n_bootstrap=200, random_state=42).fit(table, x="x", y="y")
    second = ScalingLaw("power", n_bootstrap=200, random_state=42).fit(table, x="x", y="y")
    assert first.params_ == second.params_
    assert first.ci_ == second.ci_
    pd.testing.assert_frame_equal(first.bootstrap_params_, second.bootstrap_params_)
    np.testing.assert_array_equal(
        first.predict_interval(table, kind="observation"), second.predict_interval(table, kind="observation")
    )


def test_another_seed_gives_other_intervals_but_the_same_estimate(table, law):
    other = ScalingLaw("power", n_bootstrap=300, random_state=1).fit(table, x="x", y="y")
    assert other.params_ == law.params_
    assert other.ci_ != law.ci_


def test_without_bootstrap_there_is_no_interval(table):
    law = ScalingLaw("power", n_bootstrap=0).fit(table, x="x", y="y")
    assert law.ci_ is None and law.bootstrap_params_ is None
    assert law.summary()["ci_low"].isna().all()
    with pytest.raises(UserError, match="bootstrap"):
        law.predict_interval(table)


def test_predict_before_fit_is_a_user_error(table):
    with pytest.raises(UserError, match="not fitted"):
        ScalingLaw("power").predict(table)


def test_clone_has_the_options_but_not_the_fit(law):
    copy = law.clone()
    assert (copy.form, copy.n_bootstrap, copy.random_state) == ("power", 300, 0)
    assert not hasattr(copy, "params_")


def test_a_start_grid_given_as_a_mapping_is_its_cartesian_product(table):
    grid = {"e": [0.0, 0.5], "a": [5.0, 6.0, 7.0], "alpha": [0.3]}
    law = ScalingLaw("power", n_bootstrap=0, start_grid=grid).fit(table, x="x", y="y")
    assert law.n_starts_ == 6
    default = ScalingLaw("power", n_bootstrap=0).fit(table, x="x", y="y")
    assert law.params_ == pytest.approx(default.params_, rel=1e-6)


def test_a_start_grid_with_unknown_names_is_a_user_error(table):
    with pytest.raises(UserError, match="start_grid"):
        ScalingLaw("power", start_grid={"E": [1.0]}).fit(table, x="x", y="y")


@pytest.mark.parametrize("option", [{"huber_delta": 0.0}, {"n_bootstrap": -1}, {"ci_level": 1.5}])
def test_bad_options_are_user_errors(table, option):
    with pytest.raises(UserError):
        ScalingLaw("power", **option).fit(table, x="x", y="y")


def test_the_fit_is_fast_enough_for_everyday_use(table):
    import time

    small = table.iloc[::4]  # 8 points
    ScalingLaw("power", n_bootstrap=0).fit(small, x="x", y="y")  # warm the imports
    began = time.perf_counter()
    for _ in range(5):
        ScalingLaw("power", n_bootstrap=0).fit(small, x="x", y="y")
    # Generous for a shared 2-core machine; typically ~30-50 ms per fit.
    assert (time.perf_counter() - began) / 5 < 0.25


def test_bootstrap_survives_a_saturated_curve_with_singular_replicates():
    """Validation losses of a quick-start sweep that had saturated (two seeds, six sizes): some
    bootstrap replicates give exactly singular normal equations. This once raised LinAlgError;
    the fit must finish with finite intervals."""
    losses = [0.2801, 0.1616, 0.1476, 0.1298, 0.1267, 0.1069, 0.2589, 0.1343, 0.1226, 0.1353, 0.1120, 0.1229]
    sizes = [682.0, 1482.0, 3466.0, 8970.0, 26122.0, 85002.0] * 2
    table = pd.DataFrame({"N": sizes, "loss": losses})
    law = ScalingLaw("power", n_bootstrap=1000, random_state=0).fit(table, x="N", y="loss")
    low, high = law.predict_interval(np.array(sizes[:6]))
    assert np.isfinite(low).all() and np.isfinite(high).all()
