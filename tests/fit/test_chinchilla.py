"""Acceptance: the published fit of the Chinchilla data (Besiroglu et al. 2024) is reproduced."""

import pytest

from scalinglab.fit import ScalingLaw

# Fit exactly as Hoffmann et al. describe it, on the 240 rows (examples/chinchilla/README.md).
PUBLISHED = {"A": 477.84, "B": 2143.86, "E": 1.8172, "alpha": 0.3473, "beta": 0.3672}
# Replication's bootstrap interval of alpha (4,000 resamples).
PUBLISHED_ALPHA_CI = (0.317, 0.373)


def test_the_data_is_the_papers_240_rows(chinchilla_table):
    assert len(chinchilla_table) == 240
    assert chinchilla_table["loss"].max() < 3.44


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_each_parameter_is_within_one_percent_of_the_published_fit(chinchilla_law, name):
    assert chinchilla_law.params_[name] == pytest.approx(PUBLISHED[name], rel=0.01)


def test_all_4500_starts_of_the_papers_grid_are_used(chinchilla_law):
    assert chinchilla_law.n_starts_ == 4500


def test_bootstrap_interval_of_alpha_matches_the_replication(chinchilla_law):
    low, high = chinchilla_law.ci_["alpha"]
    assert low == pytest.approx(PUBLISHED_ALPHA_CI[0], abs=0.01)
    assert high == pytest.approx(PUBLISHED_ALPHA_CI[1], abs=0.01)


def test_every_interval_contains_its_estimate(chinchilla_law):
    for name, value in chinchilla_law.params_.items():
        low, high = chinchilla_law.ci_[name]
        assert low < value < high


def test_a_mean_squared_fit_is_not_the_published_one(chinchilla_table):
    # Guards the test above against passing for any loss: a large delta (least squares on
    # log loss) moves the estimate well away from the published Huber fit.
    law = ScalingLaw("chinchilla", huber_delta=1.0, n_bootstrap=0).fit(chinchilla_table, x=["N", "D"], y="loss")
    assert law.params_["A"] != pytest.approx(PUBLISHED["A"], rel=0.01)
