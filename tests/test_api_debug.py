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


def test_a_failure_is_recorded_in_one_line_unless_debug_mode_lets_it_escape(monkeypatch):
    from scalinglab.debug import DEBUG_ENVIRONMENT_VARIABLE, recorded_error

    def caught(error: Exception) -> str:
        try:
            raise error
        except ValueError as caught_error:
            return recorded_error(caught_error)

    monkeypatch.delenv(DEBUG_ENVIRONMENT_VARIABLE, raising=False)
    assert caught(ValueError("bad   width\n2")).startswith("ValueError: bad width 2 (test_api_debug.py:")
    monkeypatch.setenv(DEBUG_ENVIRONMENT_VARIABLE, "1")
    with pytest.raises(ValueError, match="bad width"):
        caught(ValueError("bad width"))
