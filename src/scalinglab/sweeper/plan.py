"""From a validated SweepConfig to the flat list of RunSpecs it describes (the cartesian product
of every swept field and the seeds), in a deterministic order. With compute budgets
(`data.train_flops`) each model size's data size is the one the budget buys it (sweeper.budgets).

With `training.lr = "auto"` some of those runs depend on the results of others (the per-size
learning-rate search), so the plan is a function of what is already stored.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from scalinglab.config import SweepConfig
from scalinglab.run_spec import DataSpec, RunLimits, RunSpec, TrainingSpec
from scalinglab.sweeper.budgets import data_at_budget
from scalinglab.sweeper.lr_search import runs_in_search, search_frontier

_SWEPT_DATA = ("train_size", "preprocessing")


def plan_runs(config: SweepConfig, val_losses: Mapping[str, float] | None = None) -> list[RunSpec]:
    """Every run the sweep needs, once each, given the results stored so far.

    `val_losses` maps run_key -> validation loss (inf for a run that did not finish ok). Without
    a learning-rate search the plan is the whole grid whatever is stored; with one it holds each
    search's runs up to its first unfinished step.
    """
    val_losses = val_losses or {}
    specs = []
    for seed, data, training, size, params in _combinations(config, seeds=config.seeds):
        if training.lr != "auto":
            specs.append(_spec(config, size, data, TrainingSpec(**training.model_dump()), seed, params))
    for _, data, training, size, params in _combinations(config, seeds=config.seeds[:1]):
        if training.lr == "auto":
            specs.extend(_lr_search_runs(config, size, data, training, params, val_losses))
    if config.training.cooldowns:
        specs = _as_branches(specs)
    if config.transfer is not None:  # pretrained or from scratch as an axis (sweeper.transfer)
        from scalinglab.sweeper.transfer import with_transfer

        specs = with_transfer(config, specs)
    return list({spec.run_key: spec for spec in specs}.values())  # a value listed twice runs once


def _as_branches(specs: list[RunSpec]) -> list[RunSpec]:
    """With training.cooldowns, a smaller data size's run is a cooldown branch of the largest
    data size's run of the same model and settings (RunSpec.cooldown_of; train.cooldown), which
    stays a run of its own. The largest is per model size: with `data.train_flops` each size has
    its own data sizes."""
    largest: dict[str, int] = {}
    for spec in specs:
        parent = _without_data_size(spec)
        largest[parent] = max(largest.get(parent, 0), spec.data.train_size)
    return [
        spec
        if spec.data.train_size == largest[_without_data_size(spec)]
        else spec.model_copy(update={"cooldown_of": largest[_without_data_size(spec)]})
        for spec in specs
    ]


def _without_data_size(spec: RunSpec) -> str:
    """The key of `spec` at no data size: equal for a parent run and its branches."""
    return spec.model_copy(update={"data": spec.data.model_copy(update={"train_size": None})}).run_key


def planned_total(config: SweepConfig) -> int:
    """How many runs the finished sweep holds (at most: two searches may share a run)."""
    if config.transfer is not None:  # no learning-rate search (config checks): the plan is the whole sweep
        return len(plan_runs(config))
    per_search = runs_in_search(len(config.lr_search.candidates), config.lr_search.reduction_factor, len(config.seeds))
    total = 0
    for seed, _, training, _, _ in _combinations(config, seeds=config.seeds):
        if training.lr != "auto":
            total += 1
        elif seed == config.seeds[0]:
            total += per_search
    return total


def _lr_search_runs(config, size, data, training, params, val_losses) -> list[RunSpec]:
    def spec_for(lr: float, epochs: int, seed: int) -> RunSpec:
        return _spec(
            config, size, data, TrainingSpec(**{**training.model_dump(), "lr": lr, "epochs": epochs}), seed, params
        )

    return search_frontier(
        spec_for,
        candidates=config.lr_search.candidates,
        full_epochs=training.epochs,
        seeds=config.seeds,
        reduction_factor=config.lr_search.reduction_factor,
        val_losses=val_losses,
    )


def _spec(config: SweepConfig, size, data: DataSpec, training: TrainingSpec, seed: int, params: dict) -> RunSpec:
    limits = RunLimits(max_seconds=config.training.max_seconds, latency_repeats=config.measure.latency_repeats)
    if config.model.objective is not None:
        limits = limits.model_copy(update={"metric": config.fit.metric})
        return RunSpec(
            family="objective",
            objective=config.model.objective,
            size=size,
            data=data,
            training=training,
            seed=seed,
            limits=limits,
            params=params,
        )
    return RunSpec(family=config.model.family, size=size, data=data, training=training, seed=seed, limits=limits)


def _combinations(config: SweepConfig, *, seeds: list[int]):
    """(seed, data, training settings, size, an objective's own params) for every point of the
    grid, in a fixed order."""
    for seed in seeds:
        for data in _data_specs(config):
            for budget in config.data.train_flops or [None]:
                for training in _training_settings(config):
                    for size in _grid(config.model.axes()):
                        sized = data if budget is None else data_at_budget(config, data, budget, size, training)
                        for params in _grid(config.params):
                            yield seed, sized, training, size, params


def _grid(axes: dict[str, list[Any]]) -> list[dict[str, Any]]:
    names = list(axes)
    combos = itertools.product(*(sorted(set(axes[name]), key=_order) for name in names))
    return [dict(zip(names, combo)) for combo in combos]


def _order(value: Any) -> tuple[bool, Any]:
    return isinstance(value, str), value  # numbers first, then words such as "auto"


def _data_specs(config: SweepConfig) -> list[DataSpec]:
    data = config.data
    if config.model.objective is not None:  # the objective loads its own data: only the size is ours
        return [DataSpec(source="objective", train_size=size) for size in data.train_size or [None]]
    fixed = data.model_dump(exclude={*_SWEPT_DATA, "train_flops"})
    swept = {"train_size": data.train_size or [None], "preprocessing": data.preprocessing}
    return [DataSpec(**fixed, **combo) for combo in _grid(swept)]


def _training_settings(config: SweepConfig) -> list[_TrainingSettings]:
    """Every combination of the swept training settings; lr may still be "auto" here."""
    training = config.training
    fixed = {name: getattr(training, name) for name in TrainingSpec.model_fields if name not in TrainingSpec.sweepable}
    swept = {name: getattr(training, name) for name in TrainingSpec.sweepable}
    return [_TrainingSettings(**fixed, **combo) for combo in _grid(swept)]


class _TrainingSettings(TrainingSpec):
    lr: float | str
