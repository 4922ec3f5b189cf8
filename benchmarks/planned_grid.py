"""Does a planned sweep reach the whole grid's answer at <= 30 % of its FLOPs? (issue 22 goal)

Replays the project's dense built-in sweep (an MLP on `digits`, 10 widths x 5 data sizes x 3
seeds, benchmarks/data/planner_mlp_digits.csv) as a planned sweep would run it: the whole grid is
the candidate pool, the target is the grid's largest configuration ([plan]'s default), form
"chinchilla" on (n_params, train_size), cost train_flops, rounds of 4 runs. After each round it
checks whether the planned fit's prediction at the target agrees with the whole grid's fit: the
whole grid's prediction inside the planned 95 % interval, or the planned prediction inside the whole
grid's. Prints, per seed of the planner, the first share of the grid's FLOPs at which it agrees
and stays agreeing at every later round within 50 % of the grid's FLOPs.

This is a replay of stored runs (the planner sees a run's loss only once it "trains" it), not a
live `scalinglab run`; the recommendation compared is the predicted loss at the target, not the
report's recommended size.

    python benchmarks/planned_grid.py [--seeds 5] [--batch 4]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from scalinglab.plan import Planner  # noqa: E402

DENSE = ROOT / "benchmarks" / "data" / "planner_mlp_digits.csv"
X, Y, COST = ["n_params", "train_size"], "val_loss", "train_flops"
LIMIT = 0.5


def agrees(planned, full):
    return bool(
        planned["low"] <= full["predicted"] <= planned["high"] or full["low"] <= planned["predicted"] <= full["high"]
    )


def run(seed, batch, grid, target, full):
    planner = Planner(X, Y, "chinchilla", target=target, cost=COST, random_state=seed)
    total = float(grid[COST].sum())
    trace = []
    while planner.spent < LIMIT * total:
        offered = grid.drop(index=planner.told.index) if len(planner.told) else grid
        picks = planner.ask(offered.drop(columns=[Y]), batch, budget=LIMIT * total - planner.spent)
        if picks.empty:
            break
        planner.tell(grid.loc[picks.index])
        if planner.law() is not None:
            row = planner.prediction().iloc[0]
            trace.append((planner.spent / total, agrees(row, full), row))
    first = None
    for index, (share, _, _) in enumerate(trace):
        if all(later for _, later, _ in trace[index:]):
            first = share
            break
    return first, trace


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=4)
    args = parser.parse_args()
    start = time.perf_counter()
    grid = pd.read_csv(DENSE)
    grid.index = [f"run{i}" for i in range(len(grid))]
    target = pd.DataFrame({"n_params": [grid.n_params.max()], "train_size": [grid.train_size.max()]})
    whole = Planner(X, Y, "chinchilla", target=target, cost=COST, random_state=0).tell(grid)
    full = whole.prediction().iloc[0]
    measured = grid[(grid.n_params == target.n_params[0]) & (grid.train_size == target.train_size[0])][Y]
    print(
        f"whole grid: {len(grid)} runs, {grid[COST].sum():.3g} FLOPs; prediction at the target "
        f"{full['predicted']:.4f} ({full['low']:.4f} to {full['high']:.4f}); measured there "
        f"{measured.mean():.4f} (mean of {len(measured)} seeds)"
    )
    shares = []
    for seed in range(args.seeds):
        first, trace = run(seed, args.batch, grid, target, full)
        shares.append(np.nan if first is None else first)
        shown = "never within 50 %" if first is None else f"{first:.1%}"
        at = [row for share, _, row in trace if share <= 0.30][-1]
        print(
            f"seed {seed}: agrees from {shown} of the grid's FLOPs on "
            f"({len(trace)} fitted rounds; agreement per round: {''.join('+' if ok else '-' for _, ok, _ in trace)}); "
            f"at <= 30 %: {at['predicted']:.4f} ({at['low']:.4f} to {at['high']:.4f})"
        )
    reached = np.array(shares)
    print(f"\nmedian share of FLOPs to agree: {np.nanmedian(reached):.1%}" if np.isfinite(reached).any() else "")
    print(f"seeds agreeing at <= 30 %: {int(np.sum(reached <= 0.30))} of {args.seeds}")
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
