"""Runs that lie on known laws, shaped like `results_frame` output, for checking figure data."""

from __future__ import annotations

import numpy as np
import pandas as pd

DATA_SIZES = (100, 300, 1000)
WIDTHS = (8, 16, 32, 64, 128, 256)


def params_of(width: int) -> float:
    return 40.0 * width**1.5


def true_loss(n_params, data_size):
    return 1.0 + 2.0 * data_size**-0.5 + 50.0 * np.asarray(n_params, float) ** -0.4


def flops(n_params, data_size):
    return 6.0 * np.asarray(n_params, float) * data_size


def synthetic_runs(*, seeds=(0,), seed_noise: float = 0.0) -> pd.DataFrame:
    """One ok run per width x data size x seed; seed s shifts the loss by s * seed_noise (relative)."""
    rows = []
    for d in DATA_SIZES:
        for width in WIDTHS:
            n = params_of(width)
            for seed in seeds:
                loss = float(true_loss(n, d)) * (1 + seed * seed_noise)
                rows.append(
                    dict(
                        run_key=f"{width}-{d}-{seed}",
                        status="ok",
                        error=None,
                        family="mlp",
                        width=width,
                        train_size=d,
                        seed=seed,
                        worker="",
                        n_params=n,
                        train_loss=0.8 * loss,
                        val_loss=loss,
                        generalization_gap=0.2 * loss,
                        train_flops=float(flops(n, d)),
                        train_seconds=1e-6 * n * d,
                        latency_ms_p50=0.01 * n**0.5,
                        bytes_fp32=4.0 * n,
                    )
                )
    return pd.DataFrame(rows)
