"""Data-parallel speedup on this machine (a script that prints figures, not a test): transformer
sizes trained by `train_one` on one thread and by `train.data_parallel.train_data_parallel` with W
workers (a share of the cores each), on the same text; the training seconds of the loop (worker 0's,
process start excluded), speedup W=1 / W and parallel efficiency speedup / W, and the validation
loss of each (equal within float noise).

    PYTHONPATH=src python benchmarks/data_parallel.py --workers 2     # about 2 minutes on 2 cores
"""

from __future__ import annotations

import argparse

import torch

from scalinglab.run_spec import DataSpec, RunLimits, RunSpec, TrainingSpec
from scalinglab.train import train_one
from scalinglab.train.data_parallel import train_data_parallel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(
        f"{'d_model':>8} {'params':>8} {'W=1 s':>8} {f'W={args.workers} s':>8} {'speedup':>8} {'efficiency':>10} {'val_loss 1 / W':>18}"
    )
    for d_model in (32, 64, 128):
        spec = RunSpec(
            family="transformer",
            size={"d_model": d_model, "n_layer": 2, "n_head": 4, "context": 64},
            data=DataSpec(source="stdlib", train_size=100_000, val_size=4096),
            seed=0,
            training=TrainingSpec(epochs=1, batch_size=32, lr=3e-3),
            limits=RunLimits(latency_repeats=1),
        )
        one, many = train_one(spec), train_data_parallel(spec, args.workers)
        t1, tw = one.metrics["train_seconds"], many.metrics["train_seconds"]
        print(
            f"{d_model:>8} {one.metrics['n_params']:>8.0f} {t1:>8.2f} {tw:>8.2f} {t1 / tw:>8.2f} {t1 / tw / args.workers:>10.0%} "
            f"{one.metrics['val_loss']:>8.4f} / {many.metrics['val_loss']:.4f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
