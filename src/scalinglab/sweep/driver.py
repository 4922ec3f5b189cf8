"""The driver: plan the sweep, skip what the store already holds, run the rest, store each result
the moment it arrives. Rerunning the same sweep therefore trains only what is missing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from scalinglab.config import SweepConfig
from scalinglab.data import load_source, prepare
from scalinglab.spec import RunResult, RunSpec
from scalinglab.store import Store
from scalinglab.sweep.executors import make_executor
from scalinglab.sweep.plan import plan_runs


class SweepProgress(Protocol):
    def started(self, *, total: int, to_run: int) -> None: ...

    def finished(self, result: RunResult) -> None: ...


class _Silent:
    def started(self, *, total: int, to_run: int) -> None:
        pass

    def finished(self, result: RunResult) -> None:
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
    """Train every run of `config` that `store` does not hold yet (and failed ones when
    `retry_failed`), writing each result as it arrives."""
    progress = progress or _Silent()
    specs = plan_runs(config)
    check_data_sizes(specs)
    store.set_config(config.model_dump(mode="json"))
    skip = store.keys(("ok",)) if retry_failed else store.keys()
    to_run = [spec for spec in specs if spec.run_key not in skip]
    outcome = SweepOutcome(planned=len(specs), already_stored=len(specs) - len(to_run))
    progress.started(total=len(specs), to_run=len(to_run))
    for result in make_executor(config.execution).run(to_run):
        store.put(result)
        outcome.trained += 1
        outcome.by_status[result.status] = outcome.by_status.get(result.status, 0) + 1
        progress.finished(result)
    return outcome


def check_data_sizes(specs: list[RunSpec]) -> None:
    """Fail before training anything when a data source or data size cannot be had (UserError)."""
    for data in {spec.data for spec in specs}:
        prepare(load_source(data), train_size=data.train_size, preprocessing="none")
