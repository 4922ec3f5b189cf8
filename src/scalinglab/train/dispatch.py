"""The one entry point through which every executor trains runs, whatever trains them. Built-in
runs import torch on first use; objective runs never do (the user's objective may not use it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from scalinglab.run_spec import RunResult, RunSpec
from scalinglab.train.objective import run_objective

if TYPE_CHECKING:
    from scalinglab.train.data_parallel import Launch


def run_batch(specs: Sequence[RunSpec], *, launch_workers: Launch | None = None) -> list[RunResult]:
    """Run `specs` the way they ask and return one result per spec, in order: an objective run with
    the user's objective (always alone: objective specs have no batch_key), cooldown branches of
    one parent run from one stable run (train.cooldown.train_branch_group), a data-parallel run
    with its `training.data_parallel` workers (train.data_parallel; `launch_workers` says how they
    start, default processes of this machine), other built-in runs with the batched trainer (one
    spec is simply a batch of one).

    The one dispatch point every executor calls; never raises for a problem of a run itself
    (outside debug mode).
    """
    specs = list(specs)
    if len(specs) == 1 and specs[0].objective is not None:
        return [run_objective(specs[0])]
    if any(spec.cooldown_of is not None for spec in specs):  # cooldown branches of one parent run
        from scalinglab.train.cooldown import train_branch_group

        return train_branch_group(specs)
    if is_data_parallel(specs):
        from scalinglab.train.data_parallel import train_data_parallel

        return [train_data_parallel(specs[0], specs[0].training.data_parallel, launch=launch_workers)]
    from scalinglab.train.batched import train_batch

    return train_batch(specs)


def is_data_parallel(specs: Sequence[RunSpec]) -> bool:
    """Whether `specs` is one run trained by several data-parallel workers (such a run trains alone:
    its batch_key is its own)."""
    return len(specs) == 1 and specs[0].training.data_parallel > 1
