"""form="auto" picks by extrapolation; every fit reports convergence, correlations and warnings."""

import numpy as np
import pandas as pd
import pytest
from fit_helpers import power_table

from scalinglab.errors import UserError
from scalinglab.fit import ScalingLaw


def broken_power_law_table(seed=0, n=24):
    """Slope -0.6 that flattens to -0.2 past a break at 1e5: no single power law fits both."""
    rng = np.random.default_rng(seed)
    x = np.geomspace(1e3, 1e8, n)
    y = 0.05 + 30.0 * x**-0.6 * (1 + (x / 1e5) ** 2) ** (0.4 * 0.5)
    return pd.DataFrame({"x": x, "y": y * np.exp(rng.normal(0, 0.005, n))})


def test_auto_picks_the_broken_power_law_on_data_with_a_break():
    law = ScalingLaw("auto", n_bootstrap=0).fit(broken_power_law_table(), x="x", y="y")
    assert law.form_.name == "bnsl"
    scores = law.form_choice_.scores
    assert set(scores) == {"power", "shifted_power", "bnsl"}
    assert scores["bnsl"] < scores["power"]


def test_auto_picks_the_plain_power_law_on_plain_power_law_data():
    law = ScalingLaw("auto", n_bootstrap=0).fit(power_table(n=20, seed=1, sigma=0.01), x="x", y="y")
    assert law.form_.name == "power"
    assert law.diagnostics()["form_scores"]["power"] == min(law.form_choice_.scores.values())


def test_auto_takes_at_most_three_inputs():
    table = pd.DataFrame({"N": [1e6, 1e7, 1e8, 1e9], "D": [1e9] * 4, "loss": [4, 3, 2.5, 2.2]})
    with pytest.raises(UserError, match="form 'auto' takes x, or N,D, or N,D,U"):
        ScalingLaw("auto").fit(table.assign(U=1e9, V=1.0), x=["N", "D", "U", "V"], y="loss")


def test_a_good_fit_reports_convergence_and_no_warning():
    law = ScalingLaw("power", n_bootstrap=0).fit(power_table(n=30), x="x", y="y")
    report = law.diagnostics()
    assert report["converged"] and report["warnings"] == []
    assert 1 <= report["n_at_best"] <= report["n_converged_runs"]
    correlation = np.array(report["correlation"])
    np.testing.assert_allclose(correlation, correlation.T, atol=1e-12)
    np.testing.assert_allclose(np.diag(correlation), 1.0)
    assert report["names"] == ["E", "A", "alpha"]


def test_a_flat_curve_warns_that_e_and_a_are_traded_against_each_other():
    # No decay at all: only E + A x^-alpha as a whole is fixed by the data, not E and A apart.
    x = np.geomspace(1e6, 1e9, 12)
    flat = pd.DataFrame({"x": x, "y": 2.0 * np.exp(np.random.default_rng(0).normal(0, 1e-3, 12))})
    law = ScalingLaw("power", n_bootstrap=0).fit(flat, x="x", y="y")
    text = " ".join(law.warnings_)
    assert "E and A are not separately identified" in text or "flat direction" in text
    assert law.summary().attrs["diagnostics"]["warnings"] == law.warnings_


def test_an_exponent_pushed_to_its_bound_is_reported():
    x = np.geomspace(1e6, 1e9, 12)
    steep = pd.DataFrame({"x": x, "y": 1e-3 + 1e80 * x**-12.0})  # alpha = 12, above the bound 10
    law = ScalingLaw("power", n_bootstrap=0).fit(steep, x="x", y="y")
    assert any("alpha sits on its bound (10)" in warning for warning in law.warnings_)
    assert law.summary().set_index("name").loc["alpha", "on_bound"]
    assert law.diagnostics()["on_bound"] == ["alpha"]


def test_local_exponent_is_alpha_for_a_power_law_and_moves_across_a_break():
    power = ScalingLaw("power", n_bootstrap=50, random_state=0).fit(power_table(n=30), x="x", y="y")
    value, (low, high) = power.exponent_at(3e8)
    assert value == pytest.approx(power.params_["alpha"], rel=1e-5)
    assert low <= value <= high
    broken = ScalingLaw("bnsl", n_bootstrap=0).fit(broken_power_law_table(), x="x", y="y")
    before, _ = broken.exponent_at(1e3)
    after, _ = broken.exponent_at(1e8)
    assert before == pytest.approx(0.6, abs=0.1) and after == pytest.approx(0.2, abs=0.1)


def shifted_power_by_a_hair_table():
    """Six sizes of E + A x^-0.4 with 1% noise: too few for bnsl, and shifted_power (its shift on
    the bound, a power law with one parameter more) scores 0.03% better than power, a hair."""
    rng = np.random.default_rng(0)
    x = np.geomspace(1e3, 1e6, 6)
    return pd.DataFrame({"x": x, "y": 0.5 + 20 * x**-0.4 * np.exp(rng.normal(0, 0.01, 6))})


def test_auto_prefers_the_simpler_form_on_a_tie_and_says_so():
    from scalinglab.fit.select import TIE_TOLERANCE

    law = ScalingLaw("auto", n_bootstrap=0).fit(shifted_power_by_a_hair_table(), x="x", y="y")
    scores = law.form_choice_.scores
    assert scores["shifted_power"] < scores["power"] <= scores["shifted_power"] * (1 + TIE_TOLERANCE)
    assert law.form_.name == "power" and law.form_choice_.tied == ("shifted_power",)
    assert law.diagnostics()["form_tie"] == "power tied shifted_power (scores within 5%) and has fewer parameters"


def test_the_incumbent_kept_by_its_margin_reports_no_tie():
    law = ScalingLaw("auto", n_bootstrap=0).fit(broken_power_law_table(), x="x", y="y")
    assert law.form_.name == "bnsl"
    assert law.form_choice_.tied == () and law.diagnostics()["form_tie"] is None


def test_the_incumbent_kept_against_a_lower_score_says_why():
    """Seen: "form auto chose bnsl; ...: power 0.0128, shifted_power 0.0128, bnsl 0.0154", no reason given."""
    from scalinglab.fit.select import MARGIN, FormChoice

    kept = FormChoice("bnsl", {"power": 0.0128, "shifted_power": 0.0128, "bnsl": 0.0154})
    assert kept.reason().startswith("bnsl kept: power scored lower (0.0128 against 0.0154)")
    assert f"only when its score is {MARGIN:g}x lower" in kept.reason()
    assert FormChoice("bnsl", {"bnsl": 0.01, "power": 0.02}).reason() == ""
    tied = FormChoice("power", {"shifted_power": 0.0100, "power": 0.0102}, tied=("shifted_power",))
    assert tied.reason() == tied.tie_note() != ""
