"""Fixtures shared by the sweep tests: tiny real runs, and one real local Ray instance per module."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scalinglab.spec import DataSpec, RunLimits, RunSpec, TrainingSpec

SRC = Path(__file__).resolve().parents[2] / "src"


def tiny_spec(width: int = 4, *, source: str = "digits", epochs: int = 1, batch_size: int = 50,
              train_size: int = 100, max_seconds: float | None = None, depth: int = 1) -> RunSpec:
    """A real run that trains in well under a second."""
    return RunSpec(
        family="mlp",
        size={"width": width, "depth": depth},
        data=DataSpec(source=source, train_size=train_size),
        training=TrainingSpec(epochs=epochs, batch_size=batch_size, lr=0.01),
        seed=0,
        limits=RunLimits(max_seconds=max_seconds, latency_repeats=1),
    )


@pytest.fixture(scope="module")
def local_ray():
    """A real local Ray instance with 2 CPUs, started once for the module and shut down after."""
    ray = pytest.importorskip("ray")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
