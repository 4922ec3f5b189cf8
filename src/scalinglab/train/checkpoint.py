"""Final weights of a run, as safetensors (never pickle): `OUT/checkpoints/<run_key>.safetensors`.

A checkpoint is written to a temporary name in the same folder and then `os.replace`d, so a
killed writer never leaves a half-written file under a checkpoint's name, and two drivers that
write the same run leave one whole file. `load_run_module` rebuilds a run's module from its spec and fills it from its checkpoint.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from scalinglab.run_spec import RunSpec

CHECKPOINT_FOLDER = "checkpoints"
AUTO_MAX_BYTES = 100e6  # save_checkpoints left to "auto": models under 100 MB of fp32 weights are kept


def checkpoint_path(out_dir: str | Path, run_key: str) -> Path:
    """Where the final weights of run `run_key` of the sweep stored in `out_dir` live."""
    return checkpoint_file(Path(out_dir) / CHECKPOINT_FOLDER, run_key)


def checkpoint_file(folder: str | Path, run_key: str) -> Path:
    """The file of run `run_key` in a folder of checkpoints."""
    return Path(folder) / f"{run_key}.safetensors"


def save_checkpoint(module: nn.Module, path: str | Path) -> Path:
    """Write `module`'s state_dict to `path` atomically (temporary file, then os.replace); returns `path`.

    Tensors are copied to the CPU and made contiguous; tensors that share storage (a tied
    embedding) are stored once under their first name, as safetensors requires, and
    `load_checkpoint` restores the other names.
    """
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors, aliases = _deduplicated(module.state_dict())
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        save_file(tensors, str(temporary), metadata={f"alias:{name}": source for name, source in aliases.items()})
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """The state_dict stored at `path` (CPU tensors), aliases of shared tensors restored."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    state = load_file(str(path))
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata() or {}
    for key, source in metadata.items():
        if key.startswith("alias:"):
            state[key.removeprefix("alias:")] = state[source]
    return state


def load_run_module(spec: RunSpec, out_dir: str | Path, shape) -> nn.Module:
    """The trained module of the run `spec` of the sweep stored in `out_dir`, in eval mode: built by
    its family for the task `shape` (a TaskShape) and filled from its checkpoint. Raises
    FileNotFoundError when the run has no checkpoint."""
    from scalinglab.families import get_family

    module = get_family(spec.family).build(spec.size, shape, dropout=spec.training.dropout)
    module.load_state_dict(load_checkpoint(checkpoint_path(out_dir, spec.run_key)))
    return module.eval()


def save_run_checkpoint(module: nn.Module, spec: RunSpec) -> Path | None:
    """Save a finished run's weights where its limits say (None when it keeps none): always when
    `limits.checkpoint_max_bytes` is None, else only when the fp32 weights are under that size."""
    folder = spec.limits.checkpoint_dir
    if folder is None:
        return None
    limit = spec.limits.checkpoint_max_bytes
    weight_bytes = sum(4 * t.numel() for t in module.state_dict().values())
    if limit is not None and weight_bytes >= limit:
        return None
    return save_checkpoint(module, checkpoint_file(folder, spec.run_key))


def _deduplicated(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    tensors: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    first_name: dict[tuple[int, int, tuple, tuple], str] = {}
    for name, tensor in state.items():
        identity = (
            tensor.untyped_storage().data_ptr(),
            tensor.storage_offset(),
            tuple(tensor.shape),
            tuple(tensor.stride()),
        )
        if identity in first_name:
            aliases[name] = first_name[identity]
            continue
        first_name[identity] = name
        tensors[name] = tensor.detach().cpu().contiguous()
    return tensors, aliases
