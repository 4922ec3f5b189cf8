"""The driver: plan the sweep, claim each missing run in the store the moment a worker is free,
run it, store its result the moment it arrives. Rerunning a sweep therefore trains only what is
missing, and several drivers on one store share the work: a run another driver holds is waited
for, and taken over if that driver dies.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from scalinglab.config import SweepConfig
from scalinglab.data import load_source, prepare
from scalinglab.spec import RunResult, RunSpec
from scalinglab.store import Store
from scalinglab.store.base import new_owner_id
from scalinglab.sweep.executors import Executor, make_executor
from scalinglab.sweep.plan import plan_runs, planned_total

_WAIT_FOR_OTHERS_SECONDS = 1.0


class SweepProgress(Protocol):
    def started(self, *, total: int, to_run: int) -> None: ...

    def running(self, spec: RunSpec) -> None: ...

    def finished(self, result: RunResult) -> None: ...

    def waiting(self, *, held_elsewhere: int) -> None: ...


class _Silent:
    def started(self, *, total: int, to_run: int) -> None:
        pass

    def running(self, spec: RunSpec) -> None:
        pass

    def finished(self, result: RunResult) -> None:
        pass

    def waiting(self, *, held_elsewhere: int) -> None:
        pass


@dataclass
class SweepOutcome:
    planned: int
    already_stored: int
    trained: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def run_sweep(
    config: SweepConfig, store: Store, *, retry_failed: bool = False, progress: SweepProgress | None = None
) -> SweepOutcome:
    """Train every run of `config` that `store` does not hold yet (and failed ones once more when
    `retry_failed`), writing each result as it arrives; return when every run is stored."""
    progress = progress or _Silent()
    check_data_sizes(plan_runs(config))
    with make_executor(config.execution) as executor:  # a cluster that cannot be reached fails before any write
        store.set_config(config.model_dump(mode="json"))
        planned_now = {spec.run_key for spec in plan_runs(config, _val_losses(store))}
        already = len(store.keys(("ok",) if retry_failed else None) & planned_now)
        outcome = SweepOutcome(planned=planned_total(config), already_stored=already)
        progress.started(total=outcome.planned, to_run=max(0, outcome.planned - already))
        _Driver(config, store, retry_failed=retry_failed, progress=progress, outcome=outcome).run(executor)
    return outcome


class _Driver:
    def __init__(self, config: SweepConfig, store: Store, *, retry_failed: bool, progress: SweepProgress,
                 outcome: SweepOutcome) -> None:
        self.config = config
        self.store = store
        self.retry_failed = retry_failed
        self.progress = progress
        self.outcome = outcome
        self.owner = new_owner_id()
        self.lease_seconds = config.execution.lease_seconds
        self.attempted: set[str] = set()  # trained by this driver: a failure is retried once per call
        self.claimed: set[str] = set()

    def run(self, executor: Executor) -> None:
        try:
            with _Heartbeat(self.store, self.owner, self.lease_seconds):
                while todo := self._todo():
                    claimed_before = len(self.claimed)
                    for result in executor.run(self._claim_each(todo)):
                        self._store(result)
                    if len(self.claimed) == claimed_before:  # everything left is being trained elsewhere
                        self.progress.waiting(held_elsewhere=len(todo))
                        time.sleep(_WAIT_FOR_OTHERS_SECONDS)
        finally:
            for run_key in self.claimed - self.attempted:
                self.store.release(run_key, self.owner)

    def _todo(self) -> list[RunSpec]:
        statuses = {run.run_key: run.status for run in self.store.runs()}
        return [spec for spec in plan_runs(self.config, _val_losses(self.store)) if self._needs(spec, statuses)]

    def _needs(self, spec: RunSpec, statuses: dict[str, str]) -> bool:
        status = statuses.get(spec.run_key)
        if status is None:
            return True
        return status != "ok" and self.retry_failed and spec.run_key not in self.attempted

    def _claim_each(self, todo: list[RunSpec]) -> Iterator[RunSpec]:
        for spec in todo:
            if self.store.claim(spec.run_key, self.owner, lease_seconds=self.lease_seconds,
                                retry_failed=self.retry_failed):
                self.claimed.add(spec.run_key)
                self.progress.running(spec)
                yield spec

    def _store(self, result: RunResult) -> None:
        self.store.put(result)
        self.attempted.add(result.run_key)
        self.outcome.trained += 1
        self.outcome.by_status[result.status] = self.outcome.by_status.get(result.status, 0) + 1
        self.progress.finished(result)


class _Heartbeat:
    """Renews this driver's leases from a background thread while the sweep runs."""

    def __init__(self, store: Store, owner: str, lease_seconds: float) -> None:
        self._store, self._owner, self._lease_seconds = store, owner, lease_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="scalinglab-lease-heartbeat", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self._lease_seconds / 4):
            self._store.renew(self._owner, lease_seconds=self._lease_seconds)


def _val_losses(store: Store) -> dict[str, float]:
    """run_key -> validation loss of every stored run; inf for a run that did not finish ok."""
    losses = {}
    for run in store.runs():
        loss = run.metrics.get("val_loss", math.inf) if run.status == "ok" else math.inf
        losses[run.run_key] = loss if math.isfinite(loss) else math.inf
    return losses


def check_data_sizes(specs: list[RunSpec]) -> None:
    """Fail before training anything when a data source or data size cannot be had (UserError)."""
    for data in {spec.data for spec in specs if spec.objective is None}:  # an objective loads its own
        prepare(load_source(data), train_size=data.train_size, preprocessing="none")
