"""Data sources. Each returns a `Dataset` of numpy arrays with a fixed train/validation split;
`prepare()` then takes the nested training subset a run asks for and applies preprocessing."""

from __future__ import annotations

import functools
import importlib

from scalinglab.data.base import Dataset, prepare
from scalinglab.errors import UserError
from scalinglab.run_spec import DataSpec

_REGISTRY = {
    "csv": "scalinglab.data.user:load_csv",
    "digits": "scalinglab.data.digits:load_digits",
    "mnist": "scalinglab.data.mnist:load_mnist",
    "npz": "scalinglab.data.user:load_npz",
    "stdlib": "scalinglab.data.text:load_stdlib",
    "teacher": "scalinglab.data.teacher:load_teacher",
    "text": "scalinglab.data.text:load_text",
}


def source_names() -> list[str]:
    return sorted(_REGISTRY)


def load_source(spec: DataSpec) -> Dataset:
    """Load the full dataset that `spec` names (no subsetting, no preprocessing).

    Cached per process: every run of a sweep shares one loaded copy of its source.
    """
    return _load_cached(spec.model_copy(update={"train_size": None, "preprocessing": "none"}))


def training_subset(spec: DataSpec) -> Dataset:
    """The data a run of `spec` trains on, before preprocessing: its first `train_size` training
    examples and the fixed validation set. Raises UserError naming data.train_size when too large."""
    return prepare(load_source(spec), train_size=spec.train_size, preprocessing="none")


@functools.lru_cache(maxsize=4)
def _load_cached(spec: DataSpec) -> Dataset:
    if spec.source not in _REGISTRY:
        raise UserError(f"data.source: unknown source '{spec.source}' (known: {', '.join(source_names())})")
    module_name, function_name = _REGISTRY[spec.source].split(":")
    return getattr(importlib.import_module(module_name), function_name)(spec)


__all__ = ["Dataset", "load_source", "prepare", "source_names", "training_subset"]
