"""Unstructured global magnitude pruning with torch.nn.utils.prune: the smallest |w| across all
Linear and Conv2d weights are zeroed (biases kept), optionally fine-tuned with the masks held,
then stored in the bitmask sparse format so the bytes reflect the sparsity.

Latency is that of the dense kernels: PyTorch's CPU kernels gain nothing from unstructured
zeros at these sizes, which is what a user deploying this model would see.
"""

from __future__ import annotations

from torch import nn
from torch.nn.utils import prune

from scalinglab.compress.finetune import train_model
from scalinglab.compress.methods.base import Compressed, Parent, nonzero_count, weight_layers
from scalinglab.compress.methods.packing import sparse_bitmask


def prune_unstructured(parent: Parent, *, sparsity: float, finetune_epochs: int) -> Compressed:
    """Zero round(sparsity x total) weights of smallest magnitude over all weight layers."""
    model = parent.copy_model()
    layers = weight_layers(model)
    targets = [(module, "weight") for _, module in layers]
    prune.global_unstructured(targets, pruning_method=prune.L1Unstructured, amount=float(sparsity))
    train_model(model, parent.task, parent.spec, epochs=finetune_epochs)  # the masks stay applied
    for module, name in targets:
        prune.remove(module, name)
    pruned = sum(int((module.weight == 0).sum()) for _, module in layers)
    total = sum(module.weight.numel() for _, module in layers)
    return Compressed(
        model,
        sparse_state(model, [name for name, _ in layers]),
        nonzero_count(model),
        {"sparsity_achieved": pruned / total},
    )


def sparse_state(model: nn.Module, layer_names: list[str]) -> dict:
    """The state_dict with each named layer's weight in the bitmask sparse format."""
    sparse = {f"{name}.weight" for name in layer_names}
    state: dict = {}
    for key, tensor in model.state_dict().items():
        if key in sparse:
            state.update({f"{key}.{part}": value for part, value in sparse_bitmask(tensor).items()})
        else:
            state[key] = tensor
    return state
