"""Where runs execute. An executor pulls RunSpecs from an iterable only when it has a free worker,
and yields RunResults as they finish; it never touches the store (only the driver writes).

Pulling lazily is what lets the driver claim a run in the store at the moment it starts, so
several drivers on one store share the work instead of racing for it.
"""

from __future__ import annotations

import os
import socket
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from pathlib import Path

from scalinglab.config import ExecutionConfig
from scalinglab.errors import UserError
from scalinglab.spec import RunResult, RunSpec
from scalinglab.sweep.isolation import ChildLimits, WatchedWorker, memory_limit_supported, run_watched

_POLL_SECONDS = 0.2


class Executor(ABC):
    """Runs specs somewhere. Use as a context manager: workers start on enter, stop on exit."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc) -> None:
        pass

    @abstractmethod
    def run(self, specs: Iterable[RunSpec]) -> Iterator[RunResult]:
        """Train every spec; yield each result as soon as it is done (any order).

        `specs` is consumed lazily: the next spec is taken only when a worker is free.
        """


class SerialExecutor(Executor):
    """Runs one after another in this process: the simplest thing, and the reference.

    With a memory limit each run trains in a watched child process instead, so it can be killed.
    """

    def __init__(self, *, max_memory_mb: float | None = None) -> None:
        limits = ChildLimits(torch_threads=_cpu_count(), max_memory_mb=max_memory_mb)
        self._worker = WatchedWorker(limits, name="serial") if max_memory_mb is not None else None

    def __exit__(self, *exc) -> None:
        if self._worker is not None:
            self._worker.close()

    def run(self, specs: Iterable[RunSpec]) -> Iterator[RunResult]:
        from scalinglab.sweep.objective import run_spec

        for spec in specs:
            if self._worker is None:
                result = run_spec(spec)
                result.worker = "serial"
            else:
                result = run_watched(self._worker, spec)
            yield result


class PoolExecutor(Executor):
    """Up to `workers` runs at once on this machine, each worker a watched child process.

    The CPUs are split between workers (torch threads per run = CPUs // workers), so parallel
    runs do not fight over cores. A run whose process dies under it (killed, segfault) is
    started again up to `retries` times before it is recorded as failed.
    """

    def __init__(self, *, workers: int | None = None, retries: int = 1, max_memory_mb: float | None = None) -> None:
        self.workers = workers or _cpu_count()
        limits = ChildLimits(torch_threads=max(1, _cpu_count() // self.workers), max_memory_mb=max_memory_mb)
        self._idle = [WatchedWorker(limits, name=f"pool-{slot}") for slot in range(self.workers)]
        self._retries = retries

    def __exit__(self, *exc) -> None:
        for worker in self._idle:
            worker.close()

    def run(self, specs: Iterable[RunSpec]) -> Iterator[RunResult]:
        from multiprocessing.connection import wait

        upcoming = iter(specs)
        busy: dict[WatchedWorker, int] = {}  # worker -> how many times its spec has started
        try:
            while True:
                while self._idle and (spec := next(upcoming, None)) is not None:
                    self._start(spec, busy, starts=1)
                if not busy:
                    return
                wait([sentinel for worker in busy for sentinel in worker.sentinels], timeout=_POLL_SECONDS)
                for worker in list(busy):
                    result = worker.poll()
                    if result is None:
                        continue
                    starts = busy.pop(worker)
                    self._idle.append(worker)
                    if worker.died_unexpectedly and starts <= self._retries:
                        self._start(result.spec, busy, starts=starts + 1)
                        continue
                    yield result
        finally:
            for worker in busy:
                worker.kill()
                self._idle.append(worker)

    def _start(self, spec: RunSpec, busy: dict[WatchedWorker, int], *, starts: int) -> None:
        worker = self._idle.pop()
        worker.start(spec)
        busy[worker] = starts


class RayExecutor(Executor):
    """Runs as Ray tasks, on a local Ray instance or the cluster at `address` ("auto" or HOST:PORT).

    Ray is imported only here. When this executor starts Ray (or joins a cluster) it ships this very
    scalinglab package to the workers, so a cluster needs torch but not scalinglab installed; when
    the caller already started Ray, the caller's runtime environment decides what workers import. Ray starts a task again when its worker
    process dies (up to `retries` times); inside the task, the run trains in a watched child process
    so the time and memory limits hold there too.
    """

    def __init__(self, *, address: str | None = None, workers: int | None = None, retries: int = 1,
                 max_memory_mb: float | None = None) -> None:
        self._address = address
        self._workers = workers
        self._retries = retries
        self._limits = ChildLimits(torch_threads=1, max_memory_mb=max_memory_mb)
        self._started_ray = False

    def __enter__(self) -> RayExecutor:
        ray = _import_ray()
        if not ray.is_initialized():
            _check_reachable(self._address)
            try:
                ray.init(address=self._address, include_dashboard=False, log_to_driver=False,
                         runtime_env={"py_modules": [_package_dir()]})
            except ConnectionError as error:
                raise UserError(f"execution.address: cannot connect to Ray at '{self._address}': {error}") from None
            self._started_ray = True
        if self._workers is None:
            self._workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        return self

    def __exit__(self, *exc) -> None:
        if self._started_ray:
            _import_ray().shutdown()

    def run(self, specs: Iterable[RunSpec]) -> Iterator[RunResult]:
        ray = _import_ray()
        remote = ray.remote(_train_in_ray_worker).options(num_cpus=1, max_retries=self._retries)
        upcoming = iter(specs)
        in_flight: dict = {}  # object ref -> spec
        try:
            while True:
                while len(in_flight) < self._workers and (spec := next(upcoming, None)) is not None:
                    in_flight[remote.remote(spec, self._limits)] = spec
                if not in_flight:
                    return
                done, _ = ray.wait(list(in_flight), num_returns=1, timeout=_POLL_SECONDS)
                for ref in done:
                    yield _ray_result(ray, ref, in_flight.pop(ref))
        finally:
            for ref in in_flight:
                ray.cancel(ref, force=True)


_ray_worker_child: WatchedWorker | None = None  # one per Ray worker process, kept warm across tasks


def _train_in_ray_worker(spec: RunSpec, limits: ChildLimits) -> RunResult:
    global _ray_worker_child
    if _ray_worker_child is None or _ray_worker_child.limits != limits:
        _ray_worker_child = WatchedWorker(limits, name=f"ray:{socket.gethostname()}:{os.getpid()}")
    return run_watched(_ray_worker_child, spec)


def _ray_result(ray, ref, spec: RunSpec) -> RunResult:
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as error:  # the task's worker died more often than it was retried
        message = " ".join(str(error).split())[:500]
        return RunResult(spec=spec, status="failed", error=f"Ray task failed: {type(error).__name__}: {message}")


def _import_ray():
    try:
        import ray
    except ImportError:
        raise UserError("execution.executor: 'ray' needs Ray installed: pip install 'scalinglab[ray]'") from None
    return ray


def _check_reachable(address: str | None, timeout_seconds: float = 5.0) -> None:
    """Fail fast on a HOST:PORT nobody listens on (ray.init would retry it for minutes)."""
    if address is None or address == "auto" or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise UserError(f"execution.address: '{address}' is not auto or HOST:PORT")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_seconds).close()
    except OSError as error:
        raise UserError(f"execution.address: cannot reach Ray at {address}: {error.strerror or error}") from None


def _package_dir() -> str:
    return str(Path(__file__).resolve().parents[1])


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def make_executor(settings: ExecutionConfig) -> Executor:
    """The executor `settings.executor` names, configured by the rest of `settings`."""
    if settings.max_memory_mb is not None and not memory_limit_supported():
        raise UserError("execution.max_memory_mb: needs Linux (/proc) to watch a run's memory; remove it here")
    if settings.executor == "pool":
        return PoolExecutor(workers=settings.workers, retries=settings.retries, max_memory_mb=settings.max_memory_mb)
    if settings.executor == "ray":
        return RayExecutor(address=settings.address, workers=settings.workers, retries=settings.retries,
                           max_memory_mb=settings.max_memory_mb)
    return SerialExecutor(max_memory_mb=settings.max_memory_mb)
