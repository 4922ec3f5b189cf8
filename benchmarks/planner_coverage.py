"""Why the planner's 95 % intervals over-cover: the interval's parts, at the planner's final fit.

For each pool of ``benchmarks/planner.py`` and each budget, replays the planner and refits the law
to the runs it bought (the planner's own fit: same rows, same seed), then compares at the target
rows the mean absolute log error with the half-widths of the law's two intervals
(``ScalingLaw.predict_interval``): kind "mean" (the cluster bootstrap's spread of the law alone)
and kind "prediction" (what the planner reports: that spread plus the observation noise, widened
beyond the data by the extrapolation term calibrated by backtests). Their difference is the noise
and the extrapolation term. Each interval is judged against what it promises to hold: the mean
interval against the law's noise-free truth ("cover", the synthetic pools' target y; on the measured
pools only their measured y is known, so there it is a lower bound of a coverage that is not its
promise), the prediction interval against a measured value ("cover": the target's y on the measured
pools, on the synthetic ones the truth plus the pool's own noise drawn per repeat, column
``measured`` of ``benchmarks/planner.py``; the goal of issue 22 is judged on it). "cover0" is the
prediction interval against the synthetic pools' noise-free truth, which over-covers by
construction (the figure reported before 2026-12-07). With ``--wild`` the law's bootstrap
replicates are those of a wild cluster bootstrap (``wild_cluster.py``; a measurement, not the fit's
default). A script that prints figures, not a test.

    python benchmarks/planner_coverage.py [--repeats 4] [--pools synthetic,chinchilla,...] [--fractions 0.05,0.1] [--wild]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from planner import MEASURED, POOLS, SYNTHETIC, cost_column  # noqa: E402
from wild_cluster import use_wild_bootstrap  # noqa: E402

from scalinglab.fit.law import ScalingLaw  # noqa: E402
from scalinglab.plan import replay  # noqa: E402


def interval_parts(name: str, fraction: float, seed: int, n_bootstrap: int = 200, wild: bool = False) -> dict:
    pool, target, x, form = POOLS[name](seed) if name in SYNTHETIC else POOLS[name]()
    cost = cost_column(x)
    bought = replay(pool, target, x, "loss", cost, fraction * pool[cost].sum(), "planner", form, seed).chosen
    law = ScalingLaw(form, n_bootstrap=n_bootstrap, random_state=seed).fit(pool.loc[bought], x=x, y="loss")
    if wild:
        use_wild_bootstrap(law, seed)
    truth = np.log(target["loss"].to_numpy(dtype=float))  # noise-free on a synthetic pool, else measured
    measured = np.log(target[MEASURED].to_numpy(dtype=float)) if MEASURED in target else truth
    row = {
        "runs": len(bought),
        "sizes": law.n_groups_,
        "error": float(np.mean(np.abs(truth - np.log(law.predict(target))))),
    }
    for kind, against in (("mean", truth), ("prediction", measured)):
        low, high = (np.log(bound) for bound in law.predict_interval(target, 0.95, kind=kind))
        row[f"{kind}_halfwidth"] = float(np.mean((high - low) / 2))
        row[f"{kind}_coverage"] = _coverage(low, high, against)
    row["prediction_coverage_truth"] = _coverage(low, high, truth) if MEASURED in target else np.nan
    return row


def _coverage(low: np.ndarray, high: np.ndarray, values: np.ndarray) -> float:
    return float(np.mean((low <= values) & (values <= high)))


def _share(value: float) -> str:
    return "-" if not np.isfinite(value) else f"{value:.0%}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--pools", default=",".join(POOLS))
    parser.add_argument("--fractions", default="0.05,0.1")
    parser.add_argument("--wild", action="store_true", help="wild cluster bootstrap replicates instead of the fit's")
    args = parser.parse_args()
    print(
        f"{'pool':<18}{'budget':>7}{'runs':>6}{'sizes':>6}{'|log err|':>10}{'boot hw':>9}{'cover':>7}{'full hw':>9}"
        f"{'cover':>7}{'cover0':>7}"
    )
    for name in args.pools.split(","):
        for fraction in (float(f) for f in args.fractions.split(",")):
            # fixed pools: the planner's replay differs between seeds only by its own randomness
            parts = pd.DataFrame(
                [interval_parts(name, fraction, seed, wild=args.wild) for seed in range(args.repeats)]
            ).mean()
            print(
                f"{name:<18}{fraction:>7.0%}{parts.runs:>6.0f}{parts.sizes:>6.0f}{parts.error:>10.2%}"
                f"{parts.mean_halfwidth:>9.2%}{parts.mean_coverage:>7.0%}{parts.prediction_halfwidth:>9.2%}"
                f"{parts.prediction_coverage:>7.0%}{_share(parts.prediction_coverage_truth):>7}",
                flush=True,
            )


if __name__ == "__main__":
    main()
