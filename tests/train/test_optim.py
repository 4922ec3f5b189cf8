"""The optimizer constants both trainers share (train.optim)."""

from __future__ import annotations

import torch
from torch import nn

from scalinglab.train.optim import CLIP_EPS


def test_clip_eps_is_the_one_torch_clips_single_runs_with():
    # A norm comparable to the epsilon tells 1e-6 apart from any other value: the batched trainer's
    # clipping (max_norm / (norm + CLIP_EPS)) must scale exactly as clip_grad_norm_ does alone.
    weight = nn.Parameter(torch.zeros(1, dtype=torch.float64))
    weight.grad = torch.tensor([2e-6], dtype=torch.float64)
    nn.utils.clip_grad_norm_([weight], max_norm=1e-6)
    assert weight.grad.item() == 2e-6 * (1e-6 / (2e-6 + CLIP_EPS))


def test_wsd_holds_the_rate_then_cools_down_over_the_last_tenth_in_a_one_minus_sqrt_shape():
    """Issue 25: warmup, a stable phase at the full rate, and a (1 - sqrt) cooldown to zero over the
    last 10% of the steps (Hägele et al. 2024)."""
    from scalinglab.run_spec import TrainingSpec
    from scalinglab.train.optim import WSD_DECAY_FRACTION, lr_multiplier

    multiplier = lr_multiplier(TrainingSpec(schedule="wsd", warmup_fraction=0.1), total_steps=100)
    assert WSD_DECAY_FRACTION == 0.1
    assert [multiplier(step) for step in (0, 9)] == [0.1, 1.0]  # linear warmup over 10 steps
    assert all(multiplier(step) == 1.0 for step in range(10, 91))  # stable until the cooldown starts at 90
    assert multiplier(95) == 1 - (5 / 10) ** 0.5 and multiplier(100) == 0.0
    assert all(multiplier(step) > multiplier(step + 1) for step in range(90, 100))
