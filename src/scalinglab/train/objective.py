"""Objective mode: the user's own training function trains each run.

An objective is a function `objective(run) -> dict` referenced by its import path
"module:function", so that pool and Ray workers import it themselves (resolved by
scalinglab.families, as a plugin family is). It receives a `Run` (the
size, the number of training examples, the seed, the training settings with the objective's own
`[params]`, and a scratch folder) and
returns the run's metrics: the quality metric (`val_loss` unless `fit.metric` says otherwise) and
`n_params` are required; `train_seconds` is measured around the call when it is not returned;
`train_flops` and any other number are stored as given. Everything else (plan, claim, resume,
executors, fits, report) is the same as for a built-in family.

An exception, a missing required metric, or a value that is not a finite number makes the run a
recorded failure with its error; the sweep goes on (unless debug mode is on: train.outcome's rule).
`training.max_seconds` holds at the deadline of `RunLimits.deadline_seconds` (the limit x 1.25 +
10 s): a watched process (pool, Ray, `execution.max_memory_mb`) is killed there, and an objective
called in the main thread of a process (the serial executor's, and the watched child's) is
interrupted there by a timer signal (SIGALRM and the real-time timer, `_interrupted_at`; not where
another real-time timer is running, nor on Windows), so a run fails "over the time limit" on the
serial executor as on the others. scalinglab cannot stop an objective between epochs as its own
loop does.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import signal
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scalinglab.families import resolve_objective
from scalinglab.metrics import impossible_value
from scalinglab.run_spec import RunResult, RunSpec
from scalinglab.train.outcome import run_outcome


@dataclass(frozen=True)
class Run:
    """What an objective is asked to train."""

    size: dict[str, Any]  # the size axes, e.g. {"width": 64, "depth": 2}
    train_size: int | None  # training examples (or bytes) to use; None: all of them
    seed: int
    settings: dict[str, Any]  # the [training] settings (epochs, batch_size, lr, ...) and the objective's own [params]
    workdir: Path  # a scratch folder of this run's own, deleted when the objective returns
    run_key: str


def run_objective(spec: RunSpec) -> RunResult:
    """Call the objective of `spec` once and turn what it returns (or raises) into a RunResult, by
    `run_outcome`'s rule (failed with its error; raised in debug mode)."""

    def attempt() -> dict[str, float]:
        objective = resolve_objective(spec.objective)
        with tempfile.TemporaryDirectory(prefix=f"scalinglab-{spec.run_key}-") as workdir:
            run = Run(
                size=dict(spec.size),
                train_size=spec.data.train_size,
                seed=spec.seed,
                settings={**spec.training.model_dump(), **spec.params},
                workdir=Path(workdir),
                run_key=spec.run_key,
            )
            started = time.perf_counter()
            with _interrupted_at(spec.limits.deadline_seconds(), spec.limits.over_time_limit):
                returned = objective(run)
            seconds = time.perf_counter() - started
        metrics = checked_metrics(returned, required=(spec.limits.metric, "n_params"))
        metrics.setdefault("train_seconds", seconds)
        return metrics

    return run_outcome(spec, attempt)


class ObjectiveTimeLimit(Exception):
    """The objective was still running at its run's deadline."""


@contextlib.contextmanager
def _interrupted_at(seconds: float | None, reason) -> Iterator[None]:
    """Raise ObjectiveTimeLimit(reason()) inside the block once it has run `seconds`, by a timer
    signal; and after it, where the objective caught that exception and returned anyway (a retry
    loop's `except Exception`). Armed only in a process's main thread (the only one a signal
    reaches), where `signal.setitimer` exists and no real-time timer is already running (a test
    runner's timeout, the user's own alarm: theirs is left alone); elsewhere a watched process is
    still killed at the deadline. The previous SIGALRM handler is restored on the way out."""
    armed = (
        seconds is not None
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getitimer(signal.ITIMER_REAL)[0] == 0
    )
    if not armed:
        yield
        return
    fired = []

    def message() -> str:
        return f"stopped after {seconds:.3g} s: {reason()}"

    def stop(signum, frame):
        fired.append(True)
        raise ObjectiveTimeLimit(message())

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)
    if fired:  # the objective swallowed the interrupt and returned: still over its limit
        raise ObjectiveTimeLimit(message())


class ObjectiveResultError(ValueError):
    """The objective returned something that is not a usable dict of metrics."""


def checked_metrics(returned: Any, *, required: tuple[str, ...]) -> dict[str, float]:
    """`returned` as {name: float}; ObjectiveResultError when it is not a mapping of names to
    finite numbers (0-d tensors and numpy scalars are numbers), holds a value its column cannot
    have (`metrics.impossible_value`: "n_params" -50, "val_accuracy" 1.7), or lacks a `required` name."""
    if not isinstance(returned, Mapping):
        raise ObjectiveResultError(
            f"the objective must return a dict of metrics (it returned {type(returned).__name__})"
        )
    missing = [name for name in required if name not in returned]
    if missing:
        given = ", ".join(map(str, returned)) or "nothing"
        raise ObjectiveResultError(f"the objective returned no {', '.join(missing)} (it returned: {given})")
    metrics = {}
    for name, value in returned.items():
        number = _as_float(value)
        if number is None or not math.isfinite(number):
            raise ObjectiveResultError(f"metric '{name}' is not a finite number (got {value!r})")
        impossible = impossible_value(str(name), number)
        if impossible:
            raise ObjectiveResultError(f"metric '{name}' {impossible} (got {value!r})")
        metrics[str(name)] = number
    return metrics


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # a 0-d tensor or array
        return _as_float(value.item())
    return None
