"""API messages under the flags a user typed (`scalinglab.cli.app.flags_for`)."""

from __future__ import annotations

import pytest

from scalinglab.cli.app import flags_for
from scalinglab.errors import UserError


def _said(message: str) -> str:
    with pytest.raises(UserError) as raised, flags_for({"compute": "--compute", "ci_level": "--level"}):
        raise UserError(message)
    return str(raised.value)


def test_a_parameter_named_first_is_said_as_its_flag():
    assert _said("ci_level must lie strictly between 0 and 1") == "--level must lie strictly between 0 and 1"
    assert _said("compute: a compute-optimal allocation needs a joint law").startswith("--compute: a compute-optimal")


def test_a_word_that_only_begins_with_a_parameters_name_is_left_alone():
    """Seen: "--compute-optimal allocation needs a joint law", an option that does not exist."""
    assert _said("compute-optimal allocation needs a joint law") == "compute-optimal allocation needs a joint law"


def test_output_without_a_terminal_is_laid_out_wide_enough_not_to_cut_numbers():
    """Seen: `scalinglab recommend OUT > answer.txt` printed '10,364,3…' (rich's 80 columns)."""
    from scalinglab.cli.app import PIPED_WIDTH, stdout_console

    assert stdout_console().width == PIPED_WIDTH  # pytest's stdout is no terminal
