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
from pathlib import Path
from typing import Protocol

from scalinglab.config import SweepConfig
from scalinglab.run_spec import RunResult, RunSpec
from scalinglab.store import Store
from scalinglab.store.base import new_owner_id
from scalinglab.sweeper.executors import Executor, make_executor
from scalinglab.sweeper.plan import plan_runs, planned_total
from scalinglab.sweeper.preflight import check_data_parallel, preflight

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
    errors: dict[str, int] = field(default_factory=dict)  # each distinct error of a run trained now: how many
    by_others: int = 0  # planned runs another process stored on this store during this call

    def all_failed(self) -> bool:
        """True when runs were trained now and none of them finished ok."""
        return self.trained > 0 and not self.by_status.get("ok")

    def nothing_to_train(self) -> bool:
        """True when every planned run was stored before this call, so none was trained."""
        return self.trained == 0 and self.already_stored >= self.planned

    def summary(self) -> str:
        """One line for a terminal: what was planned, found stored and trained, by status."""
        if self.nothing_to_train():
            return f"nothing to train: {self.already_stored} runs already stored"
        others = f"; {self.by_others} trained meanwhile by another process on this store" if self.by_others else ""
        return (
            f"{self.planned} runs planned, {self.already_stored} already stored, {self.trained} trained"
            + "".join(f", {count} {status}" for status, count in sorted(self.by_status.items()))
            + others
        )

    def error_summary(self) -> str:
        """The distinct errors, most frequent first, e.g. '3x CUDA out of memory; 1x ...'."""
        ranked = sorted(self.errors.items(), key=lambda item: -item[1])
        return "; ".join(f"{count}x {error}" for error, count in ranked)


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep, raised once every finished run is stored and every claim released."""

    def __init__(self, *, stored: int, planned: int) -> None:
        super().__init__(stored, planned)
        self.stored, self.planned = stored, planned

    def __str__(self) -> str:
        return (
            f"interrupted: {self.stored} of {self.planned} runs are stored, none half-written "
            "(a run is stored only once it finished)"
        )


def run_sweep(
    config: SweepConfig, store: Store, *, retry_failed: bool = False, progress: SweepProgress | None = None
) -> SweepOutcome:
    """Train every run of `config` that `store` does not hold yet (and failed ones once more when
    `retry_failed`), writing each result as it arrives; return when every run is stored."""
    progress = progress or _Silent()
    where = check_sweep(config)
    with make_executor(config.execution) as executor:  # a cluster that cannot be reached fails before any write
        check_data_parallel(config, where["device"], executor.resources())  # the Ray cluster's CPUs, known now
        store.set_config(config.stored())
        planned_now = {spec.run_key for spec in plan_runs(config, _val_losses(store))}
        already = len(store.keys(("ok",) if retry_failed else None) & planned_now)
        outcome = SweepOutcome(planned=planned_total(config), already_stored=already)
        progress.started(total=outcome.planned, to_run=max(0, outcome.planned - already))
        try:
            _Driver(config, store, retry_failed=retry_failed, progress=progress, outcome=outcome, where=where).run(
                executor
            )
        except KeyboardInterrupt:  # the driver released its claims on the way out
            stored = len(store.keys(("ok",) if retry_failed else None) & planned_now)
            raise SweepInterrupted(stored=stored, planned=outcome.planned) from None
    # Two drivers on one store share its runs: each said "16 planned, 0 stored, 8 trained" of the 16.
    stored_now = len(store.keys(("ok",) if retry_failed else None) & planned_now)
    outcome.by_others = max(0, stored_now - already - outcome.trained)
    return outcome


def check_sweep(config: SweepConfig) -> dict:
    """Everything about `config` knowable before training: the device first, then `preflight`.
    Returns `where_runs_run(config)`; raises UserError naming the field. Cheap to call again (the
    data it loads is cached), so callers that create a store call it before creating one."""
    where = where_runs_run(config)
    check_data_parallel(config, where["device"])
    preflight(config)
    return where


def where_runs_run(config: SweepConfig) -> dict:
    """The settings of every run that say where it runs and what it leaves behind (RunLimits
    fields, never part of run_key): the concrete device, and the checkpoint folder and size limit.
    Raises UserError when training.device names a device this machine does not have."""
    from scalinglab.train.checkpoint import AUTO_MAX_BYTES, CHECKPOINT_FOLDER
    from scalinglab.train.device import resolve_device

    keep = config.training.save_checkpoints
    return {
        "device": resolve_device(config.training.device),
        "checkpoint_dir": None if keep is False else str(Path(config.output) / CHECKPOINT_FOLDER),
        "checkpoint_max_bytes": AUTO_MAX_BYTES if keep is None else None,
    }


class _Driver:
    def __init__(
        self,
        config: SweepConfig,
        store: Store,
        *,
        retry_failed: bool,
        progress: SweepProgress,
        outcome: SweepOutcome,
        where: dict,
    ) -> None:
        self.config = config
        self.where = where
        self.store = store
        self.retry_failed = retry_failed
        self.progress = progress
        self.outcome = outcome
        self.owner = new_owner_id()
        self.lease_seconds = config.execution.lease_seconds
        self.attempted: set[str] = set()  # trained by this driver: a failure is retried once per call
        self.claimed: set[str] = set()
        self.slots = 1  # the executor's, once run() has it

    def run(self, executor: Executor) -> None:
        self.slots = executor.slots
        try:
            with _Heartbeat(self.store, self.owner, self.lease_seconds):
                while todo := self._todo():
                    claimed_before = len(self.claimed)
                    for result in executor.run(self._claim_each(self._batches(todo, executor.slots))):
                        self._store(result)
                    if len(self.claimed) == claimed_before:  # everything left is being trained elsewhere
                        self.progress.waiting(held_elsewhere=len(todo))
                        time.sleep(_WAIT_FOR_OTHERS_SECONDS)
        finally:
            for run_key in self.claimed - self.attempted:
                self.store.release(run_key, self.owner)

    def _todo(self) -> list[RunSpec]:
        statuses = {run.run_key: run.status for run in self.store.runs()}
        losses = _val_losses(self.store)
        planned = plan_runs(self.config, losses)
        if self.config.plan is not None:  # a planned sweep: this round's runs only (sweeper.planned)
            from scalinglab.sweeper.planned import measured_seconds, next_round

            seconds = measured_seconds(self.store)
            planned = next_round(self.config, planned, statuses, losses, self.slots, seconds).specs
        if self.config.transfer is not None:  # a target run waits for its pretrained parent
            from scalinglab.sweeper.transfer import ready

            planned = ready(planned, statuses)
        return [self._placed(spec) for spec in planned if self._needs(spec, statuses)]

    def _placed(self, spec: RunSpec) -> RunSpec:
        return spec.model_copy(update={"limits": spec.limits.model_copy(update=self.where)})

    def _batches(self, todo: list[RunSpec], slots: int) -> list[list[RunSpec]]:
        """`todo` in groups that train together (execution.batch): "auto" sizes the groups so that
        every one of the executor's `slots` gets work, at most AUTO_MAX_RUNS runs each."""
        from scalinglab.sweeper.grouping import AUTO_MAX_RUNS, plan_batches

        setting = self.config.execution.batch
        # A sweep over data_parallel measures time: its one-worker runs train alone too, as the W > 1
        # runs do, so that their seconds compare (a batched run's own time is a probe's estimate).
        if setting == "off" or (setting == "auto" and len(self.config.training.data_parallel) > 1):
            max_runs = 1
        elif setting == "auto":
            max_runs = min(AUTO_MAX_RUNS, max(1, math.ceil(len(todo) / max(1, slots))))
        else:
            max_runs = setting
        return plan_batches(todo, max_runs)

    def _needs(self, spec: RunSpec, statuses: dict[str, str]) -> bool:
        status = statuses.get(spec.run_key)
        if status is None:
            return True
        return status != "ok" and self.retry_failed and spec.run_key not in self.attempted

    def _claim_each(self, batches: list[list[RunSpec]]) -> Iterator[list[RunSpec]]:
        """Each batch, claimed run by run as a worker comes free: only the runs this driver got."""
        for batch in batches:
            claimed = [
                spec
                for spec in batch
                if self.store.claim(
                    spec.run_key, self.owner, lease_seconds=self.lease_seconds, retry_failed=self.retry_failed
                )
            ]
            for spec in claimed:
                self.claimed.add(spec.run_key)
                self.progress.running(spec)
            if claimed:
                yield claimed

    def _store(self, result: RunResult) -> None:
        self.store.put(result)
        self.attempted.add(result.run_key)
        self.outcome.trained += 1
        self.outcome.by_status[result.status] = self.outcome.by_status.get(result.status, 0) + 1
        if result.status != "ok":
            error = result.error or result.status
            self.outcome.errors[error] = self.outcome.errors.get(error, 0) + 1
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
