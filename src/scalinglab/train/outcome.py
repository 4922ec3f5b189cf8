"""The one rule by which a run's attempt becomes its RunResult, for every way a run trains (the
one-at-a-time loop, a batched group, a user's objective): what the attempt returns is an ok run,
a non-finite loss (Diverged) a diverged run, and any other exception a failed run with its
one-line error, so that one bad run never stops a sweep; in debug mode (debug.recorded_error) that
exception escapes with its traceback instead. KeyboardInterrupt and SystemExit are not
exceptions of a run: they always escape.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from scalinglab.debug import recorded_error
from scalinglab.run_spec import RunResult, RunSpec

logger = logging.getLogger(__name__)


class Diverged(Exception):
    """Training loss became NaN or infinite."""


def run_outcome(
    spec: RunSpec, attempt: Callable[[], dict[str, float]], curves: list[dict[str, float]] | None = None
) -> RunResult:
    """Call `attempt` (it trains and measures `spec`'s run and returns its metrics) and return the
    run's result: ok with those metrics; diverged when it raises Diverged; failed with the error in
    one line when it raises any other Exception. `curves`: the list the attempt appends its epochs
    to, kept in the result whatever the outcome.

    Raises what `attempt` raised, other than Diverged, in debug mode; KeyboardInterrupt and
    SystemExit always.
    """
    curves = [] if curves is None else curves
    try:
        metrics = attempt()
    except Diverged as error:
        return RunResult(spec=spec, status="diverged", curves=curves, error=str(error))
    except Exception as error:  # a failed run is data, not a crashed sweep
        recorded = recorded_error(error)
        logger.debug("run %s failed", spec.label(), exc_info=True)
        return RunResult(spec=spec, status="failed", curves=curves, error=recorded)
    return RunResult(spec=spec, status="ok", metrics=metrics, curves=curves)
