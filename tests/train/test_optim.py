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
