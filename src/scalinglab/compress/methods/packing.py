"""Storage formats whose bytes are real: a bitmask sparse format and b-bit packed integer codes."""

from __future__ import annotations

import numpy as np
import torch


def sparse_bitmask(weight: torch.Tensor) -> dict:
    """`weight` as its nonzero values (fp32, row-major order) and a packed 1-bit-per-entry mask:
    4 bytes per kept weight + 1/8 byte per entry (CSR with int32 indices costs 8 per kept one)."""
    flat = weight.detach().flatten()
    mask = flat != 0
    return {
        "values": flat[mask].clone(),
        "mask": torch.from_numpy(np.packbits(mask.numpy())),
        "shape": tuple(weight.shape),  # pickled as ints: a tensor would cost torch.save's per-tensor header
    }


def from_sparse_bitmask(stored: dict) -> torch.Tensor:
    """The dense tensor `sparse_bitmask` stored."""
    shape = stored["shape"]
    count = int(np.prod(shape))
    mask = torch.from_numpy(np.unpackbits(stored["mask"].numpy())[:count].astype(bool))
    dense = torch.zeros(count, dtype=stored["values"].dtype)
    dense[mask] = stored["values"]
    return dense.view(shape)


def pack_codes(codes: np.ndarray, bits: int) -> torch.Tensor:
    """Non-negative integer codes below 2**bits, `bits` bits each, packed into bytes."""
    as_bytes = np.asarray(codes, dtype=np.uint8).reshape(-1, 1)
    bit_planes = np.unpackbits(as_bytes, axis=1)[:, 8 - bits :]  # keep the low `bits` bits
    return torch.from_numpy(np.packbits(bit_planes.reshape(-1)))


def unpack_codes(packed: torch.Tensor, bits: int, count: int) -> np.ndarray:
    """The `count` codes `pack_codes` packed."""
    bit_planes = np.unpackbits(packed.numpy())[: count * bits].reshape(count, bits)
    padded = np.concatenate([np.zeros((count, 8 - bits), dtype=np.uint8), bit_planes], axis=1)
    return np.packbits(padded, axis=1).reshape(-1)
