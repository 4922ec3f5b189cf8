"""Structured pruning: whole hidden neurons (MLP, the transformer's MLP) or convolution channels
(CNN) are removed by slicing the layers, so the model really has fewer parameters and FLOPs and
runs faster. A unit's importance is the L2 norm of its incoming weights times that of its
outgoing weights; the least important `fraction` of each hidden layer goes (at least one unit
stays). Optionally fine-tuned afterwards."""

from __future__ import annotations

import torch
from torch import nn

from scalinglab.compress.finetune import train_model
from scalinglab.compress.methods.base import PRUNABLE, Compressed, Parent, dense


def prune_structured(parent: Parent, *, fraction: float, finetune_epochs: int) -> Compressed:
    """Remove `fraction` of the hidden units of every hidden layer."""
    model = parent.copy_model()
    if isinstance(model, nn.Sequential):
        _prune_sequential(model, fraction)
    elif hasattr(model, "blocks"):
        for block in model.blocks:
            block.mlp.fc, block.mlp.out_proj = _slice_pair(block.mlp.fc, block.mlp.out_proj, fraction)
    else:
        raise ValueError(f"structured pruning does not know the layers of {type(model).__name__}")
    train_model(model, parent.task, parent.spec, epochs=finetune_epochs)
    return dense(model)


def _prune_sequential(model: nn.Sequential, fraction: float) -> None:
    """Slice each weight layer's outputs and the next weight layer's inputs (MLP and CNN)."""
    positions = [i for i, module in enumerate(model) if isinstance(module, PRUNABLE)]
    for first, second in zip(positions, positions[1:]):
        model[first], model[second] = _slice_pair(model[first], model[second], fraction)


def _slice_pair(producer: nn.Module, consumer: nn.Module, fraction: float) -> tuple[nn.Module, nn.Module]:
    """Keep the most important output units of `producer` and the matching inputs of `consumer`.

    A Linear after a Conv2d (through pooling and flattening) reads each channel as a block of
    `in_features / channels` consecutive inputs; the whole block goes with its channel.
    """
    units = producer.weight.shape[0]
    per_unit = consumer.weight.shape[1] // units  # 1, or pooled pixels per channel
    incoming = producer.weight.detach().flatten(1).norm(dim=1)
    outgoing = consumer.weight.detach().transpose(0, 1).reshape(units, -1).norm(dim=1)
    kept_count = max(1, round(units * (1 - fraction)))
    kept = (incoming * outgoing).topk(kept_count).indices.sort().values
    consumer_inputs = (kept[:, None] * per_unit + torch.arange(per_unit)).reshape(-1)
    return _take(producer, kept, dim=0), _take(consumer, consumer_inputs, dim=1)


def _take(layer: nn.Module, index: torch.Tensor, *, dim: int) -> nn.Module:
    """A new layer of the same kind holding `layer`'s weights at `index` along `dim` (0 outputs, 1 inputs)."""
    weight = layer.weight.detach().index_select(dim, index)
    bias = (
        layer.bias.detach()[index]
        if dim == 0 and layer.bias is not None
        else (layer.bias.detach() if layer.bias is not None else None)
    )
    if isinstance(layer, nn.Linear):
        new = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    else:
        new = nn.Conv2d(
            weight.shape[1],
            weight.shape[0],
            layer.kernel_size,
            stride=layer.stride,
            padding=layer.padding,
            bias=bias is not None,
        )
    with torch.no_grad():
        new.weight.copy_(weight)
        if bias is not None:
            new.bias.copy_(bias)
    return new
