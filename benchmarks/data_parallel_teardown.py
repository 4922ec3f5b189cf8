"""How often a one-machine data-parallel run fails for a reason outside training (a script that
prints a count, not a test): the same small run, `train_data_parallel(spec, 2)`, N times in a row,
each failed run printed with its error. A worker aborted in the interpreter's teardown
("terminate called without an active exception", SIGABRT) once failed 1 run in 40; spawned workers
now leave by os._exit once their group is destroyed (train.data_parallel._spawned_worker).

    PYTHONPATH=src python benchmarks/data_parallel_teardown.py --runs 45   # about 4 min on 2 idle cores
"""

from __future__ import annotations

import argparse

from scalinglab.run_spec import DataSpec, RunLimits, RunSpec, TrainingSpec
from scalinglab.train.data_parallel import train_data_parallel

# The spec of tests/train/test_data_parallel.py: 301 digits, batch 32, 3 epochs, clipping.
SPEC = RunSpec(
    family="mlp",
    size={"width": 16, "depth": 2},
    data=DataSpec(source="digits", train_size=301),
    training=TrainingSpec(epochs=3, batch_size=32, lr=3e-3, grad_clip=0.5),
    seed=0,
    limits=RunLimits(latency_repeats=1),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    failed = 0
    for run in range(args.runs):
        result = train_data_parallel(SPEC, args.workers)
        if result.status != "ok":
            failed += 1
            print(f"run {run}: {result.error}", flush=True)
    print(f"{failed} of {args.runs} runs failed")


if __name__ == "__main__":  # the workers are spawned: they import this module without running it
    main()
