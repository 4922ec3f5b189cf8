"""Training inside compression (fine-tuning a pruned or factorized model, training a distilled
student) runs the project's own training loop, so optimizer, schedule, warmup, clipping and
precision are those of the parent run."""

from __future__ import annotations

import time

from torch import nn

from scalinglab.run_spec import RunSpec
from scalinglab.train.tasks import Task


def train_model(model: nn.Module, task: Task, spec: RunSpec, *, epochs: int) -> None:
    """Train `model` in place for `epochs` epochs with `spec`'s training settings and seed.

    Raises `scalinglab.train.loop.Diverged` on a non-finite loss (the compression is then
    recorded as failed)."""
    from scalinglab.train.loop import train_module

    if epochs <= 0:
        return
    settings = spec.training.model_copy(update={"epochs": epochs})
    train_module(model, task, spec.model_copy(update={"training": settings}), [], time.perf_counter())
