"""Does a planned sweep reach the whole grid's answer at <= 30 % of its FLOPs? (issue 22 goal)

Replays the project's dense built-in sweep (an MLP on `digits`, 10 widths x 5 data sizes x 3
seeds, benchmarks/data/planner_mlp_digits.csv) as a planned sweep would run it: the whole grid is
the candidate pool, the target is the grid's largest configuration ([plan]'s default), form
"chinchilla" on (n_params, train_size), cost train_flops, rounds of 4 runs, the planner built as
``sweeper.planned.make_planner`` builds it (configurations resampled, the extrapolation term on;
``--no-extrapolation-term`` leaves it out). After each round it
checks whether the planned fit's prediction at the target agrees with the whole grid's fit: the
whole grid's prediction inside the planned 95 % interval, or the planned prediction inside the whole
grid's. Prints, per seed of the planner, the first share of the grid's FLOPs at which it agrees
and stays agreeing at every later round within 50 % of the grid's FLOPs.

It then compares the recommendation itself (``scalinglab.recommend``, as ``scalinglab recommend``
and the report give it) on the runs bought so far against the whole grid's, with a training-FLOPs
budget equal to the grid's largest configuration's: after each round up to 30 % of the grid's
FLOPs, whether the planned runs recommend the same size and data size, or a predicted loss inside
the whole grid's recommendation's 95 % interval (the issue's goal).

This is a replay of stored runs (the planner sees a run's loss only once it "trains" it), not a
live `scalinglab run`.

    python benchmarks/planned_grid.py [--seeds 5] [--batch 4] [--recommend-seeds 3] [--no-extrapolation-term]
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

from scalinglab import analyze  # noqa: E402
from scalinglab.errors import UserError  # noqa: E402
from scalinglab.plan import Planner  # noqa: E402
from scalinglab.recommendation import Budgets, recommend  # noqa: E402
from scalinglab.sweeper.planned import CONFIGURATION  # noqa: E402

DENSE = ROOT / "benchmarks" / "data" / "planner_mlp_digits.csv"
X, Y, COST = ["n_params", "train_size"], "val_loss", "train_flops"
LIMIT = 0.5
GOAL = 0.30  # the share of the grid's FLOPs


def recommendation(runs: pd.DataFrame, budget_flops: float, n_bootstrap: int):
    """``scalinglab.recommend`` on these runs under a training-FLOPs budget (None if it refuses)."""
    try:
        analysis = analyze(runs.drop(columns=CONFIGURATION, errors="ignore"), n_bootstrap=n_bootstrap)
        return recommend(analysis, Budgets(train_flops=budget_flops))
    except UserError:
        return None


def same_answer(planned, full) -> bool:
    """Same size and data size, or the planned prediction inside the whole grid's 95 % interval."""
    if planned is None:
        return False
    same = np.isclose(planned.n_params, full.n_params) and np.isclose(planned.train_size, full.train_size)
    return bool(same or (full.ci_low is not None and full.ci_low <= planned.predicted <= full.ci_high))


def agrees(planned, full):
    return bool(
        planned["low"] <= full["predicted"] <= planned["high"] or full["low"] <= planned["predicted"] <= full["high"]
    )


def run(seed, batch, grid, target, full, extrapolation_term=True):
    planner = Planner(
        X,
        Y,
        "chinchilla",
        target=target,
        cost=COST,
        random_state=seed,
        groups=CONFIGURATION,
        extrapolation_term=extrapolation_term,
    )
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
            trace.append((planner.spent / total, agrees(row, full), row, list(planner.told.index)))
    first = None
    for index, (share, *_) in enumerate(trace):
        if all(later for _, later, *_ in trace[index:]):
            first = share
            break
    return first, trace


def compare_recommendations(grid: pd.DataFrame, traces: list, n_bootstrap: int) -> None:
    """The recommendation on the planned runs after each round up to GOAL against the whole grid's."""
    budget = float(grid.groupby(["n_params", "train_size"])[COST].mean().max())
    full = recommendation(grid, budget, n_bootstrap)
    print(
        f"\nrecommendation, training-FLOPs budget {budget:.3g} (the largest configuration's); whole grid: "
        f"{full.n_params:.0f} parameters on train_size {full.train_size:.0f}, {full.predicted:.4f} "
        f"({full.ci_low:.4f} to {full.ci_high:.4f}; {full.law})"
    )
    for seed, trace in enumerate(traces):
        marks, first, planned = [], None, None
        for share, _, _, told in (step for step in trace if step[0] <= GOAL):
            planned = recommendation(grid.loc[told], budget, n_bootstrap)
            ok = same_answer(planned, full)
            marks.append("+" if ok else "-")
            first = share if ok and first is None else (first if ok else None)
        last = (
            "none"
            if planned is None
            else (
                f"{planned.n_params:.0f} on {planned.train_size:.0f}, {planned.predicted:.4f} "
                f"({planned.law}; stopped by {planned.binding.split(' (')[0]})"
            )
        )
        shown = "not by 30 %" if first is None else f"{first:.1%}"
        print(
            f"seed {seed}: same answer from {shown} of the grid's FLOPs on (per round {''.join(marks)}); at <= 30 %: {last}"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--recommend-seeds", type=int, default=3, help="seeds whose recommendations are compared")
    parser.add_argument("--n-bootstrap", type=int, default=200, help="bootstrap replicates of each analysis")
    parser.add_argument(
        "--no-extrapolation-term", action="store_true", help="the planner without it (Planner's own default)"
    )
    args = parser.parse_args()
    start = time.perf_counter()
    grid = pd.read_csv(DENSE)
    grid.index = [f"run{i}" for i in range(len(grid))]
    grid[CONFIGURATION] = [f"{n:g} x {d:g}" for n, d in zip(grid.n_params, grid.train_size)]  # as make_planner groups
    target = pd.DataFrame({"n_params": [grid.n_params.max()], "train_size": [grid.train_size.max()]})
    whole = Planner(X, Y, "chinchilla", target=target, cost=COST, random_state=0, groups=CONFIGURATION).tell(grid)
    full = whole.prediction().iloc[0]
    measured = grid[(grid.n_params == target.n_params[0]) & (grid.train_size == target.train_size[0])][Y]
    print(
        f"whole grid: {len(grid)} runs, {grid[COST].sum():.3g} FLOPs; prediction at the target "
        f"{full['predicted']:.4f} ({full['low']:.4f} to {full['high']:.4f}); measured there "
        f"{measured.mean():.4f} (mean of {len(measured)} seeds)"
    )
    shares, traces = [], []
    for seed in range(args.seeds):
        first, trace = run(seed, args.batch, grid, target, full, not args.no_extrapolation_term)
        traces.append(trace)
        shares.append(np.nan if first is None else first)
        shown = "never within 50 %" if first is None else f"{first:.1%}"
        at = [row for share, _, row, _ in trace if share <= GOAL][-1]
        print(
            f"seed {seed}: agrees from {shown} of the grid's FLOPs on "
            f"({len(trace)} fitted rounds; agreement per round: {''.join('+' if ok else '-' for _, ok, *_ in trace)}); "
            f"at <= 30 %: {at['predicted']:.4f} ({at['low']:.4f} to {at['high']:.4f})"
        )
    reached = np.array(shares)
    print(f"\nmedian share of FLOPs to agree: {np.nanmedian(reached):.1%}" if np.isfinite(reached).any() else "")
    print(f"seeds agreeing at <= 30 %: {int(np.sum(reached <= GOAL))} of {args.seeds}")
    compare_recommendations(grid, traces[: args.recommend_seeds], args.n_bootstrap)
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
