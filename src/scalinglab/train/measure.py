"""Cost measurements of a trained model: latency, bytes on disk."""

from __future__ import annotations

import io
import statistics
import time

import torch
from torch import nn


@torch.no_grad()
def latency_ms(model: nn.Module, sample: torch.Tensor, *, repeats: int, warmup: int = 5) -> dict[str, float]:
    """Median and 95th-percentile wall milliseconds of one forward pass on `sample` (batch 1)."""
    model.eval()
    for _ in range(warmup):
        model(sample)
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        model(sample)
        timings.append((time.perf_counter() - start) * 1e3)
    timings.sort()
    return {
        "latency_ms_p50": statistics.median(timings),
        "latency_ms_p95": timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))],
    }


def state_dict_bytes(model: nn.Module) -> int:
    """Bytes of the serialized fp32 state_dict, as `torch.save` would write it to disk."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes
