"""The joint forms beyond Chinchilla's: synthetic truth recovered, the data-constrained law is
Chinchilla's at one epoch, and the compute-optimal allocation where a form has one."""

import numpy as np
import pandas as pd
import pytest
from fit_helpers import EXAMPLE_PARAMS, reference_prediction

from scalinglab.errors import UserError
from scalinglab.fit import FORMS, ScalingLaw, compute_optimal

NOISE = 0.003


def joint_grid(epochs=(1.0,)):
    """8 sizes x 8 token counts (x each number of epochs: unique data U = D / epochs)."""
    n, d, e = np.meshgrid(np.geomspace(1e6, 1e10, 8), np.geomspace(1e8, 1e12, 8), np.asarray(epochs))
    n, d, e = n.ravel(), d.ravel(), e.ravel()
    return np.column_stack([n, d, d / e])


def synthetic(name, seed=0, epochs=(1.0,)):
    x = joint_grid(epochs)[:, : FORMS[name].n_inputs]
    y = reference_prediction(name, EXAMPLE_PARAMS[name], x) * np.exp(
        np.random.default_rng(seed).normal(0, NOISE, len(x))
    )
    return pd.DataFrame({**dict(zip(["N", "D", "U"], x.T)), "y": y}), list(FORMS[name].inputs)


# Relative tolerances: a form fitted with a wrong term (a sign, a missing log) misses by far more.
TOLERANCE = {
    "chinchilla_no_floor": {"A": 0.1, "B": 0.1, "alpha": 0.02, "beta": 0.02},
    "farseer_lite": {"E": 0.02, "alpha": 0.03, "gamma": 0.15},
    "data_constrained": {"E": 0.02, "alpha": 0.03, "beta": 0.03, "R_star": 0.15},
}


@pytest.mark.parametrize("name", list(TOLERANCE))
def test_known_parameters_are_recovered(name):
    epochs = (1.0, 4.0, 16.0, 64.0) if name == "data_constrained" else (1.0,)
    table, x = synthetic(name, epochs=epochs)
    law = ScalingLaw(name, n_bootstrap=0).fit(table, x=x, y="y")
    for param, tolerance in TOLERANCE[name].items():
        assert law.params_[param] == pytest.approx(EXAMPLE_PARAMS[name][param], rel=tolerance), param


def test_farseer_data_exponent_at_the_median_size_is_recovered():
    table, x = synthetic("farseer_lite")
    law = ScalingLaw("farseer_lite", n_bootstrap=0).fit(table, x=x, y="y")
    truth = EXAMPLE_PARAMS["farseer_lite"]
    exponent = lambda p: p["beta"] * 1e8 ** p["gamma"]  # noqa: E731
    assert exponent(law.params_) == pytest.approx(exponent(truth), rel=0.02)


def test_data_constrained_at_one_epoch_is_the_chinchilla_form():
    form, chinchilla = FORMS["data_constrained"], FORMS["chinchilla"]
    x = joint_grid()
    theta = form.to_internal(EXAMPLE_PARAMS["data_constrained"])
    np.testing.assert_allclose(
        form.log_predict(theta[None], np.log(x))[0],
        chinchilla.log_predict(theta[None, :5], np.log(x[:, :2]))[0],
        rtol=1e-12,
    )


def test_repeated_tokens_are_worth_less_than_fresh_ones():
    form = FORMS["data_constrained"]
    theta = form.to_internal(EXAMPLE_PARAMS["data_constrained"])[None]
    fresh, repeated = np.log([[1e9, 1e11, 1e11], [1e9, 1e11, 1e9]])  # 1 epoch vs 100 epochs
    once = np.log([[1e9, 1e9, 1e9]])
    losses = [form.log_predict(theta, row[None])[0, 0] for row in (fresh, repeated, once[0])]
    assert losses[0] < losses[1] < losses[2]


def test_farseer_allocation_is_chinchillas_when_the_exponent_does_not_move():
    params = dict(EXAMPLE_PARAMS["chinchilla"], gamma=0.0)
    law, reference = ScalingLaw("farseer_lite", n_bootstrap=0), ScalingLaw("chinchilla", n_bootstrap=0)
    for fitted in (law, reference):
        table, x = synthetic("chinchilla")
        fitted.fit(table, x=["N", "D"], y="y")
    law.theta_ = FORMS["farseer_lite"].to_internal(params)
    reference.theta_ = FORMS["chinchilla"].to_internal(EXAMPLE_PARAMS["chinchilla"])
    ours, theirs = compute_optimal(law, [1e21, 1e23]), compute_optimal(reference, [1e21, 1e23])
    np.testing.assert_allclose(ours["N_opt"], theirs["N_opt"], rtol=1e-6)


def data_constrained_law():
    table, x = synthetic("data_constrained", epochs=(1.0, 4.0))
    law = ScalingLaw("data_constrained", n_bootstrap=0).fit(table, x=x, y="y")
    law.theta_ = FORMS["data_constrained"].to_internal(EXAMPLE_PARAMS["data_constrained"])
    return law


def test_data_constrained_allocation_needs_the_unique_data_available():
    with pytest.raises(UserError, match="needs unique_data"):
        compute_optimal(data_constrained_law(), [1e21])


def test_scarce_unique_data_moves_the_optimum_to_larger_models_on_fewer_tokens():
    law, chinchilla = data_constrained_law(), ScalingLaw("chinchilla", n_bootstrap=0)
    table, x = synthetic("chinchilla")
    chinchilla.fit(table, x=x, y="y")
    chinchilla.theta_ = FORMS["chinchilla"].to_internal(EXAMPLE_PARAMS["chinchilla"])
    budget = [1e23]
    plenty = compute_optimal(law, budget, unique_data=1e15)  # no token is ever repeated
    np.testing.assert_allclose(plenty["N_opt"], compute_optimal(chinchilla, budget)["N_opt"], rtol=1e-6)
    scarce = compute_optimal(law, budget, unique_data=1e10)  # the unconstrained optimum would repeat it ~10x
    assert scarce["N_opt"][0] > 1.2 * plenty["N_opt"][0]
    assert scarce["loss_opt"][0] > plenty["loss_opt"][0]


def test_auto_prefers_chinchilla_on_chinchilla_data_and_reports_every_score():
    table, x = synthetic("chinchilla", seed=3)
    law = ScalingLaw("auto", n_bootstrap=0).fit(table, x=x, y="y")
    # farseer_lite contains chinchilla (gamma = 0) and ties it: the simpler form wins the tie.
    assert law.form_.name == "chinchilla"
    assert set(law.form_choice_.scores) == {"chinchilla", "kaplan", "chinchilla_no_floor", "farseer_lite"}
    assert set(law.diagnostics()["form_scores_by_direction"]["kaplan"]) == {"size", "data", "compute"}


def test_auto_finds_a_data_exponent_that_moves_with_size():
    truth = dict(EXAMPLE_PARAMS["farseer_lite"], gamma=-0.1, beta=0.28 * 1e8**0.1)
    x = joint_grid()[:, :2]
    y = reference_prediction("farseer_lite", truth, x) * np.exp(np.random.default_rng(4).normal(0, NOISE, len(x)))
    law = ScalingLaw("auto", n_bootstrap=0).fit(pd.DataFrame({"N": x[:, 0], "D": x[:, 1], "y": y}), x=["N", "D"], y="y")
    assert law.form_.name == "farseer_lite"
    assert law.form_choice_.scores["farseer_lite"] < 0.5 * law.form_choice_.scores["chinchilla"]


@pytest.mark.slow
def test_auto_with_unique_data_finds_the_repetition_decay():
    table, x = synthetic("data_constrained", epochs=(1.0, 8.0, 64.0))
    law = ScalingLaw("auto", n_bootstrap=0).fit(table, x=x, y="y")
    assert law.form_.name == "data_constrained" and law.x_ == ["N", "D", "U"]
    assert law.form_choice_.scores["data_constrained"] < 0.5 * law.form_choice_.scores["chinchilla"]


def test_scalinglab_fit_auto_on_a_joint_table_gives_json_with_every_score():
    import json

    from scalinglab.fit import fit_table

    table, x = synthetic("chinchilla", seed=5)
    result = json.loads(json.dumps(fit_table(table, x=x, y="y", form="auto", n_bootstrap=20).to_dict()))
    scores = result["diagnostics"]["form_scores_by_direction"]
    assert set(scores) == {"chinchilla", "kaplan", "chinchilla_no_floor", "farseer_lite"}
    assert result["form"] in scores and all(value is not None for value in scores[result["form"]].values())


def test_a_figure_of_a_law_of_three_inputs_is_refused_before_fitting(tmp_path):
    from scalinglab.fit import fit_table

    table, x = synthetic("data_constrained")
    with pytest.raises(UserError, match="--out: figures are drawn for laws of one input or of N,D"):
        fit_table(table, x=x, y="y", form="data_constrained", figure=tmp_path / "fit.png")
