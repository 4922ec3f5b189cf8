"""Every name a benchmark script imports from scalinglab exists: the figures quoted in the docs
are measured by these scripts, and one failed at import for weeks after a name moved
(benchmarks/train_speed.py, AUTO_MAX_RUNS). Read with ast, so no benchmark runs."""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("*.py"))


def _scalinglab_imports(path: Path) -> list[tuple[str, str]]:
    tree = ast.parse(path.read_text())
    return [
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "scalinglab"
        for alias in node.names
    ]


@pytest.mark.parametrize("path", BENCHMARKS, ids=lambda path: path.name)
def test_every_scalinglab_name_a_benchmark_imports_exists(path):
    for module_name, name in _scalinglab_imports(path):
        module = importlib.import_module(module_name)
        assert hasattr(module, name) or importlib.util.find_spec(f"{module_name}.{name}"), (
            f"{path.name}: {module_name} has no {name}"
        )
