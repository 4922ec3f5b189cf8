"""Optional components some tests need: Ray (the ray executor) and headless Chromium (the report
in a real browser). Where one is missing its tests skip with the reason on a developer's machine,
and fail where CI is meant to have everything (CI set to anything but 0/false, or
SCALINGLAB_REQUIRE_OPTIONAL=1): `scripts/setup.sh dev` installs both."""

from __future__ import annotations

import importlib.util
import os

import pytest

from scalinglab.report.browser_check import find_chromium

# pytest marker -> (is it here?, what to do when it is not)
COMPONENTS = {
    "ray": (
        lambda: importlib.util.find_spec("ray") is not None,
        "Ray is not installed (pip install -e '.[ray]', or `bash scripts/setup.sh dev`)",
    ),
    "browser": (
        lambda: find_chromium() is not None,
        "chromium is not installed (Debian package 'chromium', or `bash scripts/setup.sh dev` as root)",
    ),
}


def required_everywhere() -> bool:
    """True where a missing optional component is a failure, not a skip."""
    return os.environ.get("SCALINGLAB_REQUIRE_OPTIONAL") == "1" or os.environ.get("CI", "").lower() not in (
        "",
        "0",
        "false",
    )


def require(marker: str) -> None:
    """Skip the calling test (or fail it, see `required_everywhere`) when `marker`'s component is missing."""
    present, reason = COMPONENTS[marker]
    if not present():
        (pytest.fail if required_everywhere() else pytest.skip)(reason)
