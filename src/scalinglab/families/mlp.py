"""Multi-layer perceptron: `depth` hidden layers of `width` units, ReLU, optional dropout.

Parameters: d_in*w + w  +  (depth-1)*(w*w + w)  +  w*c + c.
Forward FLOPs per sample: 2 * (d_in*w + (depth-1)*w*w + w*c) (matmuls only; biases and ReLUs
are O(w) and ignored, as torch's FLOP counter does).
Training FLOPs per sample: the backward pass computes a weight gradient for every layer (same cost
as its forward matmul) and an input gradient for every layer but the first, whose input needs none:
3*forward - 2*d_in*w.
"""

from __future__ import annotations

import math
from typing import Any

from torch import nn

from scalinglab.families.base import Family, TaskShape


class MLP(Family):
    name = "mlp"
    size_axes = ("width", "depth")
    default_size = {"width": 64, "depth": 2}

    def build(self, size: dict[str, Any], task: TaskShape, *, dropout: float = 0.0) -> nn.Module:
        width, depth = size["width"], size["depth"]
        layers: list[nn.Module] = [nn.Flatten()]
        fan_in = _input_features(task)
        for _ in range(depth):
            layers += [nn.Linear(fan_in, width), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            fan_in = width
        layers.append(nn.Linear(fan_in, task.n_outputs))
        return nn.Sequential(*layers)

    def n_params(self, size: dict[str, Any], task: TaskShape) -> int:
        w, depth, c = size["width"], size["depth"], task.n_outputs
        d_in = _input_features(task)
        return (d_in * w + w) + (depth - 1) * (w * w + w) + (w * c + c)

    def forward_flops_per_sample(self, size: dict[str, Any], task: TaskShape) -> float:
        w, depth, c = size["width"], size["depth"], task.n_outputs
        d_in = _input_features(task)
        return 2.0 * (d_in * w + (depth - 1) * w * w + w * c)

    def train_flops_per_sample(self, size: dict[str, Any], task: TaskShape) -> float:
        return 3.0 * self.forward_flops_per_sample(size, task) - 2.0 * _input_features(task) * size["width"]


def _input_features(task: TaskShape) -> int:
    return math.prod(task.input_shape)
