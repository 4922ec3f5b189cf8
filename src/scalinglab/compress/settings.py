"""What to compress and with which settings: the `[compress]` section of a sweep file, also
given on the command line as `--set METHOD.KEY=VALUE`. Pure pydantic, no torch.

Every setting is a list that is swept: each method runs once per combination of its lists on
every parent run. Invalid values are refused before any work, naming the field.
"""

from __future__ import annotations

import itertools
import tomllib
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from scalinglab.errors import UserError

# The methods in the order they run; "none" measures the parent itself with the same function
# as every compressed model, so the training frontier and the compressed ones are comparable.
METHODS = ("none", "prune", "structured", "quantize", "lowrank", "cluster", "distill")
SUPPORTED_BITS = (4, 8)

Epochs = list[Annotated[int, Field(ge=0)]]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PruneSettings(_Strict):
    """Unstructured global magnitude pruning (torch.nn.utils.prune), then optional fine-tuning."""

    sparsity: list[Annotated[float, Field(ge=0, lt=1)]] = Field([0.5, 0.8, 0.9, 0.95], min_length=1)
    finetune_epochs: Epochs = Field([0, 2], min_length=1)


class StructuredSettings(_Strict):
    """Remove this fraction of hidden neurons (MLP, transformer MLP) or channels (CNN) per layer."""

    fraction: list[Annotated[float, Field(gt=0, lt=1)]] = Field([0.25, 0.5, 0.75], min_length=1)
    finetune_epochs: Epochs = Field([0, 2], min_length=1)


class QuantizeSettings(_Strict):
    """Post-training quantization of linear layers. int4 exists only weight-only."""

    bits: list[int] = Field([8, 4], min_length=1)
    mode: list[Literal["dynamic", "weight_only"]] = Field(["dynamic", "weight_only"], min_length=1)

    @model_validator(mode="after")
    def _bits_supported(self) -> QuantizeSettings:
        for bits in self.bits:
            if bits not in SUPPORTED_BITS:
                raise ValueError(f"bits: {bits} is not supported (choose from {', '.join(map(str, SUPPORTED_BITS))})")
        return self


class LowRankSettings(_Strict):
    """Truncated SVD of every linear layer, to a fixed rank or to the rank keeping an energy fraction."""

    rank: list[Annotated[int, Field(ge=1)]] = []
    energy: list[Annotated[float, Field(gt=0, le=1)]] = [0.5, 0.8, 0.95]
    finetune_epochs: Epochs = Field([0], min_length=1)


class ClusterSettings(_Strict):
    """k-means of each layer's weights to a k-entry codebook (weight sharing within a layer)."""

    clusters: list[Annotated[int, Field(ge=2, le=256)]] = Field([4, 16, 64], min_length=1)


class DistillSettings(_Strict):
    """The family's smaller trained sizes trained again on the largest model's soft targets."""

    temperature: list[Annotated[float, Field(gt=0)]] = Field([4.0], min_length=1)
    alpha: list[Annotated[float, Field(ge=0, le=1)]] = Field([0.5, 0.9], min_length=1)


class CompressConfig(_Strict):
    """The `[compress]` section: which methods, and each method's swept settings."""

    methods: list[str] = list(METHODS)
    prune: PruneSettings = PruneSettings()
    structured: StructuredSettings = StructuredSettings()
    quantize: QuantizeSettings = QuantizeSettings()
    lowrank: LowRankSettings = LowRankSettings()
    cluster: ClusterSettings = ClusterSettings()
    distill: DistillSettings = DistillSettings()

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
    explicit method list; UserError naming the field for anything invalid."""
    raw = dict(section or {})
    for override in overrides:
        _apply_override(raw, override)
    if methods is not None:
        raw["methods"] = methods
    try:
        return CompressConfig.model_validate(raw)
    except ValidationError as error:
        raise UserError(_first_problem(error)) from None


def _apply_override(raw: dict[str, Any], override: str) -> None:
    dotted, sep, text = override.partition("=")
    if not sep or not dotted.strip():
        raise UserError(f"--set {override}: expected METHOD.KEY=VALUE, e.g. prune.sparsity=[0.5,0.9]")
    *parents, leaf = dotted.strip().split(".")
    node = raw
    for key in parents:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise UserError(f"--set {override}: compress.{key} is not a table")
    try:
        value = tomllib.loads(f"v = {text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = text.strip()
    node[leaf] = value if isinstance(value, list) or leaf == "methods" else [value]


def _first_problem(error: ValidationError) -> str:
    """One line: 'compress.FIELD: what is wrong (got VALUE)'."""
    problem = error.errors()[0]
    location = ".".join(str(part) for part in problem["loc"] if not isinstance(part, int))
    message = problem["msg"].removeprefix("Value error, ")
    if problem["type"] == "value_error" and ": " in message:  # a table-level check naming its key
        key, message = message.split(": ", 1)
        location = f"{location}.{key}" if location else key
    if problem["type"] == "extra_forbidden":
        return f"compress.{location}: unknown setting"
    given = problem.get("input")
    shown = f" (got {given!r})" if not isinstance(given, (dict, list)) else ""
    return f"compress.{location}: {message}{shown}"
