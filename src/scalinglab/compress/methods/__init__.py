"""The compression methods, by the name `[compress] methods` uses. Each takes the parent and its
settings as keyword arguments and returns a `Compressed`."""

from __future__ import annotations

from scalinglab.compress.methods.base import Compressed, Parent, dense
from scalinglab.compress.methods.clustering import cluster
from scalinglab.compress.methods.distillation import distill
from scalinglab.compress.methods.lowrank import low_rank
from scalinglab.compress.methods.pruning import prune_unstructured
from scalinglab.compress.methods.quantization import quantize
from scalinglab.compress.methods.sharing import share_blocks
from scalinglab.compress.methods.structured import prune_structured


def _unchanged(parent: Parent) -> Compressed:
    """The parent itself, measured like every compressed model."""
    return dense(parent.copy_model())


APPLY = {
    "none": _unchanged,
    "prune": prune_unstructured,
    "structured": prune_structured,
    "quantize": quantize,
    "lowrank": low_rank,
    "cluster": cluster,
    "distill": distill,
    "share": share_blocks,
}

__all__ = ["APPLY", "Compressed", "Parent"]
