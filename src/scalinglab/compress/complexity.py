"""Complexity measures of a trained model, recorded on its `none` row:

- effective rank of each weight matrix (Roy & Vetterli 2007): exp of the Shannon entropy of its
  singular values normalised to sum 1; reported as the mean over matrices of effective rank /
  full rank (1: every direction used equally; near 0: close to rank one). Convolution kernels
  are read as (out_channels, in_channels x k x k) matrices.
- the fraction of dead ReLU units: hidden units whose output is 0 on every validation sample.
- weight norms: the L2 norm of all weight matrices together, and its mean per weight.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from scalinglab.compress.methods.base import weight_layers
from scalinglab.train.tasks import Task


def complexity(model: nn.Module, task: Task) -> dict[str, float]:
    """effective_rank_fraction, dead_relu_fraction (NaN without ReLUs), weight_norm_l2, weight_rms."""
    matrices = [layer.weight.detach().flatten(1) for _, layer in weight_layers(model)]
    squares = sum(float((m**2).sum()) for m in matrices)
    count = sum(m.numel() for m in matrices)
    return {
        "effective_rank_fraction": sum(effective_rank(m) / min(m.shape) for m in matrices) / len(matrices),
        "dead_relu_fraction": dead_relu_fraction(model, task),
        "weight_norm_l2": math.sqrt(squares),
        "weight_rms": math.sqrt(squares / count),
    }


def effective_rank(matrix: torch.Tensor) -> float:
    """exp(entropy of the normalised singular values) of a 2-D tensor."""
    singular = torch.linalg.svdvals(matrix.double())
    p = singular / singular.sum()
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


@torch.no_grad()
def dead_relu_fraction(model: nn.Module, task: Task) -> float:
    """Fraction of ReLU units (channels for convolutions) never positive on the validation data."""
    alive: list[torch.Tensor] = []

    def record(_module, _inputs, output):
        units = output.transpose(0, 1).flatten(1) if output.ndim > 2 else output.T
        alive.append((units > 0).any(dim=1))

    hooks = [module.register_forward_hook(record) for module in model.modules() if isinstance(module, nn.ReLU)]
    try:
        task.evaluate(model, split="val")
    finally:
        for hook in hooks:
            hook.remove()
    if not alive:
        return float("nan")
    units = torch.cat(alive)
    return float((~units).float().mean())
