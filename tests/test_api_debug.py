"""--debug and SCALINGLAB_DEBUG=1 on the command line: a run's exception escapes with its traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import REPO

import scalinglab

OBJECTIVES = {"PYTHONPATH": f"{REPO / 'src'}:{REPO / 'tests' / 'objective'}"}


def _failing_sweep(tmp_path: Path) -> Path:
    sweep_file = tmp_path / "sweep.toml"
    sweep_file.write_text(
        f'output = "{tmp_path / "out"}"\n[model]\nobjective = "objectives:fails_at_width_2"\nwidth = [2]\n'
    )
    return sweep_file


@pytest.mark.slow
@pytest.mark.parametrize("how", [["--debug"], []], ids=["option", "environment"])
def test_debug_shows_the_traceback_and_records_nothing(cli, tmp_path: Path, how: list[str]):
    environment = OBJECTIVES if how else {**OBJECTIVES, "SCALINGLAB_DEBUG": "1"}
    result = cli("run", str(_failing_sweep(tmp_path)), "--executor", "pool", *how, env=environment)
    assert result.returncode == 1
    assert "debug mode: training serially in this process" in result.stderr  # a log record, through rich
    assert "Traceback (most recent call last)" in result.stderr
    assert 'objectives.py", line' in result.stderr and "RuntimeError: out of luck at width 2" in result.stderr
    assert scalinglab.results(tmp_path / "out").empty
