"""The storage contract every backend honours (one shared test suite checks each backend).

- Only the driver process writes. Workers return RunResults; they never open the store.
- One row per run, keyed by RunSpec.run_key. A row whose status is "ok" is immutable: writing
  the same run_key again is a no-op and returns False. A row that is not ok ("failed",
  "diverged") is replaced by a later result for the same key: that is how a retry lands.
- Per-epoch curves belong to their run and are written in the same transaction, so a run is
  either stored whole or not at all; a crash can never leave half a run behind.
- Every backend records a schema version and refuses, with a UserError, data written by a newer
  version of scalinglab; it migrates older versions in place.
- The sweep's configuration is kept alongside the runs, so a report can be rebuilt from the
  store alone.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from scalinglab.spec import RunResult


@dataclass(frozen=True)
class StoredRun:
    run_key: str
    spec: dict[str, Any]
    status: str
    error: str | None
    metrics: dict[str, float]
    worker: str
    finished_at: float


class Store(ABC):
    @abstractmethod
    def put(self, result: RunResult) -> bool:
        """Record a finished run; False (and nothing changes) when an ok row already has its key."""

    @abstractmethod
    def keys(self, statuses: tuple[str, ...] | None = None) -> set[str]:
        """Run keys stored, optionally only those whose status is in `statuses`."""

    @abstractmethod
    def runs(self) -> list[StoredRun]:
        """Every stored run, oldest first."""

    @abstractmethod
    def curves(self) -> list[dict[str, Any]]:
        """Per-epoch records: dicts with run_key, epoch and the measured values."""

    @abstractmethod
    def set_config(self, config: dict[str, Any]) -> None:
        """Keep the sweep configuration that produced these runs (the latest one wins)."""

    @abstractmethod
    def config(self) -> dict[str, Any] | None:
        """The stored sweep configuration, or None."""

    def close(self) -> None:
        """Release the backend's resources."""
