"""Training runs: pure functions from RunSpec to RunResult (no globals, no store). `train_one` is
imported on first use, as it imports torch: objective mode (train.objective, train.dispatch)
trains through this package without it."""

from __future__ import annotations

__all__ = ["train_one"]


def __getattr__(name: str):
    if name == "train_one":
        from scalinglab.train.loop import train_one

        return train_one
    raise AttributeError(f"module 'scalinglab.train' has no attribute '{name}'")
