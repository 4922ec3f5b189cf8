"""Low-rank factorization: each Linear layer W (m outputs x n inputs) becomes two layers of
rank r from its truncated SVD, W ~ (U_r S_r^1/2)(S_r^1/2 V_r^T): r(m+n) weights instead of mn
(plus the m biases). r is given, or the smallest rank keeping an `energy` fraction of the sum of
squared singular values. A layer whose factorization would not be smaller is left whole."""

from __future__ import annotations

import torch
from torch import nn

from scalinglab.compress.finetune import train_model
from scalinglab.compress.methods.base import Compressed, Parent, dense, set_submodule


def low_rank(
    parent: Parent, *, finetune_epochs: int, rank: int | None = None, energy: float | None = None
) -> Compressed:
    """Factorize every Linear layer to `rank` (or to `energy`), then optionally fine-tune."""
    model = parent.copy_model()
    factored, ranks = 0, []
    for name, layer in [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]:
        out_features, in_features = layer.weight.shape
        singular = torch.linalg.svdvals(layer.weight.detach())
        r = min(rank, len(singular)) if rank is not None else rank_for_energy(singular, energy)
        ranks.append(r)
        if r * (out_features + in_features) < out_features * in_features:
            set_submodule(model, name, factorize(layer, r))
            factored += 1
    train_model(model, parent.task, parent.spec, epochs=finetune_epochs)
    compressed = dense(model)
    compressed.metrics = {"layers_factored": float(factored), "mean_rank": float(sum(ranks) / len(ranks))}
    return compressed


def rank_for_energy(singular: torch.Tensor, energy: float) -> int:
    """The smallest r whose top-r squared singular values hold at least `energy` of the total."""
    cumulative = torch.cumsum(singular**2, 0) / (singular**2).sum()
    return int(torch.searchsorted(cumulative, torch.tensor(energy, dtype=cumulative.dtype) - 1e-9)) + 1


def factorize(layer: nn.Linear, rank: int) -> nn.Sequential:
    """Two Linear layers (n -> r without bias, r -> m with the original bias) equal to the
    rank-`rank` truncated SVD of `layer`."""
    u, s, vh = torch.linalg.svd(layer.weight.detach(), full_matrices=False)
    root = s[:rank].sqrt()
    down = nn.Linear(layer.in_features, rank, bias=False)
    up = nn.Linear(rank, layer.out_features, bias=layer.bias is not None)
    with torch.no_grad():
        down.weight.copy_(root[:, None] * vh[:rank])
        up.weight.copy_(u[:, :rank] * root)
        if layer.bias is not None:
            up.bias.copy_(layer.bias)
    return nn.Sequential(down, up)
