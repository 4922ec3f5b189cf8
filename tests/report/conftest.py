"""Fixtures of the report tests."""

from __future__ import annotations

import pytest
from cli_helpers import HOSTILE_NAME, run_tiny_sweep


@pytest.fixture(scope="session")
def sweep_out(tmp_path_factory):
    """The tiny sweep (4 widths x 2 data sizes, 3 epochs) named HOSTILE_NAME, trained once for
    every report test that reads a real sweep's output (read it, never write into it)."""
    return run_tiny_sweep(tmp_path_factory.mktemp("sweep"), "--set", f"name='{HOSTILE_NAME}'")
