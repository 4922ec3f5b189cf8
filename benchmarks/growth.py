"""How the extrapolation term's growth with distance sets the coverage of 95% prediction intervals
(a script that prints figures, not a test).

The widening beyond the data is c d^growth (``scalinglab.fit.intervals.GROWTH``, 2). Every check
below is fitted once; each growth is then replayed on the same backtests by swapping the law's
``Calibration`` for one with that growth (``dataclasses.replace``), so only the exponent differs.
Share of targets inside their 95% prediction intervals (goal 85-99%), with the median log width:

1. one input: a shifted power law fitted with the plain power law, 8 sizes x 2 seeds, 2, 4 and 8x
   beyond the largest size (tests/fit/fit_helpers.misspecified_draw), --replicates fits; and the
   coverage at each of the three distances;
2. Chinchilla (Hoffmann et al. 2022): the joint law fitted on N < 2.5e9, its 37 larger rows
   (as ``benchmarks/coverage.py``);
3. the 20 learning curves of Alabdulmohsin et al. 2022, form="auto", their later rows (points);
4. Chinchilla's form on a truth whose data exponent moves with N, 4 and 16x beyond the trained
   tokens (D) or sizes (N) (fit_helpers.misspecified_split), --replicates fits each;
5. form="auto" on the six public splits of ``benchmarks/joint_laws.py``;
6. Chinchilla's form on a truth that bends below one token per parameter
   (fit_helpers.bending_split), 20 draws: the targets below the fewest tokens per parameter
   trained, and the others.

    python benchmarks/growth.py [--growths 1,1.5,1.75,2,2.5,3] [--replicates 100]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests" / "fit"))

from extrapolation import curves  # noqa: E402
from fit_helpers import bending_split, misspecified_draw, misspecified_split  # noqa: E402
from fit_speed import chinchilla_table  # noqa: E402
from joint_laws import datasets, split  # noqa: E402

from scalinglab.fit import ScalingLaw  # noqa: E402
from scalinglab.fit.intervals import ratio_shortfall  # noqa: E402

LEVEL = 0.95


@dataclasses.dataclass
class Check:
    """One fitted law and the targets it must hold: ``data`` as ``predict_interval`` takes it."""

    name: str
    law: ScalingLaw
    data: object
    observed: np.ndarray
    position: np.ndarray | None = None  # which target of a draw each is (the distance beyond, for one input)


def one_input(replicates: int) -> list[Check]:
    checks = []
    for seed in range(replicates):
        table, beyond, observed = misspecified_draw(seed)
        law = ScalingLaw("power", n_bootstrap=100, random_state=seed).fit(table, x="x", y="y")
        checks.append(Check("one input, 2-8x beyond", law, beyond, observed, np.arange(len(beyond))))
    return checks


def public_one_run() -> list[Check]:
    table = chinchilla_table()
    train, test = table[table["N"] < 2.5e9], table[table["N"] >= 2.5e9]
    law = ScalingLaw("chinchilla", n_bootstrap=1000, random_state=0).fit(train, x=["N", "D"], y="loss")
    checks = [Check("Chinchilla, 37 rows", law, test, test["loss"].to_numpy(float))]
    for curve in curves().values():
        train, test = curve[curve["training"] == 1], curve[curve["training"] == 0]
        law = ScalingLaw("auto", n_bootstrap=1000, random_state=0).fit(train, x="seen_examples", y="loss")
        checks.append(Check("20 learning curves", law, test, test["loss"].to_numpy(float)))
    for name, table in datasets().items():
        for direction in ("size", "data"):
            train, test = split(table, direction)
            law = ScalingLaw("auto", n_bootstrap=1000, random_state=0).fit(train, x=["N", "D"], y="loss")
            checks.append(Check(f"auto, {name.split(' (')[0]}, {direction}", law, test, test["loss"].to_numpy(float)))
    return checks


def joint_synthetic(replicates: int) -> list[Check]:
    checks = []
    for direction in ("D", "N"):
        for seed in range(replicates):
            train, targets = misspecified_split(direction, seed)
            law = ScalingLaw("chinchilla", n_bootstrap=200, random_state=seed).fit(train, x=["N", "D"], y="loss")
            checks.append(Check(f"N-dependent data exponent, {direction}", law, targets, targets["loss"].to_numpy()))
    return checks


def bending(draws: int = 20) -> list[Check]:
    checks = []
    for seed in range(draws):
        train, targets = bending_split(seed)
        law = ScalingLaw("chinchilla", n_bootstrap=50, random_state=seed).fit(train, x=["N", "D"], y="loss")
        below = ratio_shortfall(np.log(targets[["N", "D"]].to_numpy()), law.fitted_log_x_) > 0
        for name, rows in (("below", targets[below]), ("others", targets[~below])):
            checks.append(Check(f"bending truth, {name}", law, rows, rows["loss"].to_numpy()))
    return checks


def inside_at(check: Check, growth: float) -> tuple[np.ndarray, np.ndarray]:
    """(inside, log width) of each target with the law's backtests replayed at ``growth``."""
    fitted = check.law.calibration_
    check.law.calibration_ = dataclasses.replace(fitted, growth=growth)
    try:
        low, high = check.law.predict_interval(check.data, LEVEL)
    finally:
        check.law.calibration_ = fitted
    return (low <= check.observed) & (check.observed <= high), np.log(high / low)


def table(checks: list[Check], growths: list[float]) -> pd.DataFrame:
    cells = {}
    for growth in growths:
        column = {}
        for name in dict.fromkeys(check.name for check in checks):
            results = [inside_at(check, growth) for check in checks if check.name == name]
            inside = np.concatenate([result[0] for result in results])
            width = np.concatenate([result[1] for result in results])
            column[f"{name} ({inside.size})"] = f"{inside.mean():6.1%} / {np.median(width):.3f}"
        cells[f"d^{growth:g}"] = column
    return pd.DataFrame(cells)


def by_distance(checks: list[Check], growths: list[float]) -> None:
    one = [check for check in checks if check.position is not None]
    for growth in growths:
        inside = np.array([inside_at(check, growth)[0] for check in one])
        shares = ", ".join(f"{share:.0%}" for share in inside.mean(axis=0))
        print(f"  one input, d^{growth:g}: inside at 2x, 4x, 8x beyond: {shares}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--growths", default="1,1.5,1.75,2,2.5,3")
    parser.add_argument("--replicates", type=int, default=100)
    args = parser.parse_args()
    growths = [float(growth) for growth in args.growths.split(",")]
    checks = one_input(args.replicates) + public_one_run() + joint_synthetic(args.replicates) + bending()
    pd.set_option("display.width", 250)
    print("Share inside the 95% prediction intervals / median log width, by the growth of the extrapolation term:")
    print(table(checks, growths).to_string())
    by_distance(checks, growths)


if __name__ == "__main__":
    main()
