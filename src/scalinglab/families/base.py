"""The protocol every model family follows.

A family turns a size (a dict of its own axes, e.g. {"width": 64, "depth": 2}) and the shape of
the task into a torch module, and knows, without building anything, how many parameters that
module has and how many FLOPs a forward pass costs per sample. FLOPs count a multiply-add as 2,
as `torch.utils.flop_counter` does.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Literal


@dataclass(frozen=True)
class TaskShape:
    """What the model must map from and to."""

    kind: Literal["classification", "lm"]
    input_shape: tuple[int, ...]  # one sample, e.g. (64,) features or (1, 8, 8) image
    n_outputs: int  # classes, or vocabulary size for a language model


class Family(ABC):
    name: ClassVar[str]
    size_axes: ClassVar[tuple[str, ...]]
    default_size: ClassVar[dict[str, Any]]  # the value of each axis a sweep leaves out

    def check_axis_value(self, axis: str, value: Any) -> None:
        """Raise ValueError when `value` is not a valid value of `axis` (default: positive int)."""
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"must be a positive integer (got {value!r})")

    def check_size(self, size: dict[str, Any]) -> None:
        """Raise ValueError when a combination of axis values cannot be built (default: any can)."""

    def n_params_nonembedding(self, size: dict[str, Any], task: TaskShape) -> int:
        """Parameters outside embedding tables (Kaplan et al.'s N); all of them when there are none."""
        return self.n_params(size, task)

    @abstractmethod
    def build(self, size: dict[str, Any], task: TaskShape, *, dropout: float = 0.0):
        """A freshly initialised torch.nn.Module (initialise under torch.manual_seed)."""

    @abstractmethod
    def n_params(self, size: dict[str, Any], task: TaskShape) -> int:
        """Trainable parameters of `build(size, task)`, from the formula, not the module."""

    @abstractmethod
    def forward_flops_per_sample(self, size: dict[str, Any], task: TaskShape) -> float:
        """FLOPs of one forward pass on one sample."""

    def train_flops_per_sample(self, size: dict[str, Any], task: TaskShape) -> float:
        """FLOPs of forward + backward on one sample: backward costs twice the forward."""
        return 3.0 * self.forward_flops_per_sample(size, task)
