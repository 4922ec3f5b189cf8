"""What to compress and with which settings: the `[compress]` section of a sweep file, also
given on the command line as `--set METHOD.KEY=VALUE`. Pure pydantic, no torch.

Every setting is a list that is swept: each method runs once per combination of its lists on
every parent run. Invalid values are refused before any work, naming the field.
"""

from __future__ import annotations

import itertools
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationError, model_validator

from scalinglab.errors import UserError
from scalinglab.config_fields import Strict, Sweep, T, apply_override, as_list, first_problem

# The methods in the order they run; "none" measures the parent itself with the same function
# as every compressed model, so the training frontier and the compressed ones are comparable.
METHODS = ("none", "prune", "structured", "quantize", "lowrank", "cluster", "distill", "share")
SUPPORTED_BITS = (4, 8)
SHARING_FAMILIES = ("transformer",)  # families built of identical blocks, which `share` can tie

# One value or a list of values to sweep (Sweep: never empty, a value listed twice kept once).
Listed = Annotated[list[T], BeforeValidator(as_list)]
Epochs = Sweep[Annotated[int, Field(ge=0)]]


class PruneSettings(Strict):
    """Unstructured global magnitude pruning (torch.nn.utils.prune), then optional fine-tuning."""

    sparsity: Sweep[Annotated[float, Field(ge=0, lt=1)]] = [0.5, 0.8, 0.9, 0.95]
    finetune_epochs: Epochs = [0, 2]


class StructuredSettings(Strict):
    """Remove this fraction of hidden neurons (MLP, transformer MLP) or channels (CNN) per layer."""

    fraction: Sweep[Annotated[float, Field(gt=0, lt=1)]] = [0.25, 0.5, 0.75]
    finetune_epochs: Epochs = [0, 2]


class QuantizeSettings(Strict):
    """Post-training quantization of linear layers. int4 exists only weight-only."""

    bits: Sweep[int] = [8, 4]
    mode: Sweep[Literal["dynamic", "weight_only"]] = ["dynamic", "weight_only"]

    @model_validator(mode="after")
    def _bits_supported(self) -> QuantizeSettings:
        for bits in self.bits:
            if bits not in SUPPORTED_BITS:
                raise ValueError(f"bits: {bits} is not supported (choose from {', '.join(map(str, SUPPORTED_BITS))})")
        return self


class LowRankSettings(Strict):
    """Truncated SVD of every linear layer, to a fixed rank or to the rank keeping an energy fraction."""

    rank: Listed[Annotated[int, Field(ge=1)]] = []
    energy: Listed[Annotated[float, Field(gt=0, le=1)]] = [0.5, 0.8, 0.95]
    finetune_epochs: Epochs = [0]


class ClusterSettings(Strict):
    """k-means of each layer's weights to a k-entry codebook (weight sharing within a layer)."""

    clusters: Sweep[Annotated[int, Field(ge=2, le=256)]] = [4, 16, 64]


class DistillSettings(Strict):
    """The family's smaller trained sizes trained again on the largest model's soft targets."""

    temperature: Sweep[Annotated[float, Field(gt=0)]] = [4.0]
    alpha: Sweep[Annotated[float, Field(ge=0, le=1)]] = [0.5, 0.9]


class ShareSettings(Strict):
    """Cross-layer sharing of the transformer's blocks (ALBERT-style), then fine-tuning."""

    finetune_epochs: Epochs = [1]


class CompressConfig(Strict):
    """The `[compress]` section: which methods, and each method's swept settings."""

    methods: list[str] = list(METHODS)
    prune: PruneSettings = PruneSettings()
    structured: StructuredSettings = StructuredSettings()
    quantize: QuantizeSettings = QuantizeSettings()
    lowrank: LowRankSettings = LowRankSettings()
    cluster: ClusterSettings = ClusterSettings()
    distill: DistillSettings = DistillSettings()
    share: ShareSettings = ShareSettings()

    @model_validator(mode="after")
    def _known_methods(self) -> CompressConfig:
        for method in self.methods:
            if method not in METHODS:
                raise ValueError(f"methods: unknown method {method!r} (known: {', '.join(METHODS)})")
        return self

    def settings_of(self, method: str) -> list[dict[str, Any]]:
        """Every combination of `method`'s swept settings, as dicts (one compression each)."""
        if method == "none":
            return [{}]
        if method == "lowrank":
            return [
                {target: value, "finetune_epochs": epochs}
                for target, values in (("rank", self.lowrank.rank), ("energy", self.lowrank.energy))
                for value in values
                for epochs in self.lowrank.finetune_epochs
            ]
        grid = getattr(self, method).model_dump()
        combinations = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
        if method == "quantize":  # no int4 kernel quantizes activations: int4 is weight-only
            combinations = [c for c in combinations if not (c["bits"] == 4 and c["mode"] == "dynamic")]
        return combinations


def compress_config(section: dict[str, Any] | None, overrides: list[str] = (), *, methods: list[str] | None = None) -> CompressConfig:
    """Validate a `[compress]` section (None: defaults) with `--set KEY=VALUE` overrides and an
    explicit method list; UserError naming the field (compress.prune.sparsity) for anything invalid."""
    raw = dict(section or {})
    for override in overrides:
        apply_override(raw, override)
    if methods is not None:
        raw["methods"] = methods
    try:
        return CompressConfig.model_validate(raw)
    except ValidationError as error:
        location, problem = first_problem(error, CompressConfig)
        raise UserError(f"compress.{location}: {problem}" if location else f"compress: {problem}") from None
