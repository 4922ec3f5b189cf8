"""The compression methods: one record each, the only place a method is declared.

Everything else derives from these records: the `[compress]` settings model and its method list
(`compress.settings`), the CLI's --methods choices, the functions that apply a method
(`compress.methods.APPLY`), and the names and sensitivity knobs the verdict and the report use.
Adding a method is adding one `Method` here (with its settings class and its function). No torch:
a method's function is named here and imported only when it is applied.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from scalinglab.compress.method_settings import (
    ClusterSettings,
    DistillSettings,
    LowRankSettings,
    MethodSettings,
    PruneSettings,
    QuantizeSettings,
    ShareSettings,
    StructuredSettings,
)


@dataclass(frozen=True)
class Method:
    """One compression method.

    name: how `[compress] methods`, `--methods` and the stored rows name it.
    label: how sentences name it ("magnitude pruning").
    apply: "module:function" of the function that makes a `Compressed` from the parent and one
        combination of the settings as keyword arguments (imported when called: it needs torch).
    settings: its `[compress.NAME]` table; None for a method with nothing to set.
    knob: the setting its sensitivity curve runs along; None for a method without one.
    families: the model families it applies to; None for every family.
    """

    name: str
    label: str
    apply: str
    settings: type[MethodSettings] | None = None
    knob: str | None = None
    families: tuple[str, ...] | None = None

    def function(self) -> Callable:
        """The function `apply` names, imported now."""
        module, _, attribute = self.apply.partition(":")
        return getattr(importlib.import_module(module), attribute)

    def applies_to(self, family: str) -> bool:
        """Whether the method can compress a model of `family`."""
        return self.families is None or family in self.families


_METHODS_PACKAGE = "scalinglab.compress.methods"

# In the order they run; "none" measures the parent itself with the same function as every
# compressed model, so the training frontier and the compressed ones are comparable.
REGISTRY: tuple[Method, ...] = (
    Method("none", "trained", f"{_METHODS_PACKAGE}.base:unchanged"),
    Method("prune", "magnitude pruning", f"{_METHODS_PACKAGE}.pruning:prune_unstructured", PruneSettings, "sparsity"),
    Method(
        "structured",
        "structured pruning",
        f"{_METHODS_PACKAGE}.structured:prune_structured",
        StructuredSettings,
        "fraction",
    ),
    Method("quantize", "quantization", f"{_METHODS_PACKAGE}.quantization:quantize", QuantizeSettings, "bits"),
    Method("lowrank", "low-rank SVD", f"{_METHODS_PACKAGE}.lowrank:low_rank", LowRankSettings, "energy"),
    Method("cluster", "weight clustering", f"{_METHODS_PACKAGE}.clustering:cluster", ClusterSettings, "clusters"),
    Method("distill", "distillation", f"{_METHODS_PACKAGE}.distillation:distill", DistillSettings),
    # Only a stack of identical blocks can share them.
    Method(
        "share",
        "cross-layer block sharing",
        f"{_METHODS_PACKAGE}.sharing:share_blocks",
        ShareSettings,
        families=("transformer",),
    ),
)
METHODS = tuple(method.name for method in REGISTRY)
_BY_NAME = {method.name: method for method in REGISTRY}
# Method -> the setting its sensitivity curve runs along, for the methods that have one.
KNOBS = {method.name: method.knob for method in REGISTRY if method.knob is not None}
# Method -> how sentences name it.
METHOD_LABELS = {method.name: method.label for method in REGISTRY}


def method_named(name: str) -> Method:
    """The record of the method called `name`; KeyError for a name no record has (names are
    validated where they are read: `compress.settings.CompressConfig`)."""
    return _BY_NAME[name]


def method_label(name: str) -> str:
    """How sentences name the method `name` ("magnitude pruning"); the name itself when unknown."""
    return METHOD_LABELS.get(name, name)
