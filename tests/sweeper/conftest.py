"""Fixtures shared by the sweep tests: one real local Ray instance per module."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from optional_components import require

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture(scope="module")
def local_ray():
    """A real local Ray instance with 2 CPUs, started once for the module and shut down after."""
    require("ray")
    import ray

    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session", autouse=True)
def _children_import_this_checkout():
    """Worker processes (forkserver, Ray) import scalinglab from PYTHONPATH, not from pytest's
    `pythonpath`: point it at this checkout so they run the code under test."""
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), before]))
    yield
    if before is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = before
