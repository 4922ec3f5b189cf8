"""Data-parallel speedup per transformer size on this machine (a script that prints figures, not a
test; issue 24's goal): each size trained by `train_one` on one thread (W = 1) and by
`train.data_parallel.train_data_parallel` with W workers of one thread each (one core each), on
the same text, `--repeats` times in turn (W = 1, then W, then again: load that comes and goes
falls on both). Printed per size: the median training seconds of the loop (worker 0's clock,
process start excluded) of each W, speedup = W1 / WN and parallel efficiency = speedup / W of
those medians, their range over the repeats, and the largest relative difference of the validation
losses (equal within float noise). The load average is printed before and after: timings under
load say little, so run it on an otherwise idle machine with at least W free cores:

    PYTHONPATH=src python benchmarks/data_parallel.py --workers 2 --repeats 5   # 3 min 31 s on the idle 2-core machine
    PYTHONPATH=src python benchmarks/data_parallel.py --tiny                    # does it run? (about 30 s)

A size "benefits" by the rule the report uses (analysis.speedup.BENEFIT_EFFICIENCY).
"""

from __future__ import annotations

import argparse
import os
import statistics

import torch

from scalinglab.analysis.speedup import BENEFIT_EFFICIENCY
from scalinglab.run_spec import DataSpec, RunLimits, RunSpec, TrainingSpec
from scalinglab.train import train_one
from scalinglab.train.data_parallel import train_data_parallel

SIZES = (32, 64, 128, 192)  # d_model; 2 layers, 4 heads, context 64: 36k to 1.0M parameters
TINY_SIZES = (16, 32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--train-size", type=int, default=60_000, help="bytes of training text (one epoch)")
    parser.add_argument(
        "--tiny", action="store_true", help="two small sizes, 8k bytes, one repeat: a check that it runs"
    )
    args = parser.parse_args()
    sizes, train_size, repeats = (TINY_SIZES, 8_000, 1) if args.tiny else (SIZES, args.train_size, args.repeats)
    torch.set_num_threads(1)
    print(
        f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; {repeats} repeats, one thread per worker"
    )
    w = args.workers
    print(
        f"{'d_model':>8} {'params':>9} {'W=1 s':>8} {f'W={w} s':>8} {'speedup':>8} {'efficiency':>10} "
        f"{'speedup range':>14} {'benefits':>9} {'val_loss diff':>14}"
    )
    for d_model in sizes:
        spec = RunSpec(
            family="transformer",
            size={"d_model": d_model, "n_layer": 2, "n_head": 4, "context": 64},
            data=DataSpec(source="stdlib", train_size=train_size, val_size=2048),
            seed=0,
            training=TrainingSpec(epochs=1, batch_size=32, lr=3e-3),
            limits=RunLimits(latency_repeats=1),
        )
        ones, many, differences, params = [], [], [], 0.0
        for _ in range(repeats):
            one, parallel = train_one(spec), train_data_parallel(spec, w, threads_per_worker=1)
            if one.status != "ok" or parallel.status != "ok":
                raise SystemExit(f"d_model {d_model}: {one.status} / {parallel.status}: {one.error or parallel.error}")
            ones.append(one.metrics["train_seconds"])
            many.append(parallel.metrics["train_seconds"])
            differences.append(abs(parallel.metrics["val_loss"] / one.metrics["val_loss"] - 1))
            params = one.metrics["n_params"]
        t1, tw = statistics.median(ones), statistics.median(many)
        speedups = sorted(a / b for a, b in zip(ones, many))
        print(
            f"{d_model:>8} {params:>9.0f} {t1:>8.2f} {tw:>8.2f} {t1 / tw:>7.2f}x {t1 / tw / w:>10.0%} "
            f"{f'{speedups[0]:.2f}-{speedups[-1]:.2f}x':>14} {'yes' if t1 / tw >= BENEFIT_EFFICIENCY * w else 'no':>9} "
            f"{max(differences):>14.1e}",
            flush=True,
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
