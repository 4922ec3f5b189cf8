"""Objective mode: the user's own training function trains each run.

An objective is a function `objective(run) -> dict` referenced by its import path
"module:function", so that pool and Ray workers import it themselves. It receives a `Run` (the
size, the number of training examples, the seed, the training settings with the objective's own
`[params]`, and a scratch folder) and
returns the run's metrics: the quality metric (`val_loss` unless `fit.metric` says otherwise) and
`n_params` are required; `train_seconds` is measured around the call when it is not returned;
`train_flops` and any other number are stored as given. Everything else (plan, claim, resume,
executors, fits, report) is the same as for a built-in family.

An exception, a missing required metric, or a value that is not a finite number makes the run a
recorded failure with its error; the sweep goes on (unless debug mode is on, see diagnostics).
`training.max_seconds` holds where runs train in a watched process (pool, Ray, or with
`execution.max_memory_mb`), which is killed past the limit; in the plain serial executor an
objective runs to its end, as scalinglab cannot stop it between epochs as its own loop does.
"""

from __future__ import annotations

import math
import numbers
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scalinglab.errors import UserError
from scalinglab.run_spec import RunResult, RunSpec
from scalinglab.train.outcome import run_outcome


FIELD = "model.objective"

# Objectives handed over as Python functions, by import path: this process calls them directly,
# so a function defined in a script or a notebook (not importable by name) still runs serially.
_registered: dict[str, Callable] = {}


@dataclass(frozen=True)
class Run:
    """What an objective is asked to train."""

    size: dict[str, Any]  # the size axes, e.g. {"width": 64, "depth": 2}
    train_size: int | None  # training examples (or bytes) to use; None: all of them
    seed: int
    settings: dict[str, Any]  # the [training] settings (epochs, batch_size, lr, ...) and the objective's own [params]
    workdir: Path  # a scratch folder of this run's own, deleted when the objective returns
    run_key: str


def objective_path(objective: Callable | str) -> str:
    """The import path of `objective` ("module:function"). A function is also registered, so
    this process can call it even when its module cannot be imported by name."""
    if isinstance(objective, str):
        return objective
    if not callable(objective):
        raise UserError(f"objective: expected a function or 'module:function' (got {objective!r})")
    path = f"{objective.__module__}:{objective.__qualname__}"
    _registered[path] = objective
    return path


def importable_by_workers(path: str) -> bool:
    """Whether another process can import the objective at `path` by its name."""
    module, _, name = path.partition(":")
    return module != "__main__" and "<locals>" not in name


def resolve_objective(path: str) -> Callable:
    """The function at `path`; UserError naming model.objective when there is none."""
    from scalinglab.families import import_object

    objective = _registered.get(path) or import_object(path, field=FIELD)
    if not callable(objective):
        raise UserError(f"{FIELD}: '{path}' is not a function")
    return objective


def check_objective(path: str, axes: Mapping[str, list[Any]]) -> None:
    """Check before any work that the objective can be had and its size axes hold plain values.

    Raises UserError for the objective, ValueError("AXIS: ...") for an axis value.
    """
    resolve_objective(path)
    for axis, values in axes.items():
        for value in values:
            if not isinstance(value, (bool, int, float, str)):
                raise ValueError(f"{axis}: must be a number or a string (got {value!r})")


def run_batch(specs: Sequence[RunSpec]) -> list[RunResult]:
    """Run `specs` the way they ask and return one result per spec, in order: an objective run with
    the user's objective (always alone: objective specs have no batch_key), built-in runs with the
    batched trainer (one spec is simply a batch of one).

    The one dispatch point every executor calls; never raises for a problem of a run itself
    (outside debug mode).
    """
    specs = list(specs)
    if len(specs) == 1 and specs[0].objective is not None:
        return [run_objective(specs[0])]
    from scalinglab.train.batched import train_batch

    return train_batch(specs)


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
            returned = objective(run)
            seconds = time.perf_counter() - started
        metrics = checked_metrics(returned, required=(spec.limits.metric, "n_params"))
        metrics.setdefault("train_seconds", seconds)
        return metrics

    return run_outcome(spec, attempt)


class ObjectiveResultError(ValueError):
    """The objective returned something that is not a usable dict of metrics."""


def checked_metrics(returned: Any, *, required: tuple[str, ...]) -> dict[str, float]:
    """`returned` as {name: float}; ObjectiveResultError when it is not a mapping of names to
    finite numbers (0-d tensors and numpy scalars are numbers) or lacks a `required` name."""
    if not isinstance(returned, Mapping):
        raise ObjectiveResultError(f"the objective must return a dict of metrics (it returned {type(returned).__name__})")
    missing = [name for name in required if name not in returned]
    if missing:
        given = ", ".join(map(str, returned)) or "nothing"
        raise ObjectiveResultError(f"the objective returned no {', '.join(missing)} (it returned: {given})")
    metrics = {}
    for name, value in returned.items():
        number = _as_float(value)
        if number is None or not math.isfinite(number):
            raise ObjectiveResultError(f"metric '{name}' is not a finite number (got {value!r})")
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
