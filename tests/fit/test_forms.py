"""Each form against its formula written out plainly, its Jacobian against finite differences."""

import numpy as np
import pytest
from fit_helpers import EXAMPLE_PARAMS, reference_prediction

from scalinglab.errors import UserError
from scalinglab.fit import FORMS, get_form

RNG = np.random.default_rng(7)


def example_inputs(form, n=40):
    if form.n_inputs == 1:
        return np.geomspace(1e2, 1e9, n)[:, None]
    n_d = np.column_stack([np.geomspace(1e6, 1e10, n), RNG.permutation(np.geomspace(1e8, 1e12, n))])
    if form.n_inputs == 2:
        return n_d
    # Unique data U: from 1 epoch (U = D) to 100 epochs, and one row with U > D (under an epoch).
    epochs = RNG.permutation(np.geomspace(1.0, 100.0, n))
    epochs[0] = 0.5
    return np.column_stack([n_d, n_d[:, 1] / epochs])


def test_the_forms_are_registered_under_their_names():
    assert list(FORMS) == [
        "power",
        "powerlaw",
        "chinchilla",
        "kaplan",
        "bnsl",
        "shifted_power",
        "chinchilla_no_floor",
        "farseer_lite",
        "data_constrained",
    ]
    assert FORMS["data_constrained"].inputs == ("N", "D", "U")
    assert FORMS["chinchilla"].inputs == ("N", "D")
    assert FORMS["power"].public_names == ["E", "A", "alpha"]


def test_unknown_form_is_a_user_error_listing_the_known_ones():
    with pytest.raises(UserError, match="chinchilla"):
        get_form("chinchila")


@pytest.mark.parametrize("name", list(FORMS))
def test_log_prediction_matches_the_published_formula(name):
    form = FORMS[name]
    x = example_inputs(form)
    theta = form.to_internal(EXAMPLE_PARAMS[name])
    predicted = np.exp(form.log_predict(theta[None, :], np.log(x))[0])
    np.testing.assert_allclose(predicted, reference_prediction(name, EXAMPLE_PARAMS[name], x), rtol=1e-10)


@pytest.mark.parametrize("name", list(FORMS))
def test_jacobian_matches_central_differences(name):
    form = FORMS[name]
    log_x = np.log(example_inputs(form, n=25))
    theta = form.to_internal(EXAMPLE_PARAMS[name])[None, :] + RNG.normal(0, 0.02, (3, form.n_params))
    pred, jacobian = form.log_predict_and_jacobian(theta, log_x)
    step = 1e-6
    for j, column in enumerate(jacobian):
        up, down = theta.copy(), theta.copy()
        up[:, j] += step
        down[:, j] -= step
        numeric = (form.log_predict(up, log_x) - form.log_predict(down, log_x)) / (2 * step)
        np.testing.assert_allclose(np.broadcast_to(column, pred.shape), numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", [name for name, form in FORMS.items() if form.scale_index])
def test_separable_terms_add_up_to_the_prediction(name):
    # Variable projection relies on y = sum of the terms, each carrying its own scale parameter.
    form = FORMS[name]
    log_x = np.log(example_inputs(form))
    theta = form.to_internal(EXAMPLE_PARAMS[name])[None, :]
    terms = form.log_terms(theta, log_x)
    total = sum(np.exp(np.broadcast_to(term, (1, len(log_x)))) for term in terms)
    np.testing.assert_allclose(np.log(total), form.log_predict(theta, log_x), rtol=1e-12)
    for k, index in enumerate(form.scale_index):
        shifted = theta.copy()
        shifted[:, index] += 1.0
        ratio = np.exp(np.broadcast_to(form.log_terms(shifted, log_x)[k] - terms[k], (1, len(log_x))))
        np.testing.assert_allclose(ratio, np.e, rtol=1e-12)


@pytest.mark.parametrize("name", list(FORMS))
def test_internal_and_public_parameters_round_trip(name):
    form = FORMS[name]
    theta = form.to_internal(EXAMPLE_PARAMS[name])
    public = dict(zip(form.public_names, form.to_public(theta)))
    assert public == pytest.approx(EXAMPLE_PARAMS[name], rel=1e-12)


@pytest.mark.parametrize("name", list(FORMS))
def test_default_start_grid_has_one_column_per_parameter_and_lies_in_bounds(name):
    form = FORMS[name]
    x = example_inputs(form)
    log_y = np.log(reference_prediction(name, EXAMPLE_PARAMS[name], x))
    starts = form.start_grid(np.log(x), log_y)
    lower, upper = form.bounds(np.log(x))
    assert starts.ndim == 2 and starts.shape[1] == form.n_params
    assert np.isfinite(starts).all()
    assert ((starts >= lower) & (starts <= upper)).all()


def test_chinchilla_grid_is_the_papers_4500_starts():
    starts = FORMS["chinchilla"].start_grid(None, None)
    assert starts.shape == (4500, 5)
    names = FORMS["chinchilla"].internal_names
    column = {name: np.unique(starts[:, i]) for i, name in enumerate(names)}
    np.testing.assert_array_equal(column["alpha"], [0, 0.5, 1, 1.5, 2])
    np.testing.assert_array_equal(column["beta"], [0, 0.5, 1, 1.5, 2])
    np.testing.assert_array_equal(column["e"], [-1, -0.5, 0, 0.5, 1])
    np.testing.assert_array_equal(column["a"], [0, 5, 10, 15, 20, 25])
    np.testing.assert_array_equal(column["b"], [0, 5, 10, 15, 20, 25])
    assert len(np.unique(starts, axis=0)) == 4500


def test_log_sum_exp_stays_finite_where_the_plain_formula_overflows():
    form = FORMS["chinchilla"]
    theta = np.array([[0.0, 800.0, 0.0, 1.0, 1.0]])  # A = e^800 overflows float64
    log_x = np.log([[1e3, 1e3]])
    assert np.isfinite(form.log_predict(theta, log_x)).all()
    np.testing.assert_allclose(form.log_predict(theta, log_x)[0, 0], 800 - np.log(1e3), rtol=1e-12)


def test_bnsl_slopes_before_and_after_the_break():
    form = FORMS["bnsl"]
    params = {"E": 1e-12, "A": 8.0, "c0": 0.1, "c1": 0.4, "d1": 1e5, "f1": 0.1}
    theta = form.to_internal(params)[None, :]
    log_x = np.log([[1e1], [1e2], [1e8], [1e9]])
    log_y = form.log_predict(theta, log_x)[0]
    slope_before = (log_y[1] - log_y[0]) / (log_x[1, 0] - log_x[0, 0])
    slope_after = (log_y[3] - log_y[2]) / (log_x[3, 0] - log_x[2, 0])
    assert slope_before == pytest.approx(-0.1, abs=1e-6)
    assert slope_after == pytest.approx(-0.5, abs=1e-6)
