"""Joint laws L(N, D) on public data held out by size and by data: error and coverage of each
form and of form="auto", coverage of a wrong form on synthetic truth, and the speed of auto
(a script that prints figures, not a test).

Data (benchmarks/data/README.md):

1. Chinchilla: the 240 runs of Hoffmann et al. (2022) fitted in the paper, as extracted by
   Besiroglu et al. (2024); D = C / (6 N).
2. Porian et al. (2024), RefinedWeb: the 121 isoFLOP runs of their tuned setting.
3. Porian et al. (2024), OpenWebText2: the 116 isoFLOP runs of the same setting.

Two held-out splits per data set, the extrapolations users make:

- "size": fit on the rows with N <= max N / 4, predict the rows above.
- "data": at each size (sizes within a factor 1.5 of one another count as one, as in
  ``scalinglab.fit.intervals``), fit on the rows whose D is at most the largest D of that size / 4,
  predict the rest; a size trained on less than a factor 4 of data keeps all its rows.

For each form and for auto: RMS log error at the held-out rows, and the fraction inside their
95% prediction intervals (goal 85-99%); auto's goal: an error within 1.1x of the best single
form's. Then Chinchilla's form fitted to a truth whose data exponent moves with N
(tests/fit/fit_helpers.MISSPECIFIED_TRUTH), predicting 4x and 16x beyond the trained tokens or
sizes, over --replicates replicates (goal 85-99%). Then how much fitting every evaluation of
synthetic training curves (after the burn-in, runs resampled whole) narrows the intervals against
the final points alone (no public data set here has curves over both N and D). Then the time of
form="auto" with intervals on 500 rows of N, D, U (5 candidates).

    python benchmarks/joint_laws.py [--bootstrap 1000] [--replicates 100]
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
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests" / "fit"))
sys.path.insert(0, str(ROOT / "tests" / "analysis"))

from fit_helpers import curve_table, misspecified_split  # noqa: E402
from fit_speed import chinchilla_table  # noqa: E402
from synthetic_truth import truth_curves, truth_frame  # noqa: E402

from scalinglab.analysis import analyze  # noqa: E402
from scalinglab.fit import ScalingLaw  # noqa: E402
from scalinglab.fit.intervals import rows_below_cut  # noqa: E402
from scalinglab.fit.table import after_burn_in  # noqa: E402

PORIAN = ROOT / "benchmarks" / "data" / "porian2024_isoflop_tuned.csv"
FORMS = ("chinchilla", "kaplan", "chinchilla_no_floor", "farseer_lite", "auto")
HOLDOUT_FACTOR = 4.0
LEVEL = 0.95


def datasets() -> dict[str, pd.DataFrame]:
    porian = pd.read_csv(PORIAN)
    tables = {"chinchilla (Hoffmann 2022)": chinchilla_table().reset_index(drop=True)}
    for name, rows in porian.groupby("dataset"):
        tables[f"porian 2024 {name}"] = rows[["N", "D", "loss"]].reset_index(drop=True)
    return tables


def split(table: pd.DataFrame, direction: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    train = rows_below_cut(np.log(table[["N", "D"]].to_numpy(float)), HOLDOUT_FACTOR, direction)
    return table[train], table[~train]


def score(form: str, train: pd.DataFrame, test: pd.DataFrame, n_bootstrap: int) -> dict:
    start = time.perf_counter()
    law = ScalingLaw(form, n_bootstrap=n_bootstrap, random_state=0).fit(train, x=["N", "D"], y="loss")
    seconds = time.perf_counter() - start
    observed = test["loss"].to_numpy(float)
    error = np.log(law.predict(test)) - np.log(observed)
    low, high = law.predict_interval(test, LEVEL)
    inside = (low <= observed) & (observed <= high)
    return {
        "form": form,
        "chosen": law.form_.name,
        "rmse_log": float(np.sqrt(np.mean(error**2))),
        "coverage": float(inside.mean()),
        "n_test": len(test),
        "width": float(np.median(np.log(high / low))),
        "seconds": seconds,
    }


def public_data(n_bootstrap: int) -> None:
    print("Held-out public data: RMS log error and 95% coverage at the held-out rows")
    for name, table in datasets().items():
        for direction in ("size", "data"):
            train, test = split(table, direction)
            rows = [score(form, train, test, n_bootstrap) for form in FORMS]
            print(f"\n{name}, held out by {direction}: fit on {len(train)} rows, predict {len(test)}")
            for row in rows:
                label = row["form"] if row["form"] != "auto" else f"auto ({row['chosen']})"
                print(
                    f"  {label:32s} RMSE log {row['rmse_log']:.4f}  inside {row['coverage']:6.1%}  "
                    f"median log width {row['width']:.3f}  fit {row['seconds']:.1f} s"
                )
            best = min(row["rmse_log"] for row in rows[:-1])
            auto = rows[-1]
            print(
                f"  auto / best single form: {auto['rmse_log'] / best:.2f} (goal <= 1.1); "
                f"auto coverage {auto['coverage']:.1%} (goal 85-99%)"
            )


def misspecification(replicates: int, n_bootstrap: int) -> None:
    print(
        f"\nChinchilla's form on a truth with an N-dependent data exponent, {replicates} replicates, "
        f"{n_bootstrap} bootstrap replicates each:"
    )
    for direction in ("D", "N"):
        inside, widths, used = [], [], []
        for seed in range(replicates):
            train, targets = misspecified_split(direction, seed)
            law = ScalingLaw("chinchilla", n_bootstrap=n_bootstrap, random_state=seed).fit(
                train, x=["N", "D"], y="loss"
            )
            low, high = law.predict_interval(targets, LEVEL)
            observed = targets["loss"].to_numpy(float)
            inside.append((low <= observed) & (observed <= high))
            widths.append(np.log(high / low))
            # How much of each side's half-width the target's error takes (above 1: outside).
            predicted = law.predict(targets)
            half = np.where(observed > predicted, np.log(high / predicted), np.log(predicted / low))
            used.append(np.abs(np.log(observed / predicted)) / half)
        inside = np.array(inside)
        per_replicate = inside.mean(axis=1)
        print(
            f"  extrapolating in {direction}: {inside.mean():.1%} of {inside.size} targets inside "
            f"(goal 85-99%); per replicate: median {np.median(per_replicate):.0%}, "
            f"fraction of replicates with every target inside {np.mean(per_replicate == 1):.0%}; "
            f"median log width {np.median(widths):.3f}; the worst target's |log error| / half-width, "
            f"median over replicates {np.median(np.max(used, axis=1)):.2f}"
        )


def curves_against_finals(replicates: int, n_bootstrap: int) -> None:
    """Synthetic training curves (tests/fit/fit_helpers.curve_table: Chinchilla's law, 18 runs of
    10 evaluations, a 1% offset per run): fit on the runs below the largest size, predict the final
    points of the largest size's 3 runs, from the final points alone and from every evaluation
    after the 20% burn-in, the bootstrap resampling runs in both."""
    figures = {"final points": [], "curves": []}
    for seed in range(replicates):
        curves = after_burn_in(curve_table(seed), run="run", step="step")
        largest = curves["N"] == curves["N"].max()
        targets = curves[largest & (curves["step"] == curves["step"].max())]
        train = curves[~largest]
        for name, rows in (("final points", train[train["step"] == train["step"].max()]), ("curves", train)):
            law = ScalingLaw("chinchilla", n_bootstrap=n_bootstrap, random_state=seed).fit(
                rows, x=["N", "D"], y="loss", groups="run"
            )
            low, high = law.predict_interval(targets, LEVEL)
            observed = targets["loss"].to_numpy(float)
            alpha_low, alpha_high = law.ci_["alpha"]
            figures[name].append(
                (
                    np.median(np.log(high / low)),
                    np.mean((low <= observed) & (observed <= high)),
                    np.sqrt(np.mean(np.log(law.predict(targets) / observed) ** 2)),
                    alpha_high - alpha_low,
                )
            )
    print(f"\nTraining curves against final points (synthetic, {replicates} replicates, runs resampled whole):")
    for name, rows in figures.items():
        width, inside, rmse, alpha = np.median(np.array(rows), axis=0)
        print(
            f"  {name:12s}: median log width of the 95% interval at the held-out size {width:.3f}, "
            f"inside {np.mean(np.array(rows)[:, 1]):.0%}, RMSE log {rmse:.4f}, width of alpha's interval {alpha:.3f}"
        )


def sweep_curves(replicates: int, n_bootstrap: int) -> None:
    """The sweep's joint law (analysis.joint, form="auto") on synthetic language-model sweeps
    (tests/analysis/synthetic_truth: 6 sizes x 4 token budgets, 1% offset per configuration, 10
    evaluations per run): JointLaw.curves, the median ratio of 95% interval widths from every
    evaluation after the burn-in over those from the final points alone."""
    ratios = []
    for seed in range(replicates):
        frame = truth_frame(seeds=(0,), random_state=seed).rename(columns={"train_size": "train_tokens_seen"})
        joint = analyze(frame, curves=truth_curves(frame), group_by="train_tokens_seen", n_bootstrap=n_bootstrap).joint
        ratios.append((joint.curves.width_ratio, joint.curves.mean_width_ratio))
    prediction, mean = np.median(np.array(ratios), axis=0)
    print(
        f"\nThe sweep's joint law on curves against final points ({replicates} synthetic sweeps, form=auto): "
        f"median width ratio of the 95% prediction interval {prediction:.2f}, of the fitted surface's band {mean:.2f} "
        f"(ratios below 1: the curves narrow it)"
    )


def speed(repeats: int = 3) -> None:
    rng = np.random.default_rng(0)
    n = np.exp(rng.uniform(np.log(1e7), np.log(1e10), 500))
    d = np.exp(rng.uniform(np.log(1e9), np.log(1e12), 500))
    u = d / np.exp(rng.uniform(0.0, np.log(30.0), 500))
    effective = u + u * 15.4 * -np.expm1(-(d / u - 1) / 15.4)
    loss = (1.69 + 406.4 / n**0.34 + 410.7 / effective**0.28) * np.exp(rng.normal(0, 0.01, 500))
    table = pd.DataFrame({"N": n, "D": d, "U": u, "loss": loss})
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        law = ScalingLaw("auto", n_bootstrap=1000, random_state=0).fit(table, x=["N", "D", "U"], y="loss")
        law.predict_interval(table, LEVEL)
        times.append(time.perf_counter() - start)
    print(
        f"\nform=auto on 500 rows of N, D, U ({len(law.form_choice_.scores)} candidates, chose "
        f"{law.form_.name}), 1000 bootstrap replicates and intervals: median {statistics.median(times):.1f} s "
        f"of {repeats} (goal < 10 s on 2 cores)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--replicates", type=int, default=100)
    parser.add_argument("--skip", nargs="*", default=[], choices=["public", "synthetic", "curves", "speed"])
    args = parser.parse_args()
    if "public" not in args.skip:
        public_data(args.bootstrap)
    if "synthetic" not in args.skip:
        misspecification(args.replicates, min(args.bootstrap, 200))
    if "curves" not in args.skip:
        curves_against_finals(min(args.replicates, 30), min(args.bootstrap, 200))
        sweep_curves(min(args.replicates, 10), min(args.bootstrap, 200))
    if "speed" not in args.skip:
        speed()


if __name__ == "__main__":
    main()
