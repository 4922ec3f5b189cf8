"""Where a run computes: one place that turns `training.device` into a torch device and gives
every measurement the device-aware pieces it needs (autocast, synchronisation, peak memory).

"auto" picks CUDA, then Apple's MPS, then the CPU. Asking for a device that is not there is a
UserError (one line, exit 2) raised before anything is stored. The CUDA and MPS paths follow
torch's documented APIs; the CPU path is the one tested on this project's CI machines.
"""

from __future__ import annotations

import re
from contextlib import nullcontext

import torch

from scalinglab.errors import UserError

DEVICE_SETTINGS = ("auto", "cpu", "cuda", "cuda:N", "mps")
_CUDA_INDEX = re.compile(r"cuda:(\d+)")


def resolve_device(setting: str, *, field: str = "training.device") -> str:
    """The concrete device ("cpu", "cuda:0", "mps", ...) that `setting` names on this machine.

    Raises UserError naming `field` when the setting is unknown or that device is not present.
    """
    if setting == "auto":
        if torch.cuda.is_available():
            return "cuda:0"
        return "mps" if _mps_available() else "cpu"
    if setting == "cpu":
        return "cpu"
    if setting == "mps":
        if not _mps_available():
            raise UserError(f"{field} = 'mps': this machine has no Apple MPS device")
        return "mps"
    if setting == "cuda" or _CUDA_INDEX.fullmatch(setting):
        index = int(setting.partition(":")[2] or 0)
        count = cuda_device_count()
        if index >= count:
            have = f"{count} CUDA device(s)" if count else "no CUDA device"
            raise UserError(f"{field} = '{setting}': this machine has {have}")
        return f"cuda:{index}"
    raise UserError(f"{field} = '{setting}': expected one of {', '.join(DEVICE_SETTINGS)}")


def cuda_device_count() -> int:
    """CUDA devices present (0 without CUDA); what the pool spreads its workers over."""
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def autocast(precision: str, device: str):
    """The autocast context for `precision` on `device`: bf16 autocast, or nothing for fp32."""
    if precision != "bf16":
        return nullcontext()
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)


def synchronize(device: str) -> None:
    """Wait for the device's queued work, so a wall-clock reading covers it (no-op on the CPU)."""
    kind = torch.device(device).type
    if kind == "cuda":
        torch.cuda.synchronize(device)
    elif kind == "mps":
        torch.mps.synchronize()


def is_cuda(device: str) -> bool:
    return torch.device(device).type == "cuda"


def reset_peak_memory(device: str) -> None:
    """Start a fresh peak for `cuda_peak_memory_bytes` (CUDA only)."""
    if is_cuda(device):
        torch.cuda.reset_peak_memory_stats(device)


def cuda_peak_memory_bytes(device: str) -> float:
    """Most bytes the CUDA caching allocator held for tensors since the last reset."""
    return float(torch.cuda.max_memory_allocated(device))


def _mps_available() -> bool:
    return hasattr(torch.backends, "mps") and torch.backends.mps.is_available()
