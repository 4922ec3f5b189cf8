"""Diagnostics: the debug switch and how a run's error is told in one line.

Every module logs through `logging.getLogger(__name__)`, under the `scalinglab` logger, which the
CLI renders through rich. Debug mode (`scalinglab run --debug`, or SCALINGLAB_DEBUG=1 in the
environment) makes a run's exception escape with its full traceback instead of being recorded as a
failed run, so a bug in a plugin or an objective is not hidden behind a "failed" row.
"""

from __future__ import annotations

import os
import traceback

DEBUG_ENVIRONMENT_VARIABLE = "SCALINGLAB_DEBUG"


def debug_enabled() -> bool:
    """Whether a run's exception must be raised rather than recorded."""
    return os.environ.get(DEBUG_ENVIRONMENT_VARIABLE, "").strip().lower() not in ("", "0", "false", "no")


def enable_debug() -> None:
    """Turn debug mode on for this process and the processes it starts."""
    os.environ[DEBUG_ENVIRONMENT_VARIABLE] = "1"


def one_line_error(error: BaseException) -> str:
    """'ExceptionType: message (file.py:line)', the line being where it was raised."""
    where = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
    location = f" ({where.filename.rsplit('/', 1)[-1]}:{where.lineno})" if where else ""
    return f"{type(error).__name__}: {' '.join(str(error).split())}{location}"


def recorded_error(error: Exception) -> str:
    """How a failed attempt (a run, a group of runs, a compression) is recorded: its one-line
    error, so one bad attempt never stops a sweep. In debug mode `error` escapes instead, with its
    traceback: a bug in a plugin or an objective is not hidden behind a "failed" row. Call it from
    the `except` block that caught `error`."""
    if debug_enabled():
        raise error
    return one_line_error(error)
