"""Backtests: hold out the largest sizes or the rows outside a condition, score the rest."""

import numpy as np
import pandas as pd
import pytest
from fit_helpers import power_table

from scalinglab.errors import UserError
from scalinglab.fit import ScalingLaw, backtest, split_holdout


@pytest.fixture(scope="module")
def table():
    return power_table(n=40, seed=5)


def test_holding_out_k_sizes_removes_the_k_largest(table):
    train, test = split_holdout(table, "x", 3)
    assert len(test) == 3 and len(train) == len(table) - 3
    assert test["x"].min() > train["x"].max()


def test_all_runs_of_a_held_out_size_go_together():
    table = pd.DataFrame({"N": [1, 1, 2, 2, 3, 3.0], "y": np.arange(6.0) + 1})
    train, test = split_holdout(table, "N", 1)
    assert list(test["N"]) == [3, 3] and len(train) == 4


def test_a_condition_selects_the_training_rows(table):
    train, test = split_holdout(table, "x", "x < 1e9")
    assert (train["x"] < 1e9).all() and (test["x"] >= 1e9).all()
    assert len(train) + len(test) == len(table)


def test_backtest_scores_the_held_out_rows_of_a_law_that_extrapolates(table):
    law = ScalingLaw("power", n_bootstrap=300, random_state=0)
    result = backtest(law, table, x="x", y="y", holdout=5)
    held = result.held_out
    assert result.n_test == 5 and result.n_train == 35
    expected_rmse = np.sqrt(np.mean((np.log(held["predicted"]) - np.log(held["y"])) ** 2))
    assert result.rmse_log == pytest.approx(expected_rmse, rel=1e-12)
    assert result.rmse_log < 0.03  # the data follow the law: extrapolation is good
    assert result.coverage == held["inside"].mean() and result.coverage >= 0.6
    assert ((held["low"] <= held["predicted"]) & (held["predicted"] <= held["high"])).all()
    assert not hasattr(law, "params_")  # the given law is left unfitted


def test_a_wrong_law_extrapolates_badly_and_is_seen_to():
    # Data that bend away (a second, slower power law beyond 1e8) break a one-term fit.
    x = np.geomspace(1e4, 1e10, 40)
    y = np.where(x < 1e8, 1 + 50 * x**-0.3, 1 + 50 * 1e8**-0.3 * (x / 1e8) ** -0.05)
    result = backtest(
        ScalingLaw("power", n_bootstrap=200, random_state=0),
        pd.DataFrame({"x": x, "y": y}),
        x="x",
        y="y",
        holdout="x < 1e8",
    )
    assert result.rmse_log > 0.02
    assert result.coverage < 0.5


def test_without_bootstrap_there_is_no_coverage(table):
    result = backtest(ScalingLaw("power", n_bootstrap=0), table, x="x", y="y", holdout=2)
    assert result.coverage is None and "inside" not in result.held_out


@pytest.mark.parametrize(
    "holdout, message",
    [
        (0, "holdout must be"),
        (40, "every size"),
        ("x > 0", "no row to test"),
        ("x +", "cannot evaluate"),
    ],
)
def test_bad_holdouts_are_user_errors(table, holdout, message):
    with pytest.raises(UserError, match=message):
        backtest(ScalingLaw("power", n_bootstrap=0), table, x="x", y="y", holdout=holdout)
