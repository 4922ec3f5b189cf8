"""Helpers the compression tests import (kept out of conftest.py: several conftest modules exist,
so `from conftest import` is ambiguous)."""

from __future__ import annotations

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
