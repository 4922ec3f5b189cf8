"""Post-training quantization of the Linear layers, run on the quantized kernels.

What runs on this CPU build (torch 2.13, torchao 0.18), checked by hand:
- int8 dynamic: `torch.ao.quantization.quantize_dynamic` (fbgemm int8 GEMM, activations quantized
  per batch). torchao's Int8DynamicActivationInt8WeightConfig also runs on CPU but ~10x slower
  at batch 1, so torch.ao's kernel is the one a CPU user would deploy.
- int8 weight-only: torchao `Int8WeightOnlyConfig` (int8 weights, per-row scales).
- int4 weight-only: torchao's CPU int4 GEMMs need bf16 and CUDA (tile-packed) or the mslk
  package (plain), neither available here; `IntxWeightOnlyConfig(weight_dtype=torch.int4)` runs
  and keeps its int4 values unpacked in int8, so latency is that kernel's and the stored bytes are
  those of the same values packed two per byte (plus its scales and zero points).
Convolutions and the transformer's tied output layer stay fp32 (no library quantizes them here).
"""

from __future__ import annotations

import contextlib
import logging
import warnings

import torch
from torch import nn

from scalinglab.compress.methods.base import Compressed, Parent, nonzero_count
from scalinglab.compress.methods.packing import pack_codes

INT4_OFFSET = 8  # int4 values -8..7 stored as 0..15


def quantize(parent: Parent, *, bits: int, mode: str) -> Compressed:
    """Quantize every Linear layer of the parent to `bits` (8 or 4) with `mode` (dynamic or
    weight_only); raises ValueError for a combination no kernel supports."""
    model = parent.copy_model().eval()
    nonzero, count = nonzero_count(model), sum(p.numel() for p in model.parameters())
    if (bits, mode) == (8, "dynamic"):
        with _library_notices_silenced():
            quantized = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
        return Compressed(quantized, dict(quantized.state_dict()), nonzero, n_params=count)
    with _library_notices_silenced():
        from torchao.quantization import Int8WeightOnlyConfig, IntxWeightOnlyConfig, quantize_

    if (bits, mode) == (8, "weight_only"):
        quantize_(model, Int8WeightOnlyConfig())
        return Compressed(model, dict(model.state_dict()), nonzero, n_params=count)
    if (bits, mode) == (4, "weight_only"):
        quantize_(model, IntxWeightOnlyConfig(weight_dtype=torch.int4))
        return Compressed(model, _int4_packed_state(model), nonzero, n_params=count)
    raise ValueError(f"no {bits}-bit {mode} quantization kernel")


@contextlib.contextmanager
def _library_notices_silenced():
    """Keep the libraries' import-time and deprecation notices off the user's terminal: torch.ao's
    eager quantization announces its move to torchao (its int8 kernel is still the fastest here),
    and torchao reports the CUDA-only extensions it cannot load on a CPU machine."""
    loggers = [logging.getLogger(name) for name in ("torchao", "torch.utils._pytree")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.ao|torchao")
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _int4_packed_state(model: nn.Module) -> dict:
    """The state with every int4 weight's values packed two per byte, beside its qparams."""
    state: dict = {}
    for key, tensor in model.state_dict().items():
        if hasattr(tensor, "qdata"):
            codes = (tensor.qdata.to(torch.int16) + INT4_OFFSET).numpy()
            state[f"{key}.int4"] = pack_codes(codes.reshape(-1), 4)
            state[f"{key}.scale"] = tensor.scale.detach().clone()
            state[f"{key}.zero_point"] = tensor.zero_point.detach().clone()
        else:
            state[key] = tensor
    return state
