"""Tiny real runs for the sweep tests."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

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


def processes_running(function_name: str) -> list[int]:
    """Pids of this user's processes whose command line names `function_name` (Ray sets it)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if function_name in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def kill_when_seen(
    function_name: str, killed: list[int], *, delay_seconds: float, timeout_seconds: float = 120
) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline and not (pids := processes_running(function_name)):
        time.sleep(0.1)
    if pids:
        time.sleep(delay_seconds)
        os.kill(pids[0], signal.SIGKILL)
        killed.append(pids[0])
