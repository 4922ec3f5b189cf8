"""Checkpoints for stores trained before training kept them: each run trained again from its spec
(same seed, the same loop as `train_one`) and saved where training would have saved it."""

from __future__ import annotations

import time
from pathlib import Path

from scalinglab.run_spec import RunSpec


def retrain_checkpoint(spec: RunSpec, out_dir: str | Path) -> Path:
    """Train `spec` again and save its checkpoint under `out_dir`; returns the checkpoint's path.

    On CPU with the same thread count the weights are those of the stored run; the compression's
    `none` row re-measures them anyway.
    """
    from scalinglab.compress.measure_compressed import task_for
    from scalinglab.train.checkpoint import checkpoint_path, save_checkpoint
    from scalinglab.train.loop import build_model, train_module

    task = task_for(spec)
    model = build_model(spec, task.shape)
    train_module(model, task, spec, [], time.perf_counter())
    return save_checkpoint(model, checkpoint_path(out_dir, spec.run_key))
