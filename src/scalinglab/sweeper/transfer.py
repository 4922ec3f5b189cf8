"""[transfer]: the runs of a sweep with pretrained or from-scratch starts as an axis (Hernandez et
al. 2021, "Scaling Laws for Transfer").

Every model size is pretrained once on the source, as a run of its own (its checkpoint is kept);
each `finetune` or `features` run of that size names that run as its parent (RunSpec.transfer), so
its key depends on the parent's key, and a `scratch` run is the very run a sweep without
[transfer] trains (same key). A target run waits until its parent is stored (`ready`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from scalinglab.config import SweepConfig
from scalinglab.config_fields import as_list
from scalinglab.data import load_source
from scalinglab.errors import UserError
from scalinglab.run_spec import DataSpec, RunSpec, TrainingSpec, TransferSpec


def with_transfer(config: SweepConfig, specs: list[RunSpec]) -> list[RunSpec]:
    """The pretraining runs (one per size), then every run of `specs` in each mode of
    `transfer.mode`. Raises UserError when the source's inputs cannot be bridged to the target's."""
    parents: dict[str, RunSpec] = {}
    parent_of: dict[str, RunSpec] = {}  # by what a parent depends on: each planned (and checked) once
    targets = []
    for spec in specs:
        for mode in as_list(config.transfer.mode):
            if mode == "scratch":
                targets.append(spec)
                continue
            at = json.dumps(
                [
                    spec.family,
                    spec.size,
                    spec.data.model_dump(mode="json", exclude={"train_size", "cv_folds", "preprocessing"}),
                    spec.limits.model_dump(mode="json"),
                ],
                sort_keys=True,
            )
            parent = parent_of[at] = parent_of.get(at) or pretraining_run(config, spec)
            parents[parent.run_key] = parent
            targets.append(spec.model_copy(update={"transfer": TransferSpec(mode=mode, parent=parent)}))
    return [*parents.values(), *targets]


def pretraining_run(config: SweepConfig, spec: RunSpec) -> RunSpec:
    """The run that pretrains `spec`'s family and size on the source: the first value of every
    [training] setting, the [transfer] epochs and lr where given, the source's inputs resized to
    the target's shape where they differ. With `source = "family"`: the run that loads the family's
    own pretrained weights for this size (family_weights_run)."""
    transfer = config.transfer
    settings = {name: as_list(getattr(config.training, name))[0] for name in TrainingSpec.model_fields}
    if transfer.source == "family":
        return family_weights_run(config, spec, TrainingSpec(**settings))
    settings.update({name: getattr(transfer, name) for name in ("epochs", "lr") if getattr(transfer, name) is not None})
    source = transfer.source.model_dump(exclude={"train_size", "train_flops", "preprocessing"})
    data = DataSpec(
        **source,
        train_size=as_list(transfer.source.train_size or [None])[0],
        preprocessing=as_list(transfer.source.preprocessing)[0],
    )
    target_shape = load_source(spec.data).input_shape
    source_shape = load_source(data).input_shape
    bridge_problem = input_bridge_problem(source_shape, target_shape)
    if bridge_problem:
        raise UserError(f"transfer.source: {bridge_problem}")
    return RunSpec(
        family=spec.family,
        size=spec.size,
        data=data,
        training=TrainingSpec(**settings),
        seed=transfer.seed,
        limits=spec.limits,
        input_shape=None if source_shape == target_shape else target_shape,
    )


def family_weights_run(config: SweepConfig, spec: RunSpec, training: TrainingSpec) -> RunSpec:
    """The run that builds `spec`'s family and size for the target's task and loads the family's own
    pretrained weights (Family.pretrained_state_dict) instead of training; it is scored on the target's
    validation set (its data: the target's, the first preprocessing, all of it). Raises UserError
    when the family has no weights for this size."""
    from scalinglab.families import get_family
    from scalinglab.families.base import has_pretrained_weights
    from scalinglab.train.loop import run_task

    family = get_family(spec.family)
    if not has_pretrained_weights(family):
        raise UserError(
            f"transfer.source: family {spec.family!r} has no pretrained weights of its own "
            "(a plugin family gives them by pretrained_state_dict; docs/plugins.md)"
        )
    data = spec.data.model_copy(
        update={"train_size": None, "cv_folds": None, "preprocessing": as_list(config.data.preprocessing)[0]}
    )
    if family.pretrained_state_dict(spec.size, run_task(data, spec.size).shape) is None:
        size = " ".join(f"{axis}={value}" for axis, value in spec.size.items())
        raise UserError(
            f"transfer.source: family {spec.family!r} has no pretrained weights for {size} "
            "(its pretrained_state_dict returned None)"
        )
    return RunSpec(
        family=spec.family,
        size=spec.size,
        data=data,
        training=training,
        seed=config.transfer.seed,
        limits=spec.limits,
        pretrained="family",
    )


def input_bridge_problem(source: tuple[int, ...], target: tuple[int, ...]) -> str | None:
    """Why inputs of shape `source` cannot be adapted to `target`, else None: images
    (channels, height, width) are resized and a single channel repeated; flat vectors must match."""
    if source == target:
        return None
    if len(source) == 3 and len(target) == 3 and source[0] in (1, target[0]):
        return None
    return (
        f"inputs of shape {source} cannot be adapted to the target's {target} "
        "(images of 1 or equal channels are resized; other inputs must have equal shapes)"
    )


def ready(specs: list[RunSpec], statuses: Mapping[str, str]) -> list[RunSpec]:
    """`specs` less the target runs whose pretrained parent is not stored yet (a parent stored as
    failed lets its children run, and fail naming it)."""
    return [spec for spec in specs if spec.transfer is None or spec.transfer.parent.run_key in statuses]
