"""One-time process warm-up is paid before any run's clock starts (issue 13, item 3)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

TWO_RUNS = """
import json, torch
torch.set_num_threads(1)
from scalinglab.run_spec import DataSpec, RunLimits, RunSpec, TrainingSpec
from scalinglab.train import train_one
spec = RunSpec(family="mlp", size={"width": 64, "depth": 2}, data=DataSpec(source="digits", train_size=1200),
               training=TrainingSpec(epochs=6, batch_size=64, lr=3e-3), seed=0, limits=RunLimits(latency_repeats=1))
print(json.dumps([train_one(spec).metrics["train_seconds"] for _ in range(2)]))
"""


def _two_runs_in_a_fresh_process() -> list[float]:
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", TWO_RUNS], env=env, capture_output=True, text=True, timeout=300, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_two_identical_runs_in_one_process_take_about_the_same_time():
    # Without the warm-up the first run carries ~1 s of imports on top of ~0.1 s of training.
    # The machine is shared, so a noisy pair is measured once more before judging.
    for _ in range(3):
        first, second = _two_runs_in_a_fresh_process()
        if abs(first - second) <= 0.2 * second:
            return
    assert abs(first - second) <= 0.2 * second, (first, second)
