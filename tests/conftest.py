"""Shared fixtures: the real CLI in a subprocess, tiny sweep files."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import TINY_SWEEP, run_cli
from optional_components import COMPONENTS, require


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def tiny_sweep(tmp_path: Path) -> Path:
    """A sweep file of 4 widths x 2 data sizes x 1 seed, 3 epochs: a few seconds in all."""
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_SWEEP.format(output=tmp_path / "out"))
    return path


def pytest_runtest_setup(item):
    """A test marked `ray` or `browser` needs that component: skip or fail as `require` decides."""
    for marker in COMPONENTS:
        if item.get_closest_marker(marker):
            require(marker)
