"""Cross-layer weight sharing for the transformer, ALBERT-style (Lan et al. 2020), applied after
training: every block becomes one shared block, initialised to the mean of the trained blocks'
weights, then fine-tuned. The model keeps its depth and FLOPs but stores one block's weights
(torch.save writes a shared tensor once, so the bytes are real). The token embedding is already
tied to the output layer in this family."""

from __future__ import annotations

import torch
from torch import nn

from scalinglab.compress.finetune import train_model
from scalinglab.compress.methods.base import Compressed, Parent, dense


def share_blocks(parent: Parent, *, finetune_epochs: int) -> Compressed:
    """One block, the mean of the parent's, used at every depth; then fine-tuned."""
    model = parent.copy_model()
    if not isinstance(getattr(model, "blocks", None), nn.ModuleList):
        raise ValueError(f"cross-layer sharing needs a stack of blocks; {type(model).__name__} has none")
    shared = model.blocks[0]
    with torch.no_grad():
        for name, tensor in shared.state_dict().items():
            tensor.copy_(torch.stack([block.state_dict()[name] for block in model.blocks]).mean(dim=0))
    model.blocks = nn.ModuleList([shared] * len(model.blocks))
    train_model(model, parent.task, parent.spec, epochs=finetune_epochs)
    compressed = dense(model)
    compressed.metrics = {"shared_layers": float(len(model.blocks))}
    return compressed
