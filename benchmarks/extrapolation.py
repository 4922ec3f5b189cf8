"""Extrapolation of 1-D learning curves: each form and form="auto" against a least-squares
offset power law (a script that prints figures, not a test).

Data: the 20 language learning curves of Alabdulmohsin et al. 2022 (NMT, LM, BIG-bench),
benchmarks/data/learning_curves_alabdulmohsin2022.csv, with the paper's own split: fit on the
rows with training = 1, predict the rows with training = 0 (the later part of each curve).
Score: RMSE of log y over the predicted rows, per curve. Baseline: y = E + A x^(-alpha) fitted
by least squares on y (not on log y) with SciPy's least_squares from 36 starts, bounds
E, A >= 0 and 0 <= alpha <= 10 (M2 of that paper, fitted as most users would).

    python benchmarks/extrapolation.py
"""

from __future__ import annotations

import itertools
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from scalinglab.fit import ScalingLaw  # noqa: E402

DATA = ROOT / "benchmarks" / "data" / "learning_curves_alabdulmohsin2022.csv"
FORMS = ("power", "shifted_power", "bnsl", "powerlaw", "auto")
GOAL = 0.6  # median log-RMSE of auto at most this times the baseline's
FAILURE = 2.0  # a curve "fails" when auto's log-RMSE is above this times the baseline's


def curves() -> dict[str, pd.DataFrame]:
    """One table per learning curve (domain / task / model), rows in order of x."""
    table = pd.read_csv(DATA)
    return {
        f"{domain}/{task}/{model}": rows.sort_values("seen_examples")
        for (domain, task, model), rows in table.groupby(["domain", "task", "model"], sort=False)
    }


def least_squares_offset_power_law(x: np.ndarray, y: np.ndarray):
    """Best of 36 starts of least squares on y = E + A x^-alpha; returns a predictor."""
    log_x = np.log(x)
    center = np.median(log_x)

    def model(params, at):
        energy, log_scale, alpha = params
        return energy + np.exp(log_scale - alpha * (np.log(at) - center))

    best = None
    for floor, alpha in itertools.product((0.0, 0.5, 0.9, 0.99), (0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 0.3, 0.6)):
        energy = floor * y.min()
        start = (energy, np.log(max(np.median(y) - energy, 1e-9)), alpha)
        result = least_squares(lambda p: model(p, x) - y, start, bounds=([0.0, -50.0, 0.0], [np.inf, 50.0, 10.0]))
        if best is None or result.cost < best.cost:
            best = result
    return lambda at: model(best.x, at)


def log_rmse(predicted: np.ndarray, observed: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.log(predicted) - np.log(observed)) ** 2)))


def main() -> None:
    rows = []
    began = time.perf_counter()
    for name, curve in curves().items():
        train, test = curve[curve["training"] == 1], curve[curve["training"] == 0]
        x_test, y_test = test["seen_examples"].to_numpy(float), test["loss"].to_numpy(float)
        baseline = least_squares_offset_power_law(train["seen_examples"].to_numpy(float), train["loss"].to_numpy(float))
        row = {
            "curve": name,
            "n_train": len(train),
            "n_test": len(test),
            "baseline": log_rmse(baseline(x_test), y_test),
        }
        for form in FORMS:
            law = ScalingLaw(form, n_bootstrap=0).fit(train, x="seen_examples", y="loss")
            row[form] = log_rmse(law.predict(x_test), y_test)
            if form == "auto":
                row["chosen"] = law.form_.name
        rows.append(row)
    seconds = time.perf_counter() - began
    table = pd.DataFrame(rows)

    pd.set_option("display.width", 200)
    print(
        f"{len(table)} public learning curves (Alabdulmohsin et al. 2022), log-RMSE on the "
        f"held-out later points; {seconds:.1f} s in all"
    )
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print()
    median_baseline = statistics.median(table["baseline"])
    print(f"median log-RMSE, baseline (least-squares offset power law): {median_baseline:.4f}")
    for form in FORMS:
        ratio_of_medians = statistics.median(table[form]) / median_baseline
        median_of_ratios = statistics.median(table[form] / table["baseline"])
        print(
            f"  {form:14s} median {statistics.median(table[form]):.4f}: "
            f"{ratio_of_medians:.2f}x the baseline's median; median per-curve ratio {median_of_ratios:.2f}x"
        )
    ratios = table["auto"] / table["baseline"]
    failing = table.loc[ratios > FAILURE, "curve"].tolist()
    ratio = statistics.median(table["auto"]) / median_baseline
    print(
        f"auto: median ratio to the baseline {ratio:.2f} (goal <= {GOAL}); worst curve "
        f"{ratios.max():.2f}x the baseline ({table.loc[ratios.idxmax(), 'curve']}); "
        f"curves worse than {FAILURE}x the baseline: {failing or 'none'}"
    )
    print("chosen forms:", table["chosen"].value_counts().to_dict())


if __name__ == "__main__":
    main()
