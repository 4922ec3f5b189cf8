"""Tiny real runs for the sweep tests."""

from __future__ import annotations

from scalinglab.run_spec import DataSpec, RunLimits, RunResult, RunSpec, TrainingSpec


def tiny_spec(
    width: int = 4,
    *,
    source: str = "digits",
    epochs: int = 1,
    batch_size: int = 50,
    train_size: int = 100,
    max_seconds: float | None = None,
    depth: int = 1,
) -> RunSpec:
    """A real run that trains in well under a second."""
    return RunSpec(
        family="mlp",
        size={"width": width, "depth": depth},
        data=DataSpec(source=source, train_size=train_size),
        training=TrainingSpec(epochs=epochs, batch_size=batch_size, lr=0.01),
        seed=0,
        limits=RunLimits(max_seconds=max_seconds, latency_repeats=1),
    )


def ok_result(spec: RunSpec, *, val_loss: float = 1.0) -> RunResult:
    """A finished result for `spec`, without training it (for seeding a store)."""
    return RunResult(
        spec=spec, status="ok", metrics={"val_loss": val_loss}, curves=[{"epoch": 1, "val_loss": val_loss}]
    )
