"""Runs tables drawn from a known transfer law (no training), shaped like a [transfer] sweep's runs:
scratch runs of each size on the data law L_N(D) = E_N + A D^-a, and fine-tuned runs whose loss is
the scratch law's at D_F + D_T, with D_T = K D_F^ALPHA N^BETA (Hernandez et al. 2021, "Scaling Laws
for Transfer", eq. 1.1); every loss times (1 + noise) per seed. tests/analysis and
benchmarks/transfer_truth.py share it."""

from __future__ import annotations

import numpy as np
import pandas as pd

K, ALPHA, BETA = 2.0, 0.3, 0.4
DATA_EXPONENT, DATA_SCALE = 0.5, 5.0  # a and A of the scratch data law
SIZES = (1e3, 4e3, 1.6e4, 6.4e4)
SCRATCH_DATA = (50, 100, 200, 400, 800, 1600, 3200, 6400)
FINETUNE_DATA = (50, 100, 200, 400)


def floor_of(n: float) -> float:
    """E_N: the loss a size reaches with unlimited data (larger models reach lower)."""
    return 0.2 + 20.0 * n**-0.35


def scratch_loss(n: float, d) -> np.ndarray:
    return floor_of(n) + DATA_SCALE * np.asarray(d, float) ** -DATA_EXPONENT


def true_transferred(n: float, d_f) -> np.ndarray:
    return K * np.asarray(d_f, float) ** ALPHA * n**BETA


def transfer_truth_runs(*, seeds=(0, 1, 2), noise: float = 0.005, random_state: int = 0) -> pd.DataFrame:
    """One ok run per size x data size x seed of scratch (SCRATCH_DATA) and finetune (FINETUNE_DATA),
    and one pretraining parent per size."""
    rng = np.random.default_rng(random_state)
    rows = []
    for n in SIZES:
        parent = f"pretrain-{n:g}"
        rows.append(_row(parent, n, 100_000, 0.1, None, None))
        for seed in seeds:
            for d in SCRATCH_DATA:
                loss = scratch_loss(n, d) * (1 + rng.normal(0, noise))
                rows.append(_row(f"scratch-{n:g}-{d}-{seed}", n, d, loss, None, None, seed))
            for d in FINETUNE_DATA:
                loss = scratch_loss(n, d + true_transferred(n, d)) * (1 + rng.normal(0, noise))
                rows.append(_row(f"finetune-{n:g}-{d}-{seed}", n, d, loss, "finetune", parent, seed))
    return pd.DataFrame(rows)


def _row(key, n, d, loss, mode, parent, seed=0) -> dict:
    return {
        "run_key": key,
        "status": "ok",
        "n_params": float(n),
        "train_size": d,
        "seed": seed,
        "val_loss": float(loss),
        "transfer_mode": mode,
        "transfer_parent": parent,
    }
