"""Which runs of a sweep train together: the groups handed to the batched trainer
(train.batched), among the runs it can train together (equal `batch_key`).

Along a paddable axis (train.batched.PADDABLE_AXES, an MLP's width) a run shares a group only
with runs at least 1/PAD_WIDTH_RATIO as wide, unless the group's widest run is at most
SMALL_WIDTH: padding then costs little compute, while each step of a tiny model is almost all
fixed overhead that the group shares. Wider runs are compute-bound on a CPU, where padding costs
more than it saves: they group with equal widths only (PAD_WIDTH_RATIO = 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from scalinglab.run_spec import RunSpec
from scalinglab.train.batched import PADDABLE_AXES, batch_key

AUTO_MAX_RUNS = 64  # execution.batch = "auto" never stacks more runs than this in one group
PAD_WIDTH_RATIO = 1
SMALL_WIDTH = 64


def plan_batches(specs: Sequence[RunSpec], max_runs: int) -> list[list[RunSpec]]:
    """`specs` split into groups that train together, each of at most `max_runs` runs (1: every
    run alone), in the order of their first run. Groups hold runs of equal `batch_key`; along a
    paddable axis a group spans widths within PAD_WIDTH_RATIO (any widths up to SMALL_WIDTH).
    Cooldown branches of one parent run, and the parent, form one group of any size."""
    groups, specs_before = _branch_groups(specs), specs
    in_branch_group = {spec.run_key for group in groups for spec in group}
    specs = [spec for spec in specs if spec.run_key not in in_branch_group]
    buckets: dict[object, list[RunSpec]] = {}
    for index, spec in enumerate(specs):
        key = batch_key(spec) if max_runs > 1 else None
        buckets.setdefault(index if key is None else key, []).append(spec)
    for bucket in buckets.values():
        for band in _width_bands(bucket):
            n_groups = math.ceil(len(band) / max_runs)
            groups.extend(band[i::n_groups] for i in range(n_groups))  # even groups, not one full and one tiny
    order = {spec.run_key: index for index, spec in enumerate(specs_before)}
    return sorted(groups, key=lambda group: min(order[spec.run_key] for spec in group))


def _width_bands(bucket: list[RunSpec]) -> list[list[RunSpec]]:
    axis = PADDABLE_AXES.get(bucket[0].family)
    if axis is None:
        return [bucket]
    bands: list[list[RunSpec]] = []
    for spec in sorted(bucket, key=lambda spec: -spec.size[axis]):
        widest = bands[-1][0].size[axis] if bands else None
        if widest is not None and (widest <= SMALL_WIDTH or spec.size[axis] * PAD_WIDTH_RATIO >= widest):
            bands[-1].append(spec)
        else:
            bands.append([spec])
    return bands


def _branch_groups(specs: Sequence[RunSpec]) -> list[list[RunSpec]]:
    """The cooldown branches among `specs` (RunSpec.cooldown_of) with their parent run when it is
    among them too, one group per parent: one stable run trains them all (train.cooldown), so a
    group is never split, whatever `max_runs`."""
    parents = {spec.cooldown_parent().run_key for spec in specs if spec.cooldown_of is not None}
    groups: dict[str, list[RunSpec]] = {}
    for spec in specs:
        parent = spec.cooldown_parent().run_key
        if parent in parents:
            groups.setdefault(parent, []).append(spec)
    return list(groups.values())
