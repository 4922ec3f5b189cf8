"""Helpers the compression tests import (kept out of conftest.py: several conftest modules exist,
so `from conftest import` is ambiguous)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from scalinglab.run_spec import DataSpec, RunSpec, TrainingSpec

TINY_COMPRESS_SWEEP = """
name = "tiny compress"
output = "{output}"
seeds = [0]

[model]
family = "mlp"
width = [4, 16]
depth = 2

[data]
source = "digits"
train_size = [300]

[training]
epochs = 2
batch_size = 64
lr = 0.01

[measure]
latency_repeats = 3
"""


def mlp_spec(width: int, *, depth: int = 2, epochs: int = 2, family: str = "mlp", size: dict | None = None) -> RunSpec:
    """A real run on 300 digits that trains in well under a second."""
    return RunSpec(
        family=family,
        size=size or {"width": width, "depth": depth},
        data=DataSpec(source="digits", train_size=300),
        training=TrainingSpec(epochs=epochs, batch_size=64, lr=0.01),
        seed=0,
    )


def trained_parent(spec: RunSpec):
    """`spec` trained with the project's training loop, as a compression Parent."""
    from scalinglab.compress.finetune import train_model
    from scalinglab.compress.measure_compressed import task_for
    from scalinglab.compress.methods import Parent
    from scalinglab.families import get_family

    task = task_for(spec)
    torch.manual_seed(spec.seed)
    model = get_family(spec.family).build(spec.size, task.shape)
    train_model(model, task, spec, epochs=spec.training.epochs)
    return Parent(spec=spec, model=model.eval(), task=task)


# The trained store the compression tests and the compress CLI tests share (each conftest imports
# these two, which registers them there).
@pytest.fixture(scope="session")
def _trained_store(tmp_path_factory) -> Path:
    from scalinglab.config import load_config
    from scalinglab.store import open_store
    from scalinglab.sweeper import run_sweep

    folder = tmp_path_factory.mktemp("trained")
    sweep = folder / "sweep.toml"
    sweep.write_text(TINY_COMPRESS_SWEEP.format(output=folder / "out"))
    config = load_config(sweep)
    store = open_store(config.output)
    try:
        run_sweep(config, store)  # training keeps every run's checkpoint
    finally:
        store.close()
    return config.output


@pytest.fixture
def trained_store(_trained_store: Path, tmp_path: Path) -> Path:
    """A fresh copy of a 2-run store (MLP widths 4 and 16) with checkpoints and no compressions."""
    copy = tmp_path / "out"
    shutil.copytree(_trained_store, copy)
    return copy
