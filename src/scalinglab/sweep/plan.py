"""From a validated SweepConfig to the flat list of RunSpecs it describes (the cartesian product
of every swept field and the seeds), in a deterministic order."""

from __future__ import annotations

import itertools
from typing import Any

from scalinglab.config import SweepConfig
from scalinglab.errors import UserError
from scalinglab.spec import DataSpec, RunLimits, RunSpec, TrainingSpec

_SWEPT_DATA = ("train_size", "preprocessing")
_SWEPT_TRAINING = ("epochs", "batch_size", "lr", "weight_decay", "dropout", "precision")


def plan_runs(config: SweepConfig) -> list[RunSpec]:
    """Every run of the sweep, once each."""
    limits = RunLimits(max_seconds=config.training.max_seconds, latency_repeats=config.measure.latency_repeats)
    specs = [
        RunSpec(family=config.model.family, size=size, data=data, training=training, seed=seed, limits=limits)
        for seed in config.seeds
        for data in _data_specs(config)
        for training in _training_specs(config)
        for size in _grid(config.model.axes())
    ]
    return list({spec.run_key: spec for spec in specs}.values())  # a value listed twice runs once


def _grid(axes: dict[str, list[Any]]) -> list[dict[str, Any]]:
    names = list(axes)
    combos = itertools.product(*(sorted(set(axes[name])) for name in names))
    return [dict(zip(names, combo)) for combo in combos]


def _data_specs(config: SweepConfig) -> list[DataSpec]:
    data = config.data
    fixed = data.model_dump(exclude=set(_SWEPT_DATA))
    swept = {"train_size": data.train_size or [None], "preprocessing": data.preprocessing}
    return [DataSpec(**fixed, **combo) for combo in _grid(swept)]


def _training_specs(config: SweepConfig) -> list[TrainingSpec]:
    training = config.training
    if "auto" in training.lr:
        raise UserError("training.lr: 'auto' (per-size learning-rate search) is not available yet; give a number")
    fixed = training.model_dump(exclude={*_SWEPT_TRAINING, "max_seconds"})
    swept = {name: getattr(training, name) for name in _SWEPT_TRAINING}
    return [TrainingSpec(**fixed, **combo) for combo in _grid(swept)]
