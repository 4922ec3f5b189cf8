"""Flags of unstable training, computed from the losses the loop recorded."""

from __future__ import annotations

import numpy as np

SPIKE_WINDOW = 20  # steps of recent history a loss is compared with
SPIKE_FACTOR = 2.0  # a step loss above this multiple of the recent median is a spike


def count_loss_spikes(step_losses: list[float], *, window: int = SPIKE_WINDOW, factor: float = SPIKE_FACTOR) -> int:
    """Steps whose loss exceeds `factor` times the median of the `window` steps before it.

    The first `window` steps are never spikes: the early loss falls too fast for a median to mean much.
    """
    losses = np.asarray(step_losses, dtype=float)
    if len(losses) <= window:
        return 0
    # medians of losses[step - window : step] for every step from `window` on, in one call
    recent = np.median(np.lib.stride_tricks.sliding_window_view(losses[:-1], window), axis=1)
    return int(np.sum(losses[window:] > factor * recent))


def ended_worse_than_it_started(epoch_losses: list[float]) -> bool:
    """True when the last epoch's mean training loss is above the first's: training went backwards.

    (A non-finite loss is caught earlier and makes the run's status 'diverged'.)
    """
    return len(epoch_losses) >= 2 and epoch_losses[-1] > epoch_losses[0]
