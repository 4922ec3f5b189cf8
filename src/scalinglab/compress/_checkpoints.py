"""Stand-in for `scalinglab.train.checkpoint` (branch `train`), with exactly the agreed behaviour:
the final weights of every ok run are `OUT/checkpoints/<run_key>.safetensors`, written with
safetensors to a temporary name in the same folder and then `os.replace`d, so a half-written
file is never taken for a checkpoint. The integrator replaces the three functions below with
train/checkpoint.py's; `retrain_checkpoint` is for stores trained before checkpoints existed.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

CHECKPOINT_DIR = "checkpoints"


def checkpoint_path(out_dir: str | Path, run_key: str) -> Path:
    """Where the checkpoint of `run_key` lives under the output folder `out_dir`."""
    return Path(out_dir) / CHECKPOINT_DIR / f"{run_key}.safetensors"


def save_checkpoint(module, path: str | Path) -> None:
    """Write `module`'s state_dict to `path` atomically (contiguous, shared tensors copied apart)."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().contiguous().clone() for name, tensor in module.state_dict().items()}
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    save_file(state, str(temporary))
    os.replace(temporary, path)


def load_checkpoint(path: str | Path) -> dict:
    """The state_dict stored at `path` (name -> tensor), for `module.load_state_dict`."""
    from safetensors.torch import load_file

    return load_file(str(path))


def retrain_checkpoint(spec, out_dir: str | Path) -> Path:
    """Train `spec` again (same seed, same code as `train_one`) and save its checkpoint.

    For stores written before training saved checkpoints. On CPU with the same thread count the
    weights are those of the stored run; the compression's `none` row re-measures them anyway.
    """
    import torch

    from scalinglab.families import get_family
    from scalinglab.train.loop import _fit  # the training loop itself, not a copy of it

    from scalinglab.compress.measure import task_for

    task = task_for(spec)
    torch.manual_seed(spec.seed)
    model = get_family(spec.family).build(spec.size, task.shape, dropout=spec.training.dropout)
    _fit(model, task, spec, [], time.perf_counter())
    path = checkpoint_path(out_dir, spec.run_key)
    save_checkpoint(model, path)
    return path
