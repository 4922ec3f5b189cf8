"""Convolutional network for images: `depth` 3x3 convolutions of `channels` filters each (same
padding, ReLU, optional dropout), a 2x2 max-pool after every convolution but the last while the
map is at least 2 pixels wide, then average pooling to at most 4x4 (so the classifier still
sees where things are; global pooling loses that and learns MNIST far more slowly) and a linear
classifier.

Widening (`channels`) and deepening (`depth`) are separate axes so the two ways of growing the
model can be compared. Images are (channels, height, width); flat feature vectors are refused.

Parameters: sum over layers of (9*c_in*c + c), then c*P*classes + classes, P the pooled pixels.
Forward FLOPs per sample: sum over layers of 2 * 9*c_in*c * H_l*W_l (H_l, W_l the layer's output
map) + 2*c*P*classes; pooling, ReLU and bias adds are left out, as torch's FLOP counter does.
Training FLOPs per sample: 3x forward minus the first convolution's input gradient, which is
never computed because the images need no gradient.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from scalinglab.families.base import Family, TaskShape

KERNEL = 3
POOLED_SIDE = 4


class CNN(Family):
    name = "cnn"
    size_axes = ("channels", "depth")
    default_size = {"channels": 16, "depth": 2}

    def build(self, size: dict[str, Any], task: TaskShape, *, dropout: float = 0.0) -> nn.Module:
        in_channels, _, _ = _image_shape(task)
        channels = size["channels"]
        layers: list[nn.Module] = []
        for pooled in _pool_after_each_layer(size, task):
            layers += [nn.Conv2d(in_channels, channels, KERNEL, padding=KERNEL // 2), nn.ReLU()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            if pooled:
                layers.append(nn.MaxPool2d(2))
            in_channels = channels
        pooled_shape = _pooled_shape(size, task)
        layers += [
            nn.AdaptiveAvgPool2d(pooled_shape),
            nn.Flatten(),
            nn.Linear(channels * pooled_shape[0] * pooled_shape[1], task.n_outputs),
        ]
        return nn.Sequential(*layers)

    def n_params(self, size: dict[str, Any], task: TaskShape) -> int:
        in_channels, _, _ = _image_shape(task)
        c, depth, classes = size["channels"], size["depth"], task.n_outputs
        first = KERNEL * KERNEL * in_channels * c + c
        rest = (depth - 1) * (KERNEL * KERNEL * c * c + c)
        return first + rest + c * _pooled_pixels(size, task) * classes + classes

    def forward_flops_per_sample(self, size: dict[str, Any], task: TaskShape) -> float:
        return sum(_conv_flops(size, task)) + 2.0 * size["channels"] * _pooled_pixels(size, task) * task.n_outputs

    def train_flops_per_sample(self, size: dict[str, Any], task: TaskShape) -> float:
        return 3.0 * self.forward_flops_per_sample(size, task) - _conv_flops(size, task)[0]


def _image_shape(task: TaskShape) -> tuple[int, int, int]:
    if len(task.input_shape) != 3:
        raise ValueError(
            f"the cnn family needs images of shape (channels, height, width); this data has samples of shape {task.input_shape}"
        )
    return task.input_shape


def _pool_after_each_layer(size: dict[str, Any], task: TaskShape) -> list[bool]:
    _, height, width = _image_shape(task)
    pooled = []
    for layer in range(size["depth"]):
        pool = layer < size["depth"] - 1 and min(height, width) >= 2
        pooled.append(pool)
        if pool:
            height, width = height // 2, width // 2
    return pooled


def _pooled_shape(size: dict[str, Any], task: TaskShape) -> tuple[int, int]:
    """(height, width) the classifier reads: the last map, averaged down to at most 4x4."""
    _, height, width = _image_shape(task)
    for pooled in _pool_after_each_layer(size, task):
        if pooled:
            height, width = height // 2, width // 2
    return min(POOLED_SIDE, height), min(POOLED_SIDE, width)


def _pooled_pixels(size: dict[str, Any], task: TaskShape) -> int:
    height, width = _pooled_shape(size, task)
    return height * width


def _conv_flops(size: dict[str, Any], task: TaskShape) -> list[float]:
    """Forward FLOPs of each convolution (its output map is the size before that layer's pool)."""
    in_channels, height, width = _image_shape(task)
    c = size["channels"]
    flops = []
    for pooled in _pool_after_each_layer(size, task):
        flops.append(2.0 * KERNEL * KERNEL * in_channels * c * height * width)
        if pooled:
            height, width = height // 2, width // 2
        in_channels = c
    return flops
