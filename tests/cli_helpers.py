"""Helpers any test may import: run the real CLI in a subprocess, a tiny sweep file.

(Kept out of conftest.py: several conftest modules exist, so `from conftest import` is ambiguous.)"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The CLI caches this machine's measured matmul peak; tests keep it out of the user's cache.
_CACHE_HOME = tempfile.mkdtemp(prefix="scalinglab-test-cache-")


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 300, env: dict | None = None
) -> subprocess.CompletedProcess:
    """`python -m scalinglab ARGS` from this checkout's sources; output captured as text."""
    environment = {
        **os.environ,
        "PYTHONPATH": str(REPO / "src"),
        "COLUMNS": "200",
        "XDG_CACHE_HOME": _CACHE_HOME,
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "scalinglab", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


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


HOSTILE_NAME = '<script>alert("x")</script> & <b>bold</b>'  # a sweep name that must show as text


def run_tiny_sweep(folder: Path, *args: str) -> Path:
    """`scalinglab run` of TINY_SWEEP (a few seconds) into FOLDER/out, with extra ARGS; returns FOLDER/out."""
    sweep_file = folder / "tiny.toml"
    sweep_file.write_text(TINY_SWEEP.format(output=folder / "out"))
    result = run_cli("run", str(sweep_file), "--quiet", *args)
    assert result.returncode == 0, result.stderr
    return folder / "out"


def sqlite_file(path: Path, *statements: str) -> Path:
    """An SQLite file at `path` made by `statements` (committed), e.g. a store with a wrong schema version."""
    db = sqlite3.connect(path)
    for statement in statements:
        db.execute(statement)
    db.commit()
    db.close()
    return path
