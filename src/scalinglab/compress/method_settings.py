"""Each compression method's swept settings: its `[compress.METHOD]` table. Pure pydantic, no torch.

Every setting is a list that is swept: `combinations()` is one dict per compression to make.
"""

from __future__ import annotations

import itertools
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from scalinglab.config_fields import Strict, Sweep, T, as_list

SUPPORTED_BITS = (4, 8)

# One value or a list of values to sweep (Sweep: never empty, a value listed twice kept once).
Listed = Annotated[list[T], BeforeValidator(as_list)]
Epochs = Sweep[Annotated[int, Field(ge=0)]]


class MethodSettings(Strict):
    """A method's swept settings; every combination of its lists is one compression."""

    def combinations(self) -> list[dict[str, Any]]:
        """Every combination of the swept lists, as dicts (one compression each)."""
        grid = self.model_dump()
        return [dict(zip(grid, values)) for values in itertools.product(*grid.values())]


class PruneSettings(MethodSettings):
    """Unstructured global magnitude pruning (torch.nn.utils.prune), then optional fine-tuning."""

    sparsity: Sweep[Annotated[float, Field(ge=0, lt=1)]] = [0.5, 0.8, 0.9, 0.95]
    finetune_epochs: Epochs = [0, 2]


class StructuredSettings(MethodSettings):
    """Remove this fraction of hidden neurons (MLP, transformer MLP) or channels (CNN) per layer."""

    fraction: Sweep[Annotated[float, Field(gt=0, lt=1)]] = [0.25, 0.5, 0.75]
    finetune_epochs: Epochs = [0, 2]


class QuantizeSettings(MethodSettings):
    """Post-training quantization of linear layers. int4 exists only weight-only."""

    bits: Sweep[int] = [8, 4]
    mode: Sweep[Literal["dynamic", "weight_only"]] = ["dynamic", "weight_only"]

    @model_validator(mode="after")
    def _bits_supported(self) -> QuantizeSettings:
        for bits in self.bits:
            if bits not in SUPPORTED_BITS:
                raise ValueError(f"bits: {bits} is not supported (choose from {', '.join(map(str, SUPPORTED_BITS))})")
        return self

    def combinations(self) -> list[dict[str, Any]]:
        """Every combination but int4 dynamic: no int4 kernel quantizes activations."""
        return [c for c in super().combinations() if not (c["bits"] == 4 and c["mode"] == "dynamic")]


class LowRankSettings(MethodSettings):
    """Truncated SVD of every linear layer, to a fixed rank or to the rank keeping an energy fraction."""

    rank: Listed[Annotated[int, Field(ge=1)]] = []
    energy: Listed[Annotated[float, Field(gt=0, le=1)]] = [0.5, 0.8, 0.95]
    finetune_epochs: Epochs = [0]

    def combinations(self) -> list[dict[str, Any]]:
        """Each rank and each energy (one target per compression), with each fine-tuning length."""
        return [
            {target: value, "finetune_epochs": epochs}
            for target, values in (("rank", self.rank), ("energy", self.energy))
            for value in values
            for epochs in self.finetune_epochs
        ]


class ClusterSettings(MethodSettings):
    """k-means of each layer's weights to a k-entry codebook (weight sharing within a layer)."""

    clusters: Sweep[Annotated[int, Field(ge=2, le=256)]] = [4, 16, 64]


class DistillSettings(MethodSettings):
    """The family's smaller trained sizes trained again on the largest model's soft targets."""

    temperature: Sweep[Annotated[float, Field(gt=0)]] = [4.0]
    alpha: Sweep[Annotated[float, Field(ge=0, le=1)]] = [0.5, 0.9]


class ShareSettings(MethodSettings):
    """Cross-layer sharing of the transformer's blocks (ALBERT-style), then fine-tuning."""

    finetune_epochs: Epochs = [1]
