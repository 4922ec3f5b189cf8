"""replay: a pool as an oracle under each strategy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scalinglab.errors import UserError
from scalinglab.plan import STRATEGIES, replay, target_scores


def pool_and_target():
    rng = np.random.default_rng(0)
    x = np.tile(np.geomspace(1e3, 1e6, 12), 2)
    pool = pd.DataFrame({"x": x, "loss": (1.5 + 30 * x**-0.4) * np.exp(rng.normal(0, 0.01, len(x)))})
    pool["cost"] = pool.x
    return pool, pd.DataFrame({"x": [1e7], "loss": [1.5 + 30 * 1e7**-0.4]})


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_stays_in_budget_and_buys_each_run_once(strategy):
    pool, target = pool_and_target()
    budget = 0.2 * pool.cost.sum()
    result = replay(pool, target, "x", "loss", "cost", budget, strategy, "power", 0, n_bootstrap=30)
    assert len(set(result.chosen)) == len(result.chosen)
    assert set(result.chosen) <= set(pool.index)
    spent = pool.cost[result.chosen].sum()
    assert result.final["spent"] == pytest.approx(spent)
    if strategy == "all":
        assert len(result.chosen) == len(pool)
    else:
        assert spent <= budget
    assert result.trace["spent"].is_monotonic_increasing


def test_cheapest_buys_the_cheapest_runs():
    pool, target = pool_and_target()
    result = replay(pool, target, "x", "loss", "cost", 0.05 * pool.cost.sum(), "cheapest", "power", 0, n_bootstrap=30)
    assert pool.cost[result.chosen].max() <= pool.cost.drop(index=result.chosen).min()


def test_cost_random_prefers_cheap_runs_but_is_random_even_for_costs_in_flops():
    pool, target = pool_and_target()
    pool["cost"] = pool.x * 1e15  # FLOP-sized costs
    orders = [
        replay(
            pool, target, "x", "loss", "cost", 0.05 * pool.cost.sum(), "cost_random", "power", seed, n_bootstrap=30
        ).chosen
        for seed in range(6)
    ]
    assert len({tuple(order) for order in orders}) > 1
    bought = pool.cost[[label for order in orders for label in order]]
    assert bought.median() < pool.cost.median()


def test_same_seed_same_replay():
    pool, target = pool_and_target()
    runs = [
        replay(pool, target, "x", "loss", "cost", 0.2 * pool.cost.sum(), "planner", "power", 3, n_bootstrap=30).chosen
        for _ in range(2)
    ]
    assert runs[0] == runs[1]


def test_target_scores_are_finite_and_skip_r2_for_one_row():
    table = pd.DataFrame({"loss": [2.0], "predicted": [2.2], "low": [1.9], "high": [2.5]})
    assert target_scores(table, "loss") == pytest.approx({"error": 0.1, "coverage": 1.0})


def test_unknown_strategy_is_a_user_error():
    pool, target = pool_and_target()
    with pytest.raises(UserError, match="strategy"):
        replay(pool, target, "x", "loss", "cost", 1.0, "greedy", "power")
