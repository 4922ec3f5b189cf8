"""Training one run: a pure function from RunSpec to RunResult (no globals, no store)."""

from scalinglab.train.loop import train_one

__all__ = ["train_one"]
