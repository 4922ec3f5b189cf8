"""Results frames drawn from a known L(N, D), shaped like `results_frame` output (no training)."""

from __future__ import annotations

import numpy as np
import pandas as pd

E, A, B, ALPHA, BETA = 0.5, 40.0, 60.0, 0.35, 0.45
FLOPS_PER_PARAM_EXAMPLE = 90.0  # 6 x 15 epochs
WIDTHS = (4, 8, 16, 32, 64, 128)
DATA_SIZES = (250, 500, 1000, 2000)
T0, C_TIME, K_TIME = 2e-4, 1e-8, 1.0  # seconds per example = T0 + C_TIME * N^K_TIME


def params_of(width) -> float:
    return float(64 * width + width * width + 10 * width)


def true_loss(n, d, *, floor: float = E):
    return floor + A * np.asarray(n, float) ** -ALPHA + B * np.asarray(d, float) ** -BETA


def analytic_optimum(compute: float) -> tuple[float, float]:
    """N*, D* minimising the law under C = k N D (Hoffmann et al. 2022, eq. 4)."""
    g = (ALPHA * A / (BETA * B)) ** (1 / (ALPHA + BETA))
    n_opt = g * (compute / FLOPS_PER_PARAM_EXAMPLE) ** (BETA / (ALPHA + BETA))
    return n_opt, compute / (FLOPS_PER_PARAM_EXAMPLE * n_opt)


def truth_frame(
    *,
    seeds=(0, 1, 2),
    noise: float = 0.01,
    floor: float = E,
    widths=WIDTHS,
    data_sizes=DATA_SIZES,
    extra: dict | None = None,
    loss=None,
    random_state: int = 0,
) -> pd.DataFrame:
    """One ok run per width x data size x seed (x every value of `extra`'s columns). Each configuration
    gets one relative offset shared by its seeds plus a small per-seed one, so seeds are not independent
    draws of the law: the configuration is the unit the bootstrap must resample."""
    rng = np.random.default_rng(random_state)
    settings = [dict()] if not extra else [dict(zip(extra, values)) for values in _product(extra)]
    rows = []
    for setting in settings:
        for d in data_sizes:
            for width in widths:
                n = params_of(width)
                value = (loss or (lambda n, d, **s: true_loss(n, d, floor=floor)))(n, d, **setting)
                config_offset = rng.normal(0, noise)
                for seed in seeds:
                    observed = float(value) * (1 + config_offset + rng.normal(0, noise / 5))
                    rows.append(
                        dict(
                            run_key=f"{width}-{d}-{seed}-{setting}",
                            status="ok",
                            error=None,
                            family="mlp",
                            width=width,
                            train_size=d,
                            **setting,
                            seed=seed,
                            worker="",
                            n_params=n,
                            val_loss=observed,
                            train_flops=FLOPS_PER_PARAM_EXAMPLE * n * d,
                            train_seconds=d * (T0 + C_TIME * n**K_TIME),
                        )
                    )
    return pd.DataFrame(rows)


def _product(extra: dict):
    import itertools

    return itertools.product(*extra.values())


def truth_curves(frame: pd.DataFrame, *, data: str = "train_tokens_seen", evaluations: int = 10, noise: float = 0.002):
    """Validation curves of `frame`'s runs (a `curves_frame` shape): `evaluations` evenly spaced
    evaluations per run, each at the tokens seen by then, on the true law times the run's own
    offset (its final point's, shared by all its points) and a little noise per point."""
    rng = np.random.default_rng(0)
    rows = []
    for run in frame.itertuples():
        n, d = run.n_params, getattr(run, data)
        offset = run.val_loss / true_loss(n, d)
        for epoch in range(1, evaluations + 1):
            seen = d * epoch / evaluations
            last = epoch == evaluations
            value = run.val_loss if last else true_loss(n, seen) * offset * (1 + rng.normal(0, noise))
            rows.append({"run_key": run.run_key, "epoch": epoch, "tokens_seen": seen, "val_loss": value})
    return pd.DataFrame(rows)
