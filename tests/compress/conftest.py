"""Trained models for the compression tests: real training with today's train code, checkpoints
saved the agreed way (OUT/checkpoints/<run_key>.safetensors). One torch thread, as in tests/train."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from scalinglab.spec import DataSpec, RunSpec, TrainingSpec

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


@pytest.fixture(scope="session", autouse=True)
def _one_thread(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield
    torch.set_num_threads(threads)


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
    from scalinglab.compress.measure import task_for
    from scalinglab.compress.methods import Parent
    from scalinglab.families import get_family

    task = task_for(spec)
    torch.manual_seed(spec.seed)
    model = get_family(spec.family).build(spec.size, task.shape)
    train_model(model, task, spec, epochs=spec.training.epochs)
    return Parent(spec=spec, model=model.eval(), task=task)


@pytest.fixture(scope="session")
def _trained_store(tmp_path_factory) -> Path:
    from scalinglab.compress._checkpoints import retrain_checkpoint
    from scalinglab.config import load_config
    from scalinglab.store import open_store
    from scalinglab.sweep import run_sweep

    folder = tmp_path_factory.mktemp("trained")
    sweep = folder / "sweep.toml"
    sweep.write_text(TINY_COMPRESS_SWEEP.format(output=folder / "out"))
    config = load_config(sweep)
    store = open_store(config.output)
    try:
        run_sweep(config, store)
        for run in store.runs():
            retrain_checkpoint(RunSpec.model_validate(run.spec), config.output)
    finally:
        store.close()
    return config.output


@pytest.fixture
def trained_store(_trained_store: Path, tmp_path: Path) -> Path:
    """A fresh copy of a 2-run store (MLP widths 4 and 16) with checkpoints and no compressions."""
    copy = tmp_path / "out"
    shutil.copytree(_trained_store, copy)
    return copy
