"""Shared fixtures: run the real CLI in a subprocess, tiny sweep files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m scalinglab ARGS` from this checkout's sources; output captured as text."""
    environment = {**os.environ, "PYTHONPATH": str(REPO / "src"), "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "scalinglab", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def cli():
    return run_cli


TINY_SWEEP = """
name = "tiny"
output = "{output}"
seeds = [0]

[model]
family = "mlp"
width = [4, 8, 16, 32]
depth = 1

[data]
source = "digits"
train_size = [200, 400]

[training]
epochs = 3
batch_size = 64
lr = 0.01

[measure]
latency_repeats = 5
"""


@pytest.fixture
def tiny_sweep(tmp_path: Path) -> Path:
    """A sweep file of 4 widths x 2 data sizes x 1 seed, 3 epochs: a few seconds in all."""
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_SWEEP.format(output=tmp_path / "out"))
    return path
