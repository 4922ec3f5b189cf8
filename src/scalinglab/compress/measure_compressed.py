"""The measurement of a compressed (or parent) model: quality, latency and throughput by the same
function that measures trained models (`train.measure.measure_quality_and_speed`, the heart of
`measure_module`), plus what only a deployed format can say: its bytes, the numbers it stores, and
the memory its packed or quantized weights really take.
"""

from __future__ import annotations

import functools

import torch
from torch import nn
from torch.utils._pytree import tree_leaves

from scalinglab.run_spec import DataSpec, RunSpec
from scalinglab.train.loop import run_task
from scalinglab.train.measure import TensorMemoryTracker, measure_quality_and_speed, saved_bytes
from scalinglab.train.tasks import Task


def task_for(spec: RunSpec) -> Task:
    """The task `spec` trained on (`train.loop.run_task`), cached: many compressions share a
    parent's data, and only the data and a language model's context shape the task."""
    context = spec.size.get("context")
    return _task(spec.data, context)


@functools.lru_cache(maxsize=16)
def _task(data: DataSpec, context: int | None) -> Task:
    return run_task(data, {"context": context} if context is not None else {})


def measure_model(model: nn.Module, task: Task, *, deployed: dict, latency_repeats: int) -> dict[str, float]:
    """Quality on the validation set and the costs of running `model` as deployed.

    `deployed` is the state the model ships as (sparse values and masks, int codes and a
    codebook, quantized weights...): its torch.save size is `bytes_deployed`, the same
    container the trained runs' `bytes_fp32` is measured in. Returns val_* scores,
    latency_ms_p50/p95 (batch 1), inference_<unit>_per_second, inference_peak_memory_bytes,
    stored_values (numbers in `deployed`) and bytes_deployed.
    """
    model.eval()
    return {
        **measure_quality_and_speed(model, task, latency_repeats=latency_repeats),
        # A copy: the sample is a view of the whole validation set, which would count as allocated.
        "inference_peak_memory_bytes": inference_peak_bytes(model, task.single_input().clone()),
        "stored_values": float(sum(t.numel() for t in _tensors(deployed))),
        "bytes_deployed": float(saved_bytes(deployed)),
    }


@torch.no_grad()
def inference_peak_bytes(model: nn.Module, sample: torch.Tensor) -> float:
    """Bytes of the model's tensors as they sit in memory (quantized and packed ones included)
    plus the peak of tensors alive during one batch-1 forward pass."""
    resident = sum(_tensor_bytes(tensor) for tensor in _tensors(model.state_dict()))
    with TensorMemoryTracker() as tracker:
        model(sample)
    return float(resident + tracker.peak_bytes)


def _tensors(state: dict) -> list[torch.Tensor]:
    """The distinct tensors in a state_dict, also those inside tuples (quantized modules keep packed
    pairs); a tensor shared under several names (tied layers) counts once, as torch.save stores it."""
    seen: dict[int, torch.Tensor] = {}
    for leaf in tree_leaves(dict(state)):
        if isinstance(leaf, torch.Tensor):
            seen.setdefault(id(leaf), leaf)
    return list(seen.values())


def _tensor_bytes(tensor: torch.Tensor) -> int:
    """Storage bytes; a tensor subclass (torchao) is the sum of the plain tensors inside it."""
    if hasattr(tensor, "__tensor_flatten__"):
        names, _ = tensor.__tensor_flatten__()
        return sum(_tensor_bytes(getattr(tensor, name)) for name in names)
    return tensor.numel() * tensor.element_size()
