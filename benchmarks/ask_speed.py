"""How long the planner takes to choose k = 8 runs of 500 candidates (issue 22 goal: under 5 s on 2 cores).

A script that prints figures, not a test. The pool is a synthetic Chinchilla-form law (Hoffmann et
al. 2022's fitted parameters), 25 model sizes x 20 data sizes = 500 candidates, 1 % noise. For each
of 5 draws the planner is told its starting design and 20 random runs of the pool, then asked for
8 of the 500: the time includes the fit of the law with its bootstrap (the first ``ask`` after a
``tell`` refits), as a round of a planned sweep pays it. Three cases:

  * ``chinchilla``: one form, no budget (plain greedy batch);
  * ``chinchilla, budget``: with a budget left: the whole remaining budget is planned for three
    cost powers and the best plan's first 8 picks are returned;
  * ``chinchilla, budget, term``: the same with the law's extrapolation term counted
    (``extrapolation_term=True``), as a planned sweep's planner asks (``sweeper.planned``);
  * ``auto``: ``form="auto"`` (every joint form scored by backtest, the plausible ones' spread
    counted at the target).

    python benchmarks/ask_speed.py [--draws 5] [--n-bootstrap 200]

The machine is shared: the figures are medians and maxima over the draws, each draw timed once.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from scalinglab.plan import Planner  # noqa: E402

TRUTH = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}  # Hoffmann et al. 2022, eq. 10
TARGET = pd.DataFrame({"N": [1e10], "D": [2e11]})
K = 8


def pool(seed: int) -> pd.DataFrame:
    """500 candidate runs with their measured loss (revealed only once told)."""
    rng = np.random.default_rng(seed)
    n, d = np.meshgrid(np.geomspace(1e7, 1e9, 25), np.geomspace(2e8, 2e10, 20))
    table = pd.DataFrame({"N": n.ravel(), "D": d.ravel()}, index=[f"run{i}" for i in range(n.size)])
    table["flops"] = 6 * table.N * table.D
    truth = TRUTH["E"] + TRUTH["A"] / table.N ** TRUTH["alpha"] + TRUTH["B"] / table.D ** TRUTH["beta"]
    table["loss"] = truth * np.exp(rng.normal(0, 0.01, len(table)))
    return table


def seconds_to_ask(seed: int, form: str, with_budget: bool, n_bootstrap: int, term: bool = False) -> float:
    runs = pool(seed)
    planner = Planner(
        ["N", "D"],
        "loss",
        form,
        target=TARGET,
        cost="flops",
        random_state=seed,
        n_bootstrap=n_bootstrap,
        extrapolation_term=term,
    )
    start = planner.ask(runs.drop(columns="loss"), planner.n_start)
    planner.tell(runs.loc[start.index])
    planner.tell(runs.drop(index=start.index).sample(20, random_state=seed))
    budget = 0.1 * float(runs.flops.sum()) if with_budget else None
    started = time.perf_counter()
    batch = planner.ask(runs.drop(columns="loss"), K, budget=budget)
    elapsed = time.perf_counter() - started
    assert len(batch) == K and not batch.index.isin(planner.told.index).any()
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--n-bootstrap", type=int, default=200, help="the Planner's default")
    args = parser.parse_args()
    print(f"k = {K} of 500 candidates, {args.draws} draws, {args.n_bootstrap} bootstrap replicates; goal < 5 s")
    for label, form, with_budget, term in (
        ("chinchilla", "chinchilla", False, False),
        ("chinchilla, budget", "chinchilla", True, False),
        ("chinchilla, budget, term", "chinchilla", True, True),
        ("auto", "auto", False, False),
    ):
        times = [seconds_to_ask(seed, form, with_budget, args.n_bootstrap, term) for seed in range(args.draws)]
        print(f"{label:<26} median {statistics.median(times):6.2f} s   max {max(times):6.2f} s")


if __name__ == "__main__":
    main()
