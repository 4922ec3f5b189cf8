"""Fixtures of the report tests."""

from __future__ import annotations

import os

import pytest
from cli_helpers import HOSTILE_NAME, run_tiny_sweep

from scalinglab.report.browser_check import find_chromium


def _browser_required() -> bool:
    return os.environ.get("SCALINGLAB_REQUIRE_BROWSER") == "1" or os.environ.get("CI", "").lower() not in ("", "0", "false")


@pytest.fixture
def chromium():
    """Skips a browser test where chromium is not installed; fails it instead where
    SCALINGLAB_REQUIRE_BROWSER=1 or CI is set (to anything but 0 or false): CI must run it."""
    if find_chromium() is None:
        message = "chromium is not installed (Debian package 'chromium'; `bash scripts/setup.sh dev` installs it)"
        if _browser_required():
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def sweep_out(tmp_path_factory):
    """The tiny sweep (4 widths x 2 data sizes, 3 epochs) named HOSTILE_NAME, trained once for
    every report test that reads a real sweep's output (read it, never write into it)."""
    return run_tiny_sweep(tmp_path_factory.mktemp("sweep"), "--set", f"name='{HOSTILE_NAME}'")
