"""oracle_design: the best design under a budget when the law is known, a bound for the strategies."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from scalinglab.plan import oracle_design, replay
from scalinglab.plan.replay import DesignTruth


def pool_and_target(sizes=12):
    """y = 1.5 + 30 x^-0.4 with 1 % noise at ``sizes`` sizes x 2 seeds, cost x; target beyond."""
    rng = np.random.default_rng(0)
    x = np.tile(np.geomspace(1e3, 1e6, sizes), 2)
    pool = pd.DataFrame({"x": x, "loss": (1.5 + 30 * x**-0.4) * np.exp(rng.normal(0, 0.01, len(x)))})
    pool["cost"] = pool.x
    return pool, pd.DataFrame({"x": [1e7], "loss": [1.5 + 30 * 1e7**-0.4]})


def test_oracle_finds_the_best_affordable_design_of_a_small_pool():
    pool, target = pool_and_target(6)  # 12 runs: every affordable subset is checked
    cost = pool.cost.to_numpy()
    budget = 0.3 * cost.sum()
    truth = DesignTruth.of_pool(pool, target, "x", "loss", "power")
    best = min(
        truth.error(list(subset))
        for size in range(1, len(pool) + 1)
        for subset in itertools.combinations(range(len(pool)), size)
        if cost[list(subset)].sum() <= budget
    )
    oracle = oracle_design(pool, target, "x", "loss", cost, budget, "power")
    assert cost[oracle.chosen].sum() <= budget
    assert oracle.expected_error == pytest.approx(best, rel=0.02)
    assert oracle.expected_error > oracle.expected_error_all  # a subset knows less than the pool


@pytest.mark.parametrize("strategy", ["planner", "v_optimal", "random", "cheapest"])
def test_no_strategy_expects_less_error_than_the_oracle(strategy):
    pool, target = pool_and_target()
    budget = 0.1 * pool.cost.sum()
    truth = DesignTruth.of_pool(pool, target, "x", "loss", "power")
    bought = replay(pool, target, "x", "loss", "cost", budget, strategy, "power", 0, n_bootstrap=30).chosen
    oracle = oracle_design(pool, target, "x", "loss", pool.cost.to_numpy(), budget, "power")
    assert oracle.expected_error <= truth.error(list(pool.index.get_indexer(bought))) + 1e-12
