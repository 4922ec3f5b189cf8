"""Training curves as evidence: each run's burn-in dropped, its points resampled as one."""

import numpy as np
import pandas as pd
import pytest
from fit_helpers import EXAMPLE_PARAMS, curve_table

from scalinglab.errors import UserError
from scalinglab.fit import ScalingLaw, fit_table
from scalinglab.fit.table import after_burn_in


def test_burn_in_drops_the_first_share_of_each_runs_own_steps():
    table = pd.DataFrame({"run": ["a"] * 5 + ["b"] * 2, "step": [0, 10, 20, 30, 100, 5, 50]})
    kept = after_burn_in(table, run="run", step="step", fraction=0.2)
    assert kept["step"].tolist() == [30, 100, 50]  # a: > 20; b: > 10
    assert after_burn_in(table, run="run", step="step", fraction=0.0)["step"].tolist() == [10, 20, 30, 100, 5, 50]


@pytest.mark.parametrize("fraction, message", [(1.0, "burn_in must be a fraction"), (0.2, "run column 'id'")])
def test_bad_burn_in_options_are_one_clear_error(fraction, message):
    with pytest.raises(UserError, match=message):
        after_burn_in(
            pd.DataFrame({"run": ["a"], "step": [1]}),
            run="id" if fraction == 0.2 else "run",
            step="step",
            fraction=fraction,
        )


def test_steps_without_runs_are_refused_since_points_would_count_as_independent():
    with pytest.raises(UserError, match="--step step needs --groups"):
        fit_table(curve_table(0), x=["N", "D"], y="loss", form="chinchilla", step="step", n_bootstrap=0)


def test_curves_fitted_with_runs_as_groups_recover_the_law():
    fitted = fit_table(
        curve_table(1), x=["N", "D"], y="loss", form="chinchilla", groups="run", step="step", n_bootstrap=100
    )
    law = fitted.law
    assert law.n_points_ == 6 * 3 * 8  # 10 evaluations per run, the first 2 (<= 20%) dropped
    assert law.n_groups_ == 18
    for name in ("alpha", "beta"):  # each run's 1% offset moves all its points: a loose estimate, honest intervals
        assert law.params_[name] == pytest.approx(EXAMPLE_PARAMS["chinchilla"][name], rel=0.15), name
        assert law.ci_[name][0] <= EXAMPLE_PARAMS["chinchilla"][name] <= law.ci_[name][1], name


def test_a_runs_points_are_one_piece_of_evidence():
    """Resampling rows as if independent would narrow the interval of alpha by about sqrt(8);
    resampling runs keeps it near that of the final points alone."""
    curves = after_burn_in(curve_table(2), run="run", step="step")
    finals = curves[curves["step"] == 1000]
    width = {}
    for name, table, groups in (
        ("runs", curves, "run"),
        ("rows", curves, np.arange(len(curves))),
        ("finals", finals, "run"),
    ):
        law = ScalingLaw("chinchilla", n_bootstrap=200, random_state=0).fit(
            table, x=["N", "D"], y="loss", groups=groups
        )
        width[name] = np.subtract(*law.ci_["alpha"][::-1])
    assert width["rows"] < 0.7 * width["runs"]
    assert width["runs"] > 0.4 * width["finals"]
