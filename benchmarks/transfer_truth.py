"""The fitted transfer law on a synthetic truth (Hernandez et al. 2021, "Scaling Laws for Transfer"):
how often the 95 % intervals of alpha and beta in D_T = k D_F^alpha N^beta cover the truth, over
fresh noise draws (a script that prints figures, not a test).

Each replicate draws a runs table from tests/analysis/transfer_synthetic.py (scratch runs of four
sizes on a known data law, fine-tuned runs whose loss the scratch law reaches at D_F + D_T with a
known D_T law, 0.5 % noise per seed, three seeds) and passes it through the analysis a sweep uses
(`transfer_answer`: each size's scratch law with its bootstrap, D_T, then the law's fit). Goal:
coverage of 90-99 % for each exponent. Beside it, the coverage of least squares' interval alone
(without the scratch laws' bootstrap), which the points of one size sharing its law's error defeat.

    python benchmarks/transfer_truth.py [--replicates 100] [--bootstrap 100]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests" / "analysis"))

from transfer_synthetic import ALPHA, BETA, transfer_truth_runs  # noqa: E402

from scalinglab.analysis.transfer import transfer_answer, transfer_law  # noqa: E402

TRUTH = {"alpha": ALPHA, "beta": BETA}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=100)
    parser.add_argument("--bootstrap", type=int, default=100)
    args = parser.parse_args()
    started = time.perf_counter()
    fitted = {name: [] for name in TRUTH}
    covered = {(name, how): 0 for name in TRUTH for how in ("pipeline", "least squares alone")}
    missing = 0
    for replicate in range(args.replicates):
        answer = transfer_answer(transfer_truth_runs(random_state=replicate), n_bootstrap=args.bootstrap)
        points = answer.points["finetune"]
        bare = points.copy()
        bare.attrs = {}  # without the scratch laws' bootstrap draws of D_T
        laws = {"pipeline": answer.laws["finetune"], "least squares alone": transfer_law(bare)}
        if laws["pipeline"] is None:
            missing += 1
            continue
        for name, truth in TRUTH.items():
            value, low, high = laws["pipeline"][name]
            fitted[name].append((value, high - low))
            for how, law in laws.items():
                covered[name, how] += law[name][1] <= truth <= law[name][2]
    fits = args.replicates - missing
    print(f"{args.replicates} replicates ({missing} without a fitted law), {args.bootstrap} bootstrap replicates each")
    for name, truth in TRUTH.items():
        values, widths = np.array(fitted[name]).T
        print(
            f"{name}: truth {truth}, fitted median {np.median(values):.3f}, interval width median {np.median(widths):.3f};"
            " 95 % interval covers the truth in "
            + ", ".join(
                f"{covered[name, how]}/{fits} = {covered[name, how] / fits:.0%} ({how})"
                for how in ("pipeline", "least squares alone")
            )
        )
    print(f"{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
