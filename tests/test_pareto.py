"""The cost-quality front shared by the report, `recommend` and the compression verdict."""

import numpy as np

from scalinglab.pareto import pareto_mask


def test_equal_costs_keep_only_their_best_and_non_finite_points_are_never_on_the_front():
    cost = np.array([1.0, 1.0, 2.0, np.nan, 3.0, 4.0])
    loss = np.array([0.5, 0.4, 0.45, 0.1, np.nan, 0.3])
    assert pareto_mask(cost, loss).tolist() == [False, True, False, False, False, True]


def test_higher_is_better_flips_the_direction():
    cost = np.array([1.0, 2.0, 3.0])
    accuracy = np.array([0.9, 0.8, 0.95])
    assert pareto_mask(cost, accuracy, lower_is_better=False).tolist() == [True, False, True]
