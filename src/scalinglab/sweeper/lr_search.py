"""Per-size learning-rate search by successive halving, planned from stored results alone.

For one configuration (a size, a data size, fixed training settings) every candidate learning
rate trains on the first seed for a short budget; the best 1/`reduction_factor` of them go on
with `reduction_factor` times the epochs, and so on until one is left, which then trains for
the full epochs with every seed. Each step is an ordinary run with its own run_key, so a search
killed halfway resumes where it stopped, and nothing here keeps state between calls.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from scalinglab.run_spec import RunSpec

SpecFor = Callable[[float, int, int], RunSpec]  # (lr, epochs, seed) -> the run


def rung_sizes(n_candidates: int, reduction_factor: int) -> list[int]:
    """How many candidates train at each rung, e.g. 5 candidates, factor 3 -> [5, 2]."""
    sizes = [n_candidates]
    while sizes[-1] > 1:
        sizes.append(math.ceil(sizes[-1] / reduction_factor))
    return sizes[:-1]


def rung_epochs(full_epochs: int, n_rungs: int, reduction_factor: int) -> list[int]:
    """Epochs at each rung: the last rung trains full_epochs / factor, each earlier one a factor less."""
    return [max(1, round(full_epochs / reduction_factor ** (n_rungs - rung))) for rung in range(n_rungs)]


def runs_in_search(n_candidates: int, reduction_factor: int, n_seeds: int) -> int:
    """How many runs one search trains in all (an upper bound: identical runs of two rungs run once)."""
    return sum(rung_sizes(n_candidates, reduction_factor)) + n_seeds


def search_frontier(
    spec_for: SpecFor,
    *,
    candidates: Sequence[float],
    full_epochs: int,
    seeds: Sequence[int],
    reduction_factor: int,
    val_losses: Mapping[str, float],
) -> list[RunSpec]:
    """The runs this search needs so far: every rung up to the first whose results are not all in
    `val_losses` (run_key -> validation loss, inf for a failed run), then, once one learning rate
    is left, its full runs for every seed."""
    sizes = rung_sizes(len(candidates), reduction_factor)
    alive = list(candidates)
    needed: list[RunSpec] = []
    for n_alive, epochs in zip(sizes, rung_epochs(full_epochs, len(sizes), reduction_factor)):
        rung = {lr: spec_for(lr, epochs, seeds[0]) for lr in alive[:n_alive]}
        needed.extend(rung.values())
        if any(spec.run_key not in val_losses for spec in rung.values()):
            return needed
        alive = sorted(rung, key=lambda lr: (val_losses[rung[lr].run_key], candidates.index(lr)))
    needed.extend(spec_for(alive[0], full_epochs, seed) for seed in seeds)
    return needed
