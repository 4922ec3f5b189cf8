"""recompute_rounds: a planned sweep's rounds, recomputed from its measured runs alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scalinglab.plan import Planner
from scalinglab.plan.history import recompute_rounds

TARGET = pd.DataFrame({"x": [1e7]})


def grid_and_truth():
    x = np.tile(np.geomspace(1e3, 1e6, 10), 2)
    grid = pd.DataFrame({"x": x, "cost": x}, index=[f"run{i}" for i in range(len(x))])
    noise = np.exp(np.random.default_rng(1).normal(0, 0.01, len(x)))
    return grid, pd.Series((1.5 + 30 * x**-0.4) * noise, index=grid.index)


def fresh_planner():
    return Planner("x", "loss", "power", target=TARGET, cost="cost", random_state=3, n_bootstrap=20)


def sweep(grid, truth, k, budget):
    """What sweeper.planned.next_round does: a fresh planner each round, the stored runs told in
    the grid's order, the runs not yet tried offered."""
    trained, rounds = [], []
    while True:
        planner = fresh_planner()
        if trained:
            planner.tell(grid.loc[[key for key in grid.index if key in trained]].assign(loss=truth))
        if planner.should_stop(budget=budget):
            return rounds
        batch = planner.ask(grid.drop(index=trained), k, budget=budget - planner.spent)
        if batch.empty:
            return rounds
        rounds.append(list(batch.index))
        trained += list(batch.index)


def test_the_recomputed_rounds_are_the_rounds_the_sweep_trained():
    grid, truth = grid_and_truth()
    budget = 0.3 * grid.cost.sum()
    rounds = sweep(grid, truth, 3, budget)
    trained = [key for chosen in rounds for key in chosen]
    history = recompute_rounds(fresh_planner(), grid, truth.loc[trained], 3, budget=budget)
    assert len(rounds) >= 3 and history.complete
    assert [list(group.index) for _, group in history.chosen.groupby("round")] == rounds
    assert (
        history.rounds["spent"].iloc[-1] == pytest.approx(grid.cost[trained].sum())
        and grid.cost[trained].sum() <= budget
    )
    assert history.rounds["spent"].is_monotonic_increasing
    fitted = history.rounds.dropna(subset=["predicted"])
    assert len(fitted) >= 1 and (fitted["low"] < fitted["predicted"]).all()
    assert (fitted["predicted"] < fitted["high"]).all()


def test_it_stops_where_the_sweep_stands():
    grid, truth = grid_and_truth()
    budget = 0.3 * grid.cost.sum()
    rounds = sweep(grid, truth, 3, budget)
    so_far = [key for chosen in rounds[:2] for key in chosen]
    history = recompute_rounds(fresh_planner(), grid, truth.loc[so_far], 3, budget=budget)
    assert not history.complete and list(history.rounds["round"]) == [1, 2]
