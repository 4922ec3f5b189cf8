"""Model families. Each is one readable file that builds its modules and knows its own
parameter count and analytic FLOPs. Families are imported on first use (they import torch).

`model.family` names a built-in family or a user's plugin as "package.module:ClassName", a
subclass of `Family` importable where the runs execute (see docs/plugins.md): on PYTHONPATH, or in
the working folder. `model.objective` names a user's own training function the same way,
"module:function" (objective mode, run by train.objective), and is resolved here too.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

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
        module = _import_module(module_name)
    except Exception as error:  # ImportError, or the user's module raising while it loads
        detail = " ".join(str(error).split())
        raise UserError(f"{field}: cannot import module '{module_name}' ({type(error).__name__}: {detail})") from None
    target = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise UserError(f"{field}: module '{module_name}' has no '{attribute}'")
        target = getattr(target, part)
    return target


def _import_module(name: str):
    """The module `name`, from sys.path or else from the working folder, which `python -m` puts on
    sys.path but the `scalinglab` script does not: a plugin or objective module beside the sweep
    imports without PYTHONPATH. The folder is appended to sys.path, so it shadows nothing
    installed; pool workers inherit it, Ray workers are sent the folder's modules instead
    (`working_folder_modules`)."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        folder = os.getcwd()
        if error.name != name.partition(".")[0] or folder in {os.path.abspath(entry) for entry in sys.path}:
            raise
        sys.path.append(folder)
        return importlib.import_module(name)


def working_folder_modules() -> list[str]:
    """The files (or package folders) of the top-level modules this process imported from the
    working folder: a plugin's or objective's module and the neighbours it imports, which workers
    on other machines (Ray) must be sent, as they do not share this folder."""
    folder = Path.cwd().resolve()
    found = []
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if "." in name or name == "__main__" or not file:
            continue
        location = Path(file).resolve()
        location = location.parent if location.name == "__init__.py" else location
        if location.parent == folder:
            found.append(str(location))
    return sorted(found)


OBJECTIVE_FIELD = "model.objective"

# Objectives handed over as Python functions, by import path: this process calls them directly,
# so a function defined in a script or a notebook (not importable by name) still runs serially.
_registered_objectives: dict[str, Callable] = {}


def objective_path(objective: Callable | str) -> str:
    """The import path of `objective` ("module:function"). A function is also registered, so
    this process can call it even when its module cannot be imported by name. Raises UserError
    when `objective` is neither a function nor a string."""
    if isinstance(objective, str):
        return objective
    if not callable(objective):
        raise UserError(f"objective: expected a function or 'module:function' (got {objective!r})")
    path = f"{objective.__module__}:{objective.__qualname__}"
    _registered_objectives[path] = objective
    return path


def importable_by_workers(path: str) -> bool:
    """Whether another process can import the objective at `path` by its name."""
    module, _, name = path.partition(":")
    return module != "__main__" and "<locals>" not in name


def resolve_objective(path: str) -> Callable:
    """The function at `path`; UserError naming model.objective when there is none."""
    objective = _registered_objectives.get(path) or import_object(path, field=OBJECTIVE_FIELD)
    if not callable(objective):
        raise UserError(f"{OBJECTIVE_FIELD}: '{path}' is not a function")
    return objective


__all__ = ["Family", "TaskShape", "family_names", "get_family", "import_object", "objective_path", "resolve_objective"]
