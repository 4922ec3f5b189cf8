"""Model families. Each is one readable file that builds its modules and knows its own
parameter count and analytic FLOPs. Families are imported on first use (they import torch)."""

from __future__ import annotations

import importlib

from scalinglab.errors import UserError
from scalinglab.families.base import Family, TaskShape

_REGISTRY = {
    "cnn": "scalinglab.families.cnn:CNN",
    "mlp": "scalinglab.families.mlp:MLP",
    "transformer": "scalinglab.families.transformer:Transformer",
}


def family_names() -> list[str]:
    return sorted(_REGISTRY)


def get_family(name: str) -> Family:
    """The family called `name`; UserError naming the known ones otherwise."""
    if name not in _REGISTRY:
        raise UserError(f"unknown model family '{name}' (known: {', '.join(family_names())})")
    module_name, class_name = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)()


__all__ = ["Family", "TaskShape", "family_names", "get_family"]
