"""What every compression method takes (the parent: its spec, trained module and task) and
returns (the model to run, the state it ships as, and how many nonzero weights it keeps)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
from torch import nn

from scalinglab.run_spec import RunSpec
from scalinglab.train.tasks import Task

PRUNABLE = (nn.Linear, nn.Conv2d)  # layers whose weights the methods act on (embeddings excluded)


@dataclass
class Parent:
    """A trained run, rebuilt from its checkpoint. Methods copy `model`, never change it."""

    spec: RunSpec
    model: nn.Module
    task: Task

    def copy_model(self) -> nn.Module:
        return copy.deepcopy(self.model)


@dataclass
class Compressed:
    """A compressed model: `model` runs it (eval mode), `deployed` is the state it is stored as
    (torch.save-able: its size is bytes_deployed), `n_params` the weights and biases it keeps
    (its float parameters when None), `nonzero_params` the nonzero ones among them, `metrics`
    method-specific figures (e.g. the rank kept)."""

    model: nn.Module
    deployed: dict
    nonzero_params: int
    metrics: dict[str, float] = field(default_factory=dict)
    n_params: int | None = None

    def parameter_count(self) -> int:
        return self.n_params if self.n_params is not None else sum(p.numel() for p in self.model.parameters())


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, module) of every Linear and Conv2d layer, in definition order."""
    return [(name, module) for name, module in model.named_modules() if isinstance(module, PRUNABLE)]


def nonzero_count(model: nn.Module) -> int:
    """Nonzero values among the model's parameters."""
    return int(sum(torch.count_nonzero(p.detach()) for p in model.parameters()))


def dense(model: nn.Module) -> Compressed:
    """`model` as it is: stored dense at fp32."""
    return Compressed(model, dict(model.state_dict()), nonzero_count(model))


def unchanged(parent: Parent) -> Compressed:
    """The parent itself (method "none"), measured like every compressed model."""
    return dense(parent.copy_model())


def set_submodule(model: nn.Module, name: str, replacement: nn.Module) -> None:
    """Replace the submodule at dotted `name` (e.g. 'blocks.0.mlp.fc') by `replacement`."""
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, replacement)
