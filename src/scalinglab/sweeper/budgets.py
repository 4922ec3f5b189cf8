"""Compute budgets as the data axis (`data.train_flops`): an IsoFLOP grid.

An IsoFLOP sweep (Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models",
approach 2) trains every model size at each of a few fixed training budgets C, so each size sees
as many samples as C buys it: D = C / (train FLOPs per sample x epochs). A grid of
`train_size` x sizes cannot list those pairs (every size gets a different D), so the sweep file
gives the budgets and each size's data size is derived here from the family's own FLOPs per
sample, the count training records as `train_flops`. Within a budget the runs' `train_flops`
then agree to within one context window (a language model trains on whole windows), well inside
the 0.05-decade tolerance the IsoFLOP analysis groups budgets by.
"""

from __future__ import annotations

from typing import Any

from scalinglab.config import SweepConfig
from scalinglab.data import Dataset, load_source
from scalinglab.errors import UserError
from scalinglab.families import Family, TaskShape, get_family
from scalinglab.run_spec import DataSpec, TrainingSpec


def task_shape(dataset: Dataset, size: dict[str, Any]) -> TaskShape:
    """What a model of `size` maps from and to on `dataset` (a window of `context` bytes for text)."""
    if dataset.kind == "lm":
        return TaskShape(kind="lm", input_shape=(size["context"],), n_outputs=dataset.n_outputs)
    return TaskShape(kind="classification", input_shape=dataset.input_shape, n_outputs=dataset.n_outputs)


def data_at_budget(
    config: SweepConfig, data: DataSpec, budget_flops: float, size: dict[str, Any], training: TrainingSpec
) -> DataSpec:
    """`data` with the train_size that makes a run of `size` cost `budget_flops` training FLOPs.

    A language model trains on whole windows of `context` bytes, each window predicting the byte
    after it (tasks.LanguageModelTask): `w` windows need `w * context + 1` bytes. Raises UserError
    naming data.train_flops when a budget buys less than one batch or more than the data holds.
    """
    family = get_family(config.model.family)
    dataset = load_source(data)
    samples_per_epoch = samples_at_budget(family, dataset, budget_flops, size, training.epochs)
    window = size["context"] if dataset.kind == "lm" else 1
    units = round(samples_per_epoch / window)  # windows (text) or examples
    train_size = units * window + (1 if dataset.kind == "lm" else 0)
    described = ", ".join(f"{axis}={value}" for axis, value in size.items())
    unit = "tokens" if dataset.kind == "lm" else "examples"
    if units < training.batch_size:
        raise UserError(
            f"{config.where('data.train_flops')}: {budget_flops:.3g} FLOPs buy {described} only "
            f"{samples_per_epoch:,.0f} {unit} per epoch, less than one batch of {training.batch_size * window:,} "
            f"(raise the budget or drop the size)"
        )
    if train_size > dataset.n_train:
        raise UserError(
            f"{config.where('data.train_flops')}: {budget_flops:.3g} FLOPs buy {described} {train_size:,} "
            f"{dataset.unit} per epoch, more than the {dataset.n_train:,} of '{dataset.name}' "
            f"(lower the budget, drop the size or train more epochs)"
        )
    return data.model_copy(update={"train_size": train_size})


def samples_at_budget(
    family: Family, dataset: Dataset, budget_flops: float, size: dict[str, Any], epochs: int
) -> float:
    """Samples (tokens for a language model) per epoch that `budget_flops` buys a model of `size`."""
    return budget_flops / (family.train_flops_per_sample(size, task_shape(dataset, size)) * epochs)
