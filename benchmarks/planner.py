"""Which runs to buy: the planner against classical designs and simple rules, by replay.

Each pool of finished runs is replayed as an oracle (``scalinglab.plan.replay``): a strategy
buys runs up to 1 %, 5 %, 10 % and 25 % of the pool's total cost, the law is fitted to what it
bought, and the prediction is scored at target rows that no strategy may buy. A script that
prints figures, not a test.

Pools:
- chinchilla: the 245 Chinchilla runs (Hoffmann et al. 2022, as extracted by Besiroglu et al.
  2024; ../shared/data/, else examples/chinchilla/); target: every run of the 5 largest model
  sizes; pool: the rest; cost: training FLOPs; form "chinchilla".
- synthetic: L = E + A/N^alpha + B/D^beta at the Chinchilla fit's values (Besiroglu et al.),
  12 sizes x 8 token counts x 2 seeds, 1 % log-normal noise (drawn anew for each repeat);
  target: the noise-free law at 4 larger (N, D); cost 6 N D; form "chinchilla". Known truth.
- synthetic_power: y = E + A x^-alpha (E=1.5, A=30, alpha=0.4), 30 sizes x 2 seeds, 1 % noise
  (drawn anew for each repeat); target: the noise-free law at 3 sizes beyond; cost x; form "power".
  A synthetic target row also holds ``measured``: the truth times the pool's own 1 % log-normal
  noise, drawn per repeat from the repeat's seed (after the pool's noise, which it leaves as it was).
- mlp_digits: the project's own dense sweep, an MLP on `digits`, 10 widths x 5 data sizes x 3
  seeds (benchmarks/data/planner_mlp_digits.csv); target: every run of the 2 largest widths;
  cost: train_flops; form "chinchilla" on (n_params, train_size).
- lc/<curve>: learning curves of Alabdulmohsin et al. 2022 (benchmarks/data/), the paper's
  split (training = 1 is the pool, 0 the target), cost = examples seen (each point treated as
  a run of its own), form "power".

Every pool also gets an "oracle" row (``scalinglab.plan.replay.oracle_design``): the runs a
design that knew the whole pool's fit (as the truth, noise included) would buy under the budget.
A bound, not a strategy. The "expected" column is, for every strategy, the expected error at the
target of the runs it bought (variance only, linearised at the whole pool's fit: the oracle's
yardstick, which one fit's luck does not blur); the whole pool's row shows it for every run. The
oracle's over the whole pool's is the best "error at the budget / whole pool's" that any strategy
can expect.

Prints per pool, strategy and budget: mean absolute relative error at the target (and its
standard error over the repeats), R^2 over the
target rows, 95 % interval coverage and compute spent (as a share of the pool's), means over the
repeats (a synthetic pool's whole-pool row is the mean over the same noise draws); and the goal
ratios of issue 22. Error and R^2 are scored against the target's y: on a synthetic pool, the
noise-free law. Coverage ("cover", the goal's figure) is the reported 95 % *prediction* interval's
against a measured value, which is what it promises to hold (a user's next run): the target's y
on the measured pools, the ``measured`` draw on the synthetic ones. "cover0" is the same interval
against the synthetic pools' noise-free law, which over-covers by construction (the interval holds
the observation noise the truth lacks); ``benchmarks/planner_coverage.py`` gives the law's mean
(confidence) interval against that truth.

    python benchmarks/planner.py [--repeats 10] [--pools chinchilla,synthetic,...] [--fractions 0.05,0.1]
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

from scalinglab.plan import STRATEGIES, replay  # noqa: E402
from scalinglab.plan.replay import ORACLE, DesignTruth  # noqa: E402

FRACTIONS = (0.01, 0.05, 0.10, 0.25)
CHINCHILLA = [
    ROOT.parent / "shared" / "data" / "chinchilla_svg_extracted_data.csv",
    ROOT / "examples" / "chinchilla" / "chinchilla_svg_extracted_data.csv",
]
CURVES = ROOT / "benchmarks" / "data" / "learning_curves_alabdulmohsin2022.csv"
DENSE = ROOT / "benchmarks" / "data" / "planner_mlp_digits.csv"
LC_CURVES = (("NMT", "log_perplexity", "6 Enc, 6 Dec"), ("LM", "val_loss", "1.68e+07"))


def chinchilla_pool():
    path = next(path for path in CHINCHILLA if path.exists())
    table = pd.read_csv(path)
    table = pd.DataFrame(
        {
            "N": table["Model Size"],
            "D": table["Training FLOP"] / (6 * table["Model Size"]),
            "loss": table["loss"],
            "flops": table["Training FLOP"],
        }
    )
    size = table["N"].round(-7)  # the extraction jitters one size's N in the 9th digit
    largest = np.sort(size.unique())[-5:]
    in_target = size.isin(largest)
    return table[~in_target], table[in_target], ["N", "D"], "chinchilla"


def _chinchilla_law(n, d):
    return 1.8172 + 477.84 / n**0.3473 + 2143.86 / d**0.3672


NOISE_SD = 0.01  # the synthetic pools' log-normal observation noise (sd of log y)
MEASURED = "measured"  # a synthetic target's noise-free truth plus one draw of the pool's noise


def _with_measured(target: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The target with ``measured``: what one run there would measure, the truth times the pool's
    noise. Drawn after the pool's noise, so the pool is the same draw as without it."""
    return target.assign(**{MEASURED: target["loss"] * np.exp(rng.normal(0, NOISE_SD, len(target)))})


def synthetic_pool(seed=0):
    rng = np.random.default_rng(seed)
    n, d = np.meshgrid(np.geomspace(1e7, 1e9, 12), np.geomspace(2e8, 2e10, 8))
    grid = pd.DataFrame({"N": n.ravel(), "D": d.ravel()})
    pool = pd.concat([grid, grid], ignore_index=True)
    pool["loss"] = _chinchilla_law(pool.N, pool.D) * np.exp(rng.normal(0, NOISE_SD, len(pool)))
    pool["flops"] = 6 * pool.N * pool.D
    target = pd.DataFrame({"N": [3e9, 1e10, 3e9, 1e10], "D": [6e10, 2e11, 2e11, 6e10]})
    target["loss"] = _chinchilla_law(target.N, target.D)
    return pool, _with_measured(target, rng), ["N", "D"], "chinchilla"


def synthetic_power_pool(seed=0):
    rng = np.random.default_rng(seed)
    x = np.tile(np.geomspace(1e3, 1e6, 30), 2)
    pool = pd.DataFrame({"x": x, "loss": (1.5 + 30 * x**-0.4) * np.exp(rng.normal(0, NOISE_SD, len(x)))})
    pool["cost"] = pool.x
    target = pd.DataFrame({"x": [3e6, 1e7, 3e7]})
    target["loss"] = 1.5 + 30 * target.x**-0.4
    return pool, _with_measured(target, rng), ["x"], "power"


def curve_pool(domain, task, model):
    table = pd.read_csv(CURVES)
    curve = table[(table.domain == domain) & (table.task == task) & (table.model == model)]
    curve = curve.rename(columns={"seen_examples": "x"}).assign(cost=lambda t: t.x)
    return (
        curve[curve.training == 1][["x", "loss", "cost"]],
        curve[curve.training == 0][["x", "loss", "cost"]],
        ["x"],
        "power",
    )


def dense_pool():
    """The project's own dense sweep (benchmarks/data/README.md): target every run of the two
    largest widths, pool the rest; x = n_params, train_size; cost = train_flops."""
    table = pd.read_csv(DENSE).rename(
        columns={"n_params": "N", "train_size": "D", "val_loss": "loss", "train_flops": "flops"}
    )
    largest = np.sort(table.N.unique())[-2:]
    in_target = table.N.isin(largest)
    return table[~in_target], table[in_target], ["N", "D"], "chinchilla"


SYNTHETIC = ("synthetic", "synthetic_power")  # pools that take a noise seed
POOLS = {
    "chinchilla": chinchilla_pool,
    "mlp_digits": dense_pool,
    "synthetic": synthetic_pool,
    "synthetic_power": synthetic_power_pool,
}
POOLS.update({f"lc/{domain}": (lambda c=(domain, task, model): curve_pool(*c)) for domain, task, model in LC_CURVES})


def cost_column(x):
    return "flops" if x == ["N", "D"] else "cost"


def run_pool(name, repeats, strategies, fractions=FRACTIONS):
    pool, target, x, form = POOLS[name]()
    cost = cost_column(x)
    total = float(pool[cost].sum())
    rows = []
    # Synthetic pools draw their noise anew for each repeat (seed = repeat), so repeats vary the
    # data as well as each strategy's own randomness; the other pools are fixed measurements.
    redraw = name in SYNTHETIC
    redraws = range(repeats) if redraw else [0]
    drawn = [POOLS[name](seed)[:2] if redraw else (pool, target) for seed in range(repeats)]
    pools, targets = [p for p, _ in drawn], [t for _, t in drawn]
    # Every design is also judged by its expected error at the whole pool's fit (the oracle's
    # yardstick), which the noise of one fit does not blur.
    truths = [DesignTruth.of_pool(pools[seed], target, x, "loss", form) for seed in redraws]
    truths = truths if redraw else truths * repeats
    full = pd.DataFrame(
        [_scored(replay(pools[seed], targets[seed], x, "loss", cost, None, "all", form, 0)) for seed in redraws]
    )
    rows.append(
        {
            "pool": name,
            "strategy": "all",
            "fraction": 1.0,
            "error": full["error"].mean(),
            "error_se": _standard_error(full["error"]),
            "r2": full["r2"].mean() if "r2" in full else None,
            "coverage": full["coverage"].mean(),
            "coverage_truth": full["coverage_truth"].mean() if "coverage_truth" in full else None,
            "spent": 1.0,
            "fitted": 1.0,
            "expected": float(np.mean([truths[seed].error(np.arange(len(pool))) for seed in redraws])),
        }
    )
    for fraction in fractions:
        for strategy in (ORACLE, *(s for s in strategies if s != ORACLE)):
            # the oracle draws nothing at random: on a fixed pool one replay is every repeat's
            seeds = range(1) if strategy == ORACLE and not redraw else range(repeats)
            finals = []
            for seed in seeds:
                result = replay(pools[seed], targets[seed], x, "loss", cost, fraction * total, strategy, form, seed)
                bought = pools[seed].index.get_indexer(result.chosen)
                finals.append(
                    {**_scored(result), "expected_error": truths[seed].error(bought) if len(bought) else None}
                )
            frame = pd.DataFrame(finals)
            fitted = frame["error"].notna() if "error" in frame else pd.Series(False, index=frame.index)
            rows.append(
                {
                    "pool": name,
                    "strategy": strategy,
                    "fraction": fraction,
                    "error": frame.loc[fitted, "error"].mean() if fitted.any() else None,
                    "error_se": _standard_error(frame.loc[fitted, "error"]) if fitted.any() else None,
                    "r2": frame.loc[fitted, "r2"].mean() if fitted.any() and "r2" in frame else None,
                    "coverage": frame.loc[fitted, "coverage"].mean() if fitted.any() else None,
                    "coverage_truth": frame.loc[fitted, "coverage_truth"].mean()
                    if fitted.any() and "coverage_truth" in frame
                    else None,
                    "spent": frame["spent"].mean() / total,
                    "fitted": fitted.mean(),
                    "expected": frame["expected_error"].mean() if "expected_error" in frame else None,
                    "expected_all": frame["expected_error_all"].mean() if "expected_error_all" in frame else None,
                }
            )
    return pd.DataFrame(rows)


def _scored(result) -> dict:
    """The replay's final trace row with "coverage" of the prediction interval against a measured
    value: the target's y where it was measured; on a synthetic pool the ``measured`` draw, and the
    replay's own coverage of the noise-free law kept as "coverage_truth"."""
    final = result.final
    prediction = result.prediction
    if prediction is None or MEASURED not in prediction:
        return final
    measured = prediction[MEASURED].to_numpy(dtype=float)
    inside = (prediction["low"].to_numpy() <= measured) & (measured <= prediction["high"].to_numpy())
    return {**final, "coverage_truth": final["coverage"], "coverage": float(np.mean(inside))}


def _standard_error(errors: pd.Series) -> float | None:
    """Standard error of the mean error over the repeats (None with one): how far a difference
    between two strategies' means can be the repeats' luck."""
    return float(errors.std(ddof=1) / np.sqrt(len(errors))) if len(errors) > 1 else None


def _percent(value):
    """A share as a percentage to 3 significant digits (the learning curves' errors are 0.03 %)."""
    return _show(None if value is None else 100 * value, "{:.3g}%")


def _show(value, pattern):
    return "-" if value is None or not np.isfinite(value) else pattern.format(value)


def print_table(results):
    print(
        f"{'pool':<22}{'strategy':<12}{'budget':>7}{'error':>9}{'+-se':>8}{'R2':>8}{'cover':>7}{'cover0':>7}"
        f"{'spent':>7}{'fitted':>7}{'expected':>10}"
    )
    for row in results.itertuples():
        expected = row.expected
        print(
            f"{row.pool:<22}{row.strategy:<12}{row.fraction:>7.0%}{_percent(row.error):>9}{_percent(row.error_se):>8}"
            f"{_show(row.r2, '{:.3f}'):>8}{_show(row.coverage, '{:.0%}'):>7}{_show(row.coverage_truth, '{:.0%}'):>7}"
            f"{row.spent:>7.1%}"
            f"{row.fitted:>7.0%}{_percent(expected):>10}"
        )


def print_goals(results):
    print("\nGoals (planner error / reference error; lower is better):")
    for name, group in results.groupby("pool", sort=False):
        error = {(r.strategy, r.fraction): r.error for r in group.itertuples()}
        full = error[("all", 1.0)]

        def ratio(a, b):
            return (
                "-" if a is None or b is None or not (np.isfinite(a) and np.isfinite(b)) or b == 0 else f"{a / b:.2f}"
            )

        parts = [
            f"10%/full {ratio(error.get(('planner', 0.10)), full)} (goal <= 1.1)",
            f"5%/full {ratio(error.get(('planner', 0.05)), full)} (<= 1.5)",
        ]
        for other in ("random", "cheapest", "v_optimal"):
            parts.append(f"5% vs {other} {ratio(error.get(('planner', 0.05)), error.get((other, 0.05)))}")
        print(f"  {name}: " + "; ".join(parts))
        expected = {r.fraction: (r.expected, r.expected_all) for r in group.itertuples() if r.strategy == ORACLE}
        bounds = [
            f"{fraction:.0%}: expected {ratio(*expected[fraction])}, measured {ratio(error.get((ORACLE, fraction)), full)}"
            for fraction in sorted(expected)
        ]
        print("    oracle / full (the best design under the budget, law known): " + "; ".join(bounds))
        designs = {(r.strategy, r.fraction): r.expected for r in group.itertuples()}
        print(
            "    expected error of each strategy's runs / the oracle's, 5% and 10%: "
            + "; ".join(
                f"{strategy} {ratio(designs.get((strategy, 0.05)), designs.get((ORACLE, 0.05)))}, "
                f"{ratio(designs.get((strategy, 0.10)), designs.get((ORACLE, 0.10)))}"
                for strategy in dict.fromkeys(r.strategy for r in group.itertuples())
                if strategy not in ("all", ORACLE)
            )
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--pools", default=",".join(POOLS))
    parser.add_argument(
        "--strategies",
        default=",".join(s for s in STRATEGIES if s not in ("all", ORACLE)),
        help="the oracle row is always added",
    )
    parser.add_argument(
        "--fractions",
        default=",".join(str(f) for f in FRACTIONS),
        help="shares of the pool's cost to buy, e.g. 0.05,0.1",
    )
    args = parser.parse_args()
    start = time.perf_counter()
    tables = []
    for name in args.pools.split(","):
        tables.append(
            run_pool(name, args.repeats, args.strategies.split(","), [float(f) for f in args.fractions.split(",")])
        )
        print_table(tables[-1])
        sys.stdout.flush()
    results = pd.concat(tables, ignore_index=True)
    print_goals(results)
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
