"""The protocol every model family follows, built-in or a user's plugin.

A family turns a size (a dict of its own axes, e.g. {"width": 64, "depth": 2}) and the shape of
the task into a torch module, and knows how many parameters that module has and how many FLOPs
a forward pass costs per sample. FLOPs count a multiply-add as 2, as `torch.utils.flop_counter`
does.

The built-in families give formulas. A plugin needs only `size_axes` and `build(size, task)`:
whatever it leaves out is measured on a module it builds, once per size and task (cached): the
parameters are counted, and the FLOPs of one sample's forward pass, and of its forward plus
backward pass, are counted by `torch.utils.flop_counter.FlopCounterMode`.
"""

from __future__ import annotations

import functools
import inspect
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskShape:
    """What the model must map from and to."""

    kind: Literal["classification", "lm"]
    input_shape: tuple[int, ...]  # one sample, e.g. (64,) features or (1, 8, 8) image; (context,) tokens
    n_outputs: int  # classes, or vocabulary size for a language model


class Family(ABC):
    """Base class of model families; subclass it for a plugin (`model.family = "pkg.mod:Class"`).

    Required: `size_axes` (the names of the size axes) and `build(size, task)`. Optional:
    `default_size` (the value of each axis a sweep leaves out; an axis without one must be
    given), `check_axis_value`, `check_size`, and the formulas `n_params`,
    `forward_flops_per_sample`, `train_flops_per_sample` (measured when absent), and
    `pretrained_state_dict` (the family's own pretrained weights, for `[transfer] source = "family"`).
    `build` may take a keyword `dropout`; one that does not refuses a dropout above 0.
    """

    name: ClassVar[str] = ""
    size_axes: ClassVar[tuple[str, ...]]
    default_size: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is not None and "dropout" not in inspect.signature(build).parameters:
            cls.build = _refusing_dropout(build)

    def check_axis_value(self, axis: str, value: Any) -> None:
        """Raise ValueError when `value` is not a valid value of `axis` (default: positive int)."""
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"must be a positive integer (got {value!r})")

    def check_size(self, size: dict[str, Any]) -> None:
        """Raise ValueError when a combination of axis values cannot be built (default: any can)."""

    @abstractmethod
    def build(self, size: dict[str, Any], task: TaskShape, *, dropout: float = 0.0):
        """A freshly initialised torch.nn.Module mapping a batch of inputs to logits (initialise
        under torch.manual_seed). A language model maps int64 tokens (batch, time) to logits
        (batch, time, vocab)."""

    def n_params(self, size: dict[str, Any], task: TaskShape) -> int:
        """Parameters of `build(size, task)` (frozen ones included, shared ones once). Default: counted on a built module."""
        return _measured(self, size, task).n_params

    def n_params_nonembedding(self, size: dict[str, Any], task: TaskShape) -> int:
        """Parameters outside embedding tables (Kaplan et al.'s N); all of them when there are none.
        Default without an `n_params` formula: counted on a built module, leaving out the
        parameters of its `nn.Embedding` layers."""
        if type(self).n_params is Family.n_params:
            return _measured(self, size, task).n_params_nonembedding
        return self.n_params(size, task)

    def forward_flops_per_sample(self, size: dict[str, Any], task: TaskShape) -> float:
        """FLOPs of one forward pass on one sample (a token for a language model). Default:
        counted by FlopCounterMode on one input (one window of `context` tokens, divided by it)."""
        return _measured(self, size, task).forward_flops_per_sample

    def train_flops_per_sample(self, size: dict[str, Any], task: TaskShape) -> float:
        """FLOPs of forward + backward on one sample. With a forward formula: 3x the forward
        (backward costs twice the forward); without one: counted by FlopCounterMode on a forward
        and a backward pass (which skips the input's gradient, as training does)."""
        if type(self).forward_flops_per_sample is Family.forward_flops_per_sample:
            return _measured(self, size, task).train_flops_per_sample
        return 3.0 * self.forward_flops_per_sample(size, task)

    def pretrained_state_dict(self, size: dict[str, Any], task: TaskShape) -> dict[str, Any] | None:
        """The family's own pretrained weights for `build(size, task)` (name -> torch.Tensor, as
        `state_dict()` names them), or None when it has none for this size (the default: none).
        Used by `[transfer] source = "family"`: each size's pretraining run loads them instead of
        training. May leave names out (e.g. the output layer): those keep `build`'s fresh values.
        Called once when the sweep is planned (to refuse a size without weights before any work)
        and once by the run that loads them."""
        return None


def has_pretrained_weights(family: Family) -> bool:
    """Whether `family` overrides `pretrained_state_dict` (may give weights for some size)."""
    return type(family).pretrained_state_dict is not Family.pretrained_state_dict


def takes_dropout(family: Family) -> bool:
    """Whether `family`'s build takes a `dropout` (one that does not refuses any above 0)."""
    return not getattr(type(family).build, "refuses_dropout", False)


def _refusing_dropout(build):
    @functools.wraps(build)
    def build_without_dropout(self, size, task, *, dropout: float = 0.0):
        if dropout:
            raise ValueError(f"family {type(self).__name__} takes no dropout (its build has no `dropout` argument)")
        return build(self, size, task)

    build_without_dropout.refuses_dropout = True
    return build_without_dropout


@dataclass(frozen=True)
class MeasuredCosts:
    n_params: int
    n_params_nonembedding: int
    forward_flops_per_sample: float
    train_flops_per_sample: float


_measured_cache: dict[tuple, MeasuredCosts] = {}


def _measured(family: Family, size: dict[str, Any], task: TaskShape) -> MeasuredCosts:
    """The costs of `family.build(size, task)` counted on the module, once per (family, size, task)."""
    key = (type(family), tuple(sorted(size.items())), task)
    if key not in _measured_cache:
        _measured_cache[key] = measure_costs(family, size, task)
        logger.debug("measured %s at %s: %s", type(family).__name__, size, _measured_cache[key])
    return _measured_cache[key]


def measure_costs(family: Family, size: dict[str, Any], task: TaskShape) -> MeasuredCosts:
    """Count parameters and per-sample FLOPs on a freshly built module (on the CPU, batch of one).

    The module is built under a forked RNG, so measuring does not change the random stream of
    the training that asked for it.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.random.fork_rng(devices=[]):
        module = family.build(size, task)
    sample, samples = _one_input(task)
    n_params = sum(parameter.numel() for parameter in module.parameters())
    embedding = {
        id(p): p.numel()
        for layer in module.modules()
        if isinstance(layer, torch.nn.Embedding)
        for p in layer.parameters()
    }
    with FlopCounterMode(display=False) as forward:
        with torch.no_grad():
            output = module(sample)
    _check_output_shape(family, size, task, tuple(output.shape))
    with FlopCounterMode(display=False) as forward_backward:
        module(sample).float().sum().backward()
    return MeasuredCosts(
        n_params=n_params,
        n_params_nonembedding=n_params - sum(embedding.values()),
        forward_flops_per_sample=forward.get_total_flops() / samples,
        train_flops_per_sample=forward_backward.get_total_flops() / samples,
    )


def _check_output_shape(family: Family, size: dict[str, Any], task: TaskShape, shape: tuple[int, ...]) -> None:
    """Raise ValueError unless one input gave (1, n_outputs) logits, or (1, context, vocabulary)
    for a language model: a width-sized output once trained as if it had 8 to 32 classes."""
    wanted = (1, *task.input_shape, task.n_outputs) if task.kind == "lm" else (1, task.n_outputs)
    if shape != wanted:
        raise ValueError(
            f"family {type(family).__name__} at {size} maps one input to shape {shape}; the task needs {wanted} "
            f"({task.n_outputs} {'tokens of vocabulary' if task.kind == 'lm' else 'classes'}: build it from task.n_outputs)"
        )


def _one_input(task: TaskShape):
    """One input at batch size 1 and how many samples it holds (tokens for a language model)."""
    import torch

    if task.kind == "lm":
        return torch.zeros((1, *task.input_shape), dtype=torch.int64), task.input_shape[0]
    return torch.zeros((1, *task.input_shape)), 1
