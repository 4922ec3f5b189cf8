"""Model families. Each is one readable file that builds its modules and knows its own
parameter count and analytic FLOPs. Families are imported on first use (they import torch).

`model.family` names a built-in family or a user's plugin as "package.module:ClassName", a
subclass of `Family` importable where the runs execute (see docs/plugins.md).
"""

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
    """The built-in family called `name`, or the plugin class `name` = "package.module:ClassName".

    Raises UserError, one line naming `model.family`, for an unknown name, a module that cannot
    be imported, a missing class, or a class that is not a Family subclass with size axes.
    """
    if name in _REGISTRY:
        return import_object(_REGISTRY[name], field="model.family")()
    if ":" not in name:
        raise UserError(
            f"model.family: unknown model family '{name}' (known: {', '.join(family_names())}; "
            "or a plugin as package.module:ClassName)"
        )
    family_class = import_object(name, field="model.family")
    if not (isinstance(family_class, type) and issubclass(family_class, Family)):
        raise UserError(f"model.family: '{name}' is not a subclass of scalinglab.Family")
    axes = getattr(family_class, "size_axes", None)
    if not isinstance(axes, tuple) or not axes or not all(isinstance(axis, str) for axis in axes):
        raise UserError(f"model.family: '{name}' must declare size_axes, a non-empty tuple of axis names")
    try:
        return family_class()
    except TypeError as error:  # abstract build left out, or an __init__ that needs arguments
        raise UserError(f"model.family: cannot create '{name}': {error}") from None


def import_object(path: str, *, field: str):
    """The object at "package.module:attribute"; UserError naming `field` when it cannot be had."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise UserError(f"{field}: '{path}' is not of the form package.module:name")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # ImportError, or the user's module raising while it loads
        detail = " ".join(str(error).split())
        raise UserError(f"{field}: cannot import module '{module_name}' ({type(error).__name__}: {detail})") from None
    target = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise UserError(f"{field}: module '{module_name}' has no '{attribute}'")
        target = getattr(target, part)
    return target


__all__ = ["Family", "TaskShape", "family_names", "get_family", "import_object"]
