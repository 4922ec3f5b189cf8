"""The functions that apply the compression methods, by the name `[compress] methods` uses (from
the registry, `compress.registry`). Each takes the parent and its settings as keyword arguments
and returns a `Compressed`."""

from __future__ import annotations

from scalinglab.compress.methods.base import Compressed, Parent
from scalinglab.compress.registry import REGISTRY

APPLY = {method.name: method.function() for method in REGISTRY}

__all__ = ["APPLY", "Compressed", "Parent"]
