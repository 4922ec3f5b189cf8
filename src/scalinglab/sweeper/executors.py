"""Where runs execute. An executor pulls work from an iterable only when it has a free worker,
and yields RunResults as they finish; it never touches the store (only the driver writes). An item
of work is one RunSpec or a batch of them (a list of runs that train together, see
sweeper/grouping.py and train/dispatch.py); a batch yields one result per run.

Pulling lazily is what lets the driver claim a run in the store at the moment it starts, so
several drivers on one store share the work instead of racing for it.
"""

from __future__ import annotations

import os
import socket
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from functools import partial
from pathlib import Path

from scalinglab.config import ExecutionConfig
from scalinglab.errors import UserError
from scalinglab.run_spec import RunResult, RunSpec
from scalinglab.sweeper.isolation import ChildLimits, WatchedWorker, memory_limit_supported, run_watched

_POLL_SECONDS = 0.2

Work = RunSpec | Sequence[RunSpec]  # one run, or a batch of runs that train together


def as_batch(item: Work) -> list[RunSpec]:
    """An item of work as a list of runs."""
    return [item] if isinstance(item, RunSpec) else list(item)


class Executor(ABC):
    """Runs specs somewhere. Use as a context manager: workers start on enter, stop on exit."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc) -> None:
        pass

    slots: int = 1  # how many items of work run at once

    def resources(self) -> dict[str, float] | None:
        """What the cluster behind this executor has in all ({"CPU": n, "GPU": m, ...}); None: this machine."""
        return None

    @abstractmethod
    def run(self, specs: Iterable[Work]) -> Iterator[RunResult]:
        """Train every spec (a batch trains together); yield each result as soon as it is done (any order).

        `specs` is consumed lazily: the next item is taken only when a worker is free.
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

    def run(self, specs: Iterable[Work]) -> Iterator[RunResult]:
        from scalinglab.train.dispatch import run_batch

        for item in specs:
            if self._worker is None:
                results = run_batch(as_batch(item))
                for result in results:
                    result.worker = "serial"
            else:
                results = run_watched(self._worker, as_batch(item))  # a lost batch trains again run by run
            yield from results


class PoolExecutor(Executor):
    """Up to `workers` runs at once on this machine, each worker a watched child process.

    The CPUs are split between workers (torch threads per run = CPUs // workers), so parallel
    runs do not fight over cores; with several GPUs, runs on CUDA go to worker i's GPU i mod
    count. A run whose process dies under it (killed, segfault) is started again up to `retries`
    times before it is recorded as failed; a batch whose process dies or breaks the memory limit
    is split, and its runs train again one at a time, so one run cannot take others down with it.
    """

    def __init__(self, *, workers: int | None = None, retries: int = 1, max_memory_mb: float | None = None) -> None:
        self.workers = self.slots = workers or _cpu_count()
        limits = ChildLimits(torch_threads=max(1, _cpu_count() // self.workers), max_memory_mb=max_memory_mb)
        self._idle = [WatchedWorker(limits, name=f"pool-{slot}") for slot in range(self.workers)]
        self._gpu_of = {worker.name: slot for slot, worker in enumerate(self._idle)}
        self._retries = retries

    def __exit__(self, *exc) -> None:
        for worker in self._idle:
            worker.close()

    def run(self, specs: Iterable[Work]) -> Iterator[RunResult]:
        from multiprocessing.connection import wait

        upcoming = (as_batch(item) for item in specs)
        split: list[list[RunSpec]] = []  # runs of a lost batch, to train one at a time before anything new
        busy: dict[WatchedWorker, int] = {}  # worker -> how many times its batch has started
        try:
            while True:
                while self._idle and (batch := split.pop(0) if split else next(upcoming, None)) is not None:
                    self._start(batch, busy, starts=1)
                if not busy:
                    return
                wait([sentinel for worker in busy for sentinel in worker.sentinels], timeout=_POLL_SECONDS)
                for worker in list(busy):
                    results = worker.poll()
                    if results is None:
                        continue
                    starts = busy.pop(worker)
                    self._idle.append(worker)
                    if worker.lost_batch and len(results) > 1:
                        split.extend([result.spec] for result in results)
                        continue
                    if worker.died_unexpectedly and starts <= self._retries:
                        self._start([result.spec for result in results], busy, starts=starts + 1)
                        continue
                    yield from results
        finally:
            for worker in busy:
                worker.kill()
                self._idle.append(worker)

    def _start(self, batch: list[RunSpec], busy: dict[WatchedWorker, int], *, starts: int) -> None:
        worker = self._idle.pop()
        worker.start(on_worker_gpu(batch, self._gpu_of[worker.name]))
        busy[worker] = starts


class RayExecutor(Executor):
    """Runs as Ray tasks, on a local Ray instance or the cluster at `address` ("auto" or HOST:PORT).

    Ray is imported only here and in sweeper.ray_data_parallel. When this executor starts Ray (or joins a cluster) it ships this very
    scalinglab package to the workers, with the user's modules imported from the working folder
    (a plugin family or objective), so a cluster needs torch but not scalinglab installed; when
    the caller already started Ray, the caller's runtime environment decides what workers import. Ray starts a task again when its worker
    process dies (up to `retries` times); inside the task, the run trains in a watched child process
    so the time and memory limits hold there too, and a batch killed there trains again one run at a time.
    A data-parallel run (`training.data_parallel` = W > 1) is different: its task asks for no CPU and
    only coordinates W Ray actors of one placement group, one CPU (GPU) each, on one node or several
    (sweeper.ray_data_parallel), which it holds to the same time and memory limits.
    """

    def __init__(
        self,
        *,
        address: str | None = None,
        workers: int | None = None,
        retries: int = 1,
        max_memory_mb: float | None = None,
    ) -> None:
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
                ray.init(
                    address=self._address,
                    include_dashboard=False,
                    log_to_driver=False,
                    runtime_env={"py_modules": _modules_for_workers()},
                )
            except ConnectionError as error:
                raise UserError(f"execution.address: cannot connect to Ray at '{self._address}': {error}") from None
            self._started_ray = True
        if self._workers is None:
            self._workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.slots = self._workers
        return self

    def resources(self) -> dict[str, float]:
        return dict(_import_ray().cluster_resources())

    def __exit__(self, *exc) -> None:
        if self._started_ray:
            _import_ray().shutdown()

    def run(self, specs: Iterable[Work]) -> Iterator[RunResult]:
        from scalinglab.train.dispatch import is_data_parallel

        ray = _import_ray()
        task = ray.remote(_train_in_ray_worker)
        upcoming = (as_batch(item) for item in specs)
        in_flight: dict = {}  # object ref -> batch
        try:
            while True:
                while len(in_flight) < self._workers and (batch := next(upcoming, None)) is not None:
                    if is_data_parallel(batch):  # its task only coordinates: the workers' actors hold the CPUs
                        remote = task.options(num_cpus=0, max_retries=self._retries)
                    else:  # a run on CUDA asks Ray for a GPU: Ray then sets CUDA_VISIBLE_DEVICES, so it is cuda:0 there
                        gpus = 1 if batch[0].limits.device.startswith("cuda") else 0
                        batch = [_on_device(spec, "cuda:0") for spec in batch] if gpus else batch
                        remote = task.options(num_cpus=1, num_gpus=gpus, max_retries=self._retries)
                    in_flight[remote.remote(batch, self._limits)] = batch
                if not in_flight:
                    return
                done, _ = ray.wait(list(in_flight), num_returns=1, timeout=_POLL_SECONDS)
                for ref in done:
                    yield from _ray_results(ray, ref, in_flight.pop(ref))
        finally:
            for ref in in_flight:
                ray.cancel(ref, force=True)


_ray_worker_child: WatchedWorker | None = None  # one per Ray worker process, kept warm across tasks


def _train_in_ray_worker(batch: list[RunSpec], limits: ChildLimits) -> list[RunResult]:
    from scalinglab.train.dispatch import is_data_parallel, run_batch

    global _ray_worker_child
    if is_data_parallel(batch):  # W Ray actors train it (sweeper.ray_data_parallel), limited by their own timeouts
        from scalinglab.sweeper.ray_data_parallel import launch_on_ray_actors

        return run_batch(batch, launch_workers=partial(launch_on_ray_actors, max_memory_mb=limits.max_memory_mb))
    if _ray_worker_child is None or _ray_worker_child.limits != limits:
        _ray_worker_child = WatchedWorker(limits, name=f"ray:{socket.gethostname()}:{os.getpid()}")
    return run_watched(_ray_worker_child, batch)


def _ray_results(ray, ref, batch: list[RunSpec]) -> list[RunResult]:
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as error:  # the task's worker died more often than it was retried
        message = " ".join(str(error).split())[:500]
        return [
            RunResult(spec=spec, status="failed", error=f"Ray task failed: {type(error).__name__}: {message}")
            for spec in batch
        ]


def on_worker_gpu(batch: list[RunSpec], slot: int) -> list[RunSpec]:
    """`batch` moved to GPU `slot` mod the GPUs present when its runs are on CUDA and there are
    several GPUs (the stored device then says which one it ran on); unchanged otherwise."""
    if not batch[0].limits.device.startswith("cuda"):
        return batch
    from scalinglab.train.device import cuda_device_count

    count = cuda_device_count()
    return [_on_device(spec, f"cuda:{slot % count}") for spec in batch] if count > 1 else batch


def _on_device(spec: RunSpec, device: str) -> RunSpec:
    return spec.model_copy(update={"limits": spec.limits.model_copy(update={"device": device})})


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


def _modules_for_workers() -> list[str]:
    """This scalinglab package and the user's modules from the working folder (a plugin family or
    objective beside the sweep), which Ray workers cannot import from a folder they do not share."""
    from scalinglab.families import working_folder_modules

    package = _package_dir()
    return [package, *(module for module in working_folder_modules() if module != package)]


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def make_executor(settings: ExecutionConfig) -> Executor:
    """The executor `settings.executor` names, configured by the rest of `settings`."""
    if settings.max_memory_mb is not None and not memory_limit_supported():
        raise UserError("execution.max_memory_mb: needs Linux (/proc) to watch a run's memory; remove it here")
    if settings.executor == "pool":
        return PoolExecutor(workers=settings.workers, retries=settings.retries, max_memory_mb=settings.max_memory_mb)
    if settings.executor == "ray":
        return RayExecutor(
            address=settings.address,
            workers=settings.workers,
            retries=settings.retries,
            max_memory_mb=settings.max_memory_mb,
        )
    return SerialExecutor(max_memory_mb=settings.max_memory_mb)
