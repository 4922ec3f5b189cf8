"""Coverage of 95% prediction intervals on held-out public data (a script that prints figures,
not a test).

1. Chinchilla (Hoffmann et al. 2022, as extracted by Besiroglu et al. 2024; the 240 rows of
   the paper's fit): fit the joint law on N < 2.5e9, predict every row with N >= 2.5e9.
2. The 20 public learning curves of Alabdulmohsin et al. 2022
   (benchmarks/data/learning_curves_alabdulmohsin2022.csv): fit form="auto" on each curve's
   training rows, predict its held-out later rows. Checkpoints of one run are correlated, so
   the points of one curve are not independent evidence: coverage is given over points and as
   the mean over curves of each curve's coverage.

For each: the fraction of held-out points inside their interval (goal 85-99%), the median
relative width (high - low) / predicted, and the same for the old "mean" band.

With ``--wild`` every law's bootstrap replicates are those of a wild cluster bootstrap
(``wild_cluster.py``; a measurement, not the fit's default).

    python benchmarks/coverage.py [--bootstrap 1000] [--wild]
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
sys.path.insert(0, str(ROOT / "benchmarks"))

from extrapolation import curves  # noqa: E402
from fit_speed import chinchilla_table  # noqa: E402
from wild_cluster import use_wild_bootstrap  # noqa: E402

from scalinglab.fit import ScalingLaw  # noqa: E402
from scalinglab.fit.intervals import RATIO, distance_beyond, excess_beyond, ratio_shortfall  # noqa: E402

LEVEL = 0.95


def interval_figures(law: ScalingLaw, test: pd.DataFrame, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(inside, relative width) of each held-out row."""
    low, high = law.predict_interval(test, LEVEL, kind=kind)
    observed = test[law.y_].to_numpy(float)
    return (low <= observed) & (observed <= high), (high - low) / law.predict(test)


def fitted(law: ScalingLaw, data: pd.DataFrame, x, wild: bool) -> ScalingLaw:
    law.fit(data, x=x, y="loss")
    return use_wild_bootstrap(law) if wild else law


def chinchilla(n_bootstrap: int, wild: bool = False) -> None:
    table = chinchilla_table()
    train, test = table[table["N"] < 2.5e9], table[table["N"] >= 2.5e9]
    law = fitted(ScalingLaw("chinchilla", n_bootstrap=n_bootstrap, random_state=0), train, ["N", "D"], wild)
    print(
        f"Chinchilla: fitted on {len(train)} rows with N < 2.5e9, {len(test)} held out "
        f"(N up to {test['N'].max():.3g}); extrapolation rates per squared unit of log distance "
        + ", ".join(f"{name} {rate:.4f}" for name, rate in law.extrapolation_rates(LEVEL).items())
        + f", from {len(law.calibration_.held_out)} backtest points; below the fewest tokens per parameter "
        f"trained {law.calibration_.ratio_rate(LEVEL):.4f}"
    )
    for kind in ("prediction", "mean"):
        inside, width = interval_figures(law, test, kind)
        print(
            f"  {kind:10s}: {inside.sum()}/{len(inside)} inside = {inside.mean():.1%}; "
            f"median width {np.median(width):.2%} of the prediction"
        )
    chinchilla_width_budget(law, test)


def chinchilla_width_budget(law: ScalingLaw, test: pd.DataFrame) -> None:
    """What the Chinchilla prediction intervals are made of, beside the errors they must cover.

    Log half-widths on the side of each row's error: the interval of the curve (bootstrap), the
    extrapolation term c * d, and what the noise adds to the bootstrap (the rest); medians over
    the held-out rows. A calibrated 95% interval of Gaussian errors has median |error| / half-width
    0.674 / 1.960 = 0.34.
    """
    log_pred = np.log(law.predict(test))
    error = np.log(test[law.y_].to_numpy(float)) - log_pred

    def on_error_side(low, high):
        return np.where(error > 0, np.log(high) - log_pred, log_pred - np.log(low))

    half = on_error_side(*law.predict_interval(test, LEVEL))
    curve = on_error_side(*law.predict_interval(test, LEVEL, kind="mean"))
    log_x = np.log(test[law.x_].to_numpy(float))
    distance = distance_beyond(log_x, law.fitted_log_x_)
    extrapolation = law.calibration_.widening(
        excess_beyond(log_x, law.fitted_log_x_), LEVEL, ratio_shortfall(log_x, law.fitted_log_x_)
    )
    ratio = np.abs(error) / half
    print(
        f"  log half-widths, medians over the held-out rows: curve (bootstrap) "
        f"{np.median(curve):.4f}, noise adds {np.median(half - extrapolation - curve):.4f}, "
        f"extrapolation term {np.median(extrapolation):.4f} "
        f"(distance {np.median(distance):.2f}); "
        f"whole {np.median(half):.4f}; |log error| {np.median(np.abs(error)):.4f}"
    )
    print(
        f"  |log error| / half-width: median {np.median(ratio):.2f} (0.34 if calibrated), "
        f"largest {ratio.max():.2f}; mean log error {error.mean():+.4f}"
    )
    held_out = law.calibration_.held_out.assign(score=law.calibration_.scores())
    by_factor = held_out[held_out["direction"] != RATIO].groupby("factor")["score"]
    print(
        "  backtest scores by factor (count, 95% quantile, largest): "
        + "; ".join(
            f"{factor:g}x {len(scores)}, {scores.quantile(LEVEL):.4f}, {scores.max():.4f}"
            for factor, scores in by_factor
        )
    )


def learning_curves(n_bootstrap: int, wild: bool = False) -> None:
    rows = []
    for name, curve in curves().items():
        train, test = curve[curve["training"] == 1], curve[curve["training"] == 0]
        law = fitted(ScalingLaw("auto", n_bootstrap=n_bootstrap, random_state=0), train, "seen_examples", wild)
        row = {"curve": name, "form": law.form_.name, "n_test": len(test)}
        for kind in ("prediction", "mean"):
            inside, width = interval_figures(law, test, kind)
            row[f"{kind}_inside"], row[f"{kind}_coverage"] = int(inside.sum()), inside.mean()
            row[f"{kind}_width"] = float(np.median(width))
        rows.append(row)
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(f"\n{len(table)} learning curves (Alabdulmohsin et al. 2022), form='auto':")
    print(
        table[["curve", "form", "n_test", "prediction_inside", "prediction_width", "mean_inside"]].to_string(
            index=False, float_format=lambda v: f"{v:.4f}"
        )
    )
    for kind in ("prediction", "mean"):
        points = table[f"{kind}_inside"].sum() / table["n_test"].sum()
        print(
            f"  {kind:10s}: {table[f'{kind}_inside'].sum()}/{table['n_test'].sum()} points "
            f"inside = {points:.1%}; mean over curves {table[f'{kind}_coverage'].mean():.1%}; "
            f"median width {table[f'{kind}_width'].median():.2%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", type=int, default=1000, help="replicates per fit")
    parser.add_argument("--wild", action="store_true", help="wild cluster bootstrap replicates instead of the fit's")
    args = parser.parse_args()
    began = time.perf_counter()
    chinchilla(args.bootstrap, args.wild)
    learning_curves(args.bootstrap, args.wild)
    print(
        f"\n{time.perf_counter() - began:.0f} s in all; goal: 85-99% of held-out points "
        f"inside the {LEVEL:.0%} prediction intervals"
    )


if __name__ == "__main__":
    main()
