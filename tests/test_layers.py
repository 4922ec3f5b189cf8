"""The package's layers are one-way: no module imports a module of a higher layer, and no modules
import each other in a cycle. Imports are read from the source with ast (function-level, lazy
imports included), so nothing is imported to check them.

A module's layer is that of the longest entry of LAYERS its dotted name starts with. A module may
import any module of a lower layer, and modules of its own layer within its own top-level package
(`scalinglab.train.loop` imports `scalinglab.train.optim`); never a higher layer, nor a sibling
package of its own layer (config and train are both layer 3: neither imports the other). An import
is an edge to the module it names (`from scalinglab.compress.settings import X` depends on
compress.settings, not on everything compress/__init__ imports).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

LAYERS = {
    "scalinglab.errors": 0,
    # leaves: settings and results as plain values, names of metrics, the debug switch
    "scalinglab.debug": 1,
    "scalinglab.metrics": 1,
    "scalinglab.paths": 1,
    "scalinglab.pareto": 1,
    "scalinglab.config_fields": 1,
    "scalinglab.run_spec": 1,
    # what a run is made of and where runs are kept; fitting laws (no torch, see below)
    "scalinglab.data": 2,
    "scalinglab.families": 2,
    "scalinglab.store": 2,
    "scalinglab.fit": 2,
    "scalinglab.compress.settings": 2,  # the [compress] table of the sweep file, read by config
    "scalinglab.compress.registry": 2,  # one record per compression method, from which that table derives
    "scalinglab.compress.method_settings": 2,
    # the sweep file; training one run (or a group); stored runs as a table
    "scalinglab.config": 3,
    "scalinglab.train": 3,
    "scalinglab.runs_table": 3,
    "scalinglab.plan": 3,  # choosing runs from fitted laws (fit only, no torch)
    # running a sweep; analysing its runs
    "scalinglab.sweeper": 4,
    "scalinglab.analysis": 4,
    "scalinglab.compress": 5,
    "scalinglab.recommendation": 6,
    "scalinglab.report": 7,
    "scalinglab.api": 8,
    "scalinglab": 8,  # the package's own __init__: the public names, imported lazily from api and others
    "scalinglab.cli": 9,
    "scalinglab.__main__": 10,  # `python -m scalinglab`: runs the CLI
}

# Known findings outside this layering's own change, each to be removed by whoever fixes it.
KNOWN_CYCLES: set[frozenset[str]] = set()
KNOWN_UPWARD: set[tuple[str, str]] = set()

# fit works on a CSV alone: it never imports torch (nor anything that does, which LAYERS rules out).
NEVER_IMPORTS_TORCH = ("scalinglab.fit", "scalinglab.plan")


def _modules() -> dict[str, Path]:
    modules = {}
    for path in (SRC / "scalinglab").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _imported_names(module: str, path: Path) -> set[str]:
    """Every dotted name `module` imports: `import a.b` gives a.b, `from a import b` gives a.b when
    that is a module, else a (relative imports resolved)."""
    names = set()
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            for alias in node.names:
                names.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return names


def _own_module(name: str) -> str | None:
    """The module of ours that the dotted `name` is (or is inside); None for another package's."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _edges() -> dict[str, set[str]]:
    edges = {}
    for module, path in MODULES.items():
        targets = {_own_module(name) for name in _imported_names(module, path) if name.startswith("scalinglab")}
        edges[module] = {target for target in targets if target and target != module}
    return edges


EDGES = _edges()


def _layer(module: str) -> int:
    owner = max(
        (prefix for prefix in LAYERS if module == prefix or module.startswith(f"{prefix}.")), key=len, default=None
    )
    assert owner is not None, f"{module} is in no layer: add it to LAYERS"
    return LAYERS[owner]


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_every_module_has_a_layer():
    for module in MODULES:
        _layer(module)


def test_no_module_imports_a_higher_layer_or_a_sibling_package_of_its_layer():
    wrong = []
    for module, targets in EDGES.items():
        for target in targets:
            upward = _layer(target) > _layer(module)
            sideways = _layer(target) == _layer(module) and _package(target) != _package(module)
            if (upward or sideways) and (module, target) not in KNOWN_UPWARD:
                wrong.append(f"{module} (layer {_layer(module)}) imports {target} (layer {_layer(target)})")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_cycles():
    cycles = [cycle for cycle in _cycles() if frozenset(cycle) not in KNOWN_CYCLES]
    assert not cycles, "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_the_known_exceptions_are_still_there():
    """An exception nobody needs any more is removed, so it cannot hide a new finding."""
    assert all(frozenset(cycle) in KNOWN_CYCLES for cycle in _cycles()) and len(KNOWN_CYCLES) == len(_cycles())
    assert all(target in EDGES[module] for module, target in KNOWN_UPWARD)


def test_fit_never_imports_torch():
    for module, path in MODULES.items():
        if module.startswith(NEVER_IMPORTS_TORCH):
            torch = {name for name in _imported_names(module, path) if name.split(".")[0] == "torch"}
            assert not torch, f"{module} imports {sorted(torch)}"


def _cycles() -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    components = []

    def visit(module: str) -> None:
        index[module] = lowest[module] = len(index)
        stack.append(module)
        for target in EDGES[module]:
            if target not in index:
                visit(target)
                lowest[module] = min(lowest[module], lowest[target])
            elif target in stack:
                lowest[module] = min(lowest[module], index[target])
        if lowest[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for module in sorted(MODULES):
        if module not in index:
            visit(module)
    return components
