"""A plugin family as a user writes one: size axes and build(), no formulas (see docs/plugins.md).

Imported by name ("residual_plugin:ResidualMLP") by the CLI and its workers in the plugin tests.
"""

from __future__ import annotations

import math

import torch
from torch import nn

import scalinglab


class ResidualMLP(scalinglab.Family):
    """`blocks` residual blocks x + W2 relu(W1 x) of `width` units between an input and an output layer."""

    size_axes = ("width", "blocks")
    default_size = {"blocks": 2}

    def build(self, size, task):
        width = size["width"]
        return nn.Sequential(
            nn.Flatten(),
            nn.Linear(math.prod(task.input_shape), width),
            *(_Residual(width) for _ in range(size["blocks"])),
            nn.Linear(width, task.n_outputs),
        )


class _Residual(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.inner = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width))

    def forward(self, x):
        return x + self.inner(x)


class CountingResidualMLP(ResidualMLP):
    """Counts its builds, to show what is measured once per size."""

    builds = 0

    def build(self, size, task):
        type(self).builds += 1
        return super().build(size, task)


class NotAFamily:
    size_axes = ("width",)


class BrokenAtWidth3(ResidualMLP):
    """A plugin with a bug that only some sizes hit."""

    def build(self, size, task):
        if size["width"] == 3:
            return {}["no such key"]
        return super().build(size, task)


class PretrainedResidualMLP(ResidualMLP):
    """A plugin with pretrained weights of its own (`[transfer] source = "family"`) at width 8 only:
    deterministic (drawn under a fixed seed, apart from the caller's random stream), the body alone,
    so the output layer keeps its freshly built values."""

    def pretrained_state_dict(self, size, task):
        if size["width"] != 8:
            return None
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(1234)
            module = self.build(size, task)
        head = f"{len(module) - 1}."
        return {name: tensor for name, tensor in module.state_dict().items() if not name.startswith(head)}


class WidthOutputs(scalinglab.Family):
    """Outputs `width` logits, not task.n_outputs: a mistake preflight must catch."""

    size_axes = ("width",)

    def build(self, size, task):
        return nn.Sequential(nn.Flatten(), nn.Linear(math.prod(task.input_shape), size["width"]))
