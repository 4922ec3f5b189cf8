"""The storage contract every backend honours (one shared test suite checks each backend).

- Only the driver process writes. Workers return RunResults; they never open the store.
- One row per run, keyed by RunSpec.run_key. A row whose status is "ok" is immutable: writing
  the same run_key again is a no-op and returns False. A row that is not ok ("failed",
  "diverged") is replaced by a later result for the same key: that is how a retry lands.
- Per-epoch curves belong to their run and are written in the same transaction, so a run is
  either stored whole or not at all; a crash can never leave half a run behind.
- Before training a run, a driver claims it. A claim is a lease held by one owner until it
  expires; the owner renews its leases while it works. `claim` succeeds only when the run is
  not stored (or stored as failed and retrying is asked) and no other live owner holds an
  unexpired lease on it. So two drivers on one store never train the same run, and a driver
  that dies (even by SIGKILL) leaves no run "running" for longer than its lease: a claim whose
  owner was a process of this host that no longer exists is free at once. Storing a result
  ends its claim. Every successful claim is appended to an attempt log, which is never edited.
- Every backend records a schema version and refuses, with a UserError, data written by a newer
  version of scalinglab; it migrates older versions in place.
- The sweep's configuration is kept alongside the runs, so a report can be rebuilt from the
  store alone.
"""

from __future__ import annotations

import os
import socket
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from scalinglab.run_spec import RunResult

DEFAULT_LEASE_SECONDS = 120.0


@dataclass(frozen=True)
class StoredRun:
    run_key: str
    spec: dict[str, Any]
    status: str
    error: str | None
    metrics: dict[str, float]
    worker: str
    finished_at: float


@dataclass(frozen=True)
class Claim:
    """A lease on one run: `owner` may train it until `expires_at` (seconds since the epoch)."""

    run_key: str
    owner: str
    claimed_at: float
    expires_at: float


def new_owner_id() -> str:
    """A claim owner name unique to this process: 'HOST:PID:RANDOM'."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_is_gone(owner: str) -> bool:
    """True when `owner` was a process of this host that no longer exists (its claims are stale).

    Owners on other hosts cannot be checked from here; their leases simply run out.
    """
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        return False
    return False


class Store(ABC):
    @abstractmethod
    def put(self, result: RunResult) -> bool:
        """Record a finished run and end its claim; False (and nothing stored) when an ok row
        already has its key."""

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
    def claim(self, run_key: str, owner: str, *, lease_seconds: float, retry_failed: bool = False) -> bool:
        """Try to take the lease on `run_key` for `owner`; True when this owner may train it now."""

    @abstractmethod
    def renew(self, owner: str, *, lease_seconds: float) -> int:
        """Push back the expiry of every lease `owner` holds; the number of leases renewed."""

    @abstractmethod
    def release(self, run_key: str, owner: str) -> None:
        """Give up `owner`'s lease on `run_key` without storing a result."""

    @abstractmethod
    def claims(self) -> list[Claim]:
        """Leases in force now (unexpired, owner not known to be gone): the runs being trained."""

    @abstractmethod
    def attempts(self) -> list[tuple[str, str, float]]:
        """The attempt log, oldest first: (run_key, owner, claimed_at) for every successful claim."""

    @abstractmethod
    def set_config(self, config: dict[str, Any]) -> None:
        """Keep the sweep configuration that produced these runs (the latest one wins)."""

    @abstractmethod
    def config(self) -> dict[str, Any] | None:
        """The stored sweep configuration, or None."""

    def close(self) -> None:
        """Release the backend's resources."""
