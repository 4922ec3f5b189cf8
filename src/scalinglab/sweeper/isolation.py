"""Runs in child processes watched from outside: the wall-clock and memory limits are enforced
by killing the child, so a run that hangs, leaks or crashes the interpreter becomes a recorded
failure and never takes the sweep down with it.

Children fork from a forkserver that has already imported torch and the training code, and a
child trains run after run until something kills it, so imports and datasets stay warm.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection

from scalinglab.run_spec import RunResult, RunSpec

READY = "ready"
# A child that has not said READY this long after it was started is stuck (a forkserver that
# hangs, imports that never end): its batch fails rather than waiting forever.
STARTUP_LIMIT_SECONDS = 120.0
_PARENT_CHECK_SECONDS = 0.5


@dataclass(frozen=True)
class ChildLimits:
    """How a child is watched: torch threads it may use and the private memory it may hold."""

    torch_threads: int = 1
    max_memory_mb: float | None = None


def kill_deadline_seconds(batch: list[RunSpec]) -> float | None:
    """Seconds after the child said READY at which it is killed still training `batch`
    (`RunLimits.deadline_seconds`: the grace for its imports and setup is there); None: never."""
    return batch[0].limits.deadline_seconds(len(batch))


def over_time_limit(batch: list[RunSpec]) -> str:
    """Why a run killed at its kill deadline was killed (after 'killed after N s: ')."""
    return batch[0].limits.over_time_limit()


def over_memory_limit(max_memory_mb: float) -> str:
    """Why a run killed for its memory was killed (after 'killed at N MiB: ')."""
    return f"over the memory limit (execution.max_memory_mb = {max_memory_mb:g})"


def private_memory_mb(pid: int) -> float | None:
    """Resident memory of `pid` not shared with other processes, in MiB (None if unreadable).

    Pages a forked child still shares with the forkserver (torch itself) are not its own.
    """
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            text = handle.read()
    except OSError:
        return None
    kib = sum(int(line.split()[1]) for line in text.splitlines() if line.startswith(("Private_Clean", "Private_Dirty")))
    return kib / 1024


def memory_limit_supported() -> bool:
    """Whether this platform lets a parent read a child's private memory (Linux /proc)."""
    return private_memory_mb(os.getpid()) is not None


_context = None


def _mp_context():
    global _context
    if _context is None:
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        _context = multiprocessing.get_context(method)
        if method == "forkserver":
            _context.set_forkserver_preload(["torch", "scalinglab.train", "scalinglab.train.batched"])
    return _context


class WatchedWorker:
    """A child process that trains one batch of runs at a time (often one run), watched from this process.

    The child lives across runs (imports and loaded datasets stay warm) until a limit or a crash
    ends it; the next `start` then brings up a fresh one. Call `poll()` until it returns the results.
    """

    def __init__(self, limits: ChildLimits, *, name: str) -> None:
        self.limits = limits
        self.name = name
        self.batch: list[RunSpec] = []
        self.died_unexpectedly = False
        self.lost_batch = False  # the child died or was killed for memory: its runs may do better apart
        self._process = None
        self._connection: Connection | None = None
        self._ready = False  # the child has said READY: its imports are done

    def start(self, batch: list[RunSpec]) -> None:
        """Begin training `batch` together (the worker must be idle)."""
        if self._process is None or not self._process.is_alive():
            self._spawn()
        self.batch, self.died_unexpectedly, self.lost_batch = list(batch), False, False
        self._started = time.monotonic() if self._ready else None  # else from READY
        self._deadline = kill_deadline_seconds(self.batch)
        self._connection.send(self.batch)

    @property
    def sentinels(self) -> list:
        """Objects `multiprocessing.connection.wait` can block on until something happens."""
        return [self._connection, self._process.sentinel]

    def poll(self) -> list[RunResult] | None:
        """One result per run of the batch once it is done (or was killed for a limit); None while it runs.

        A child that dies by itself mid-run yields "failed" results and sets `died_unexpectedly`,
        so the caller may train the runs again.
        """
        if self._connection.poll():
            try:
                results = self._connection.recv()
            except EOFError:
                return self._died()
            if results == READY:
                self._ready, self._started = True, time.monotonic()
                return None
            for result in results:
                result.worker = self.name
            return results
        if not self._process.is_alive():
            return self._died()
        return self._check_limits()

    def kill(self) -> None:
        """Stop the child at once (SIGKILL) and wait for it."""
        if self._process is not None:
            self._process.kill()
            self._process.join(timeout=5)
            self._connection.close()
            self._process = None

    def close(self) -> None:
        """Let an idle child exit cleanly."""
        if self._process is not None and self._process.is_alive():
            self._connection.send(None)
            self._process.join(timeout=5)
        self.kill()

    def _spawn(self) -> None:
        here, there = _mp_context().Pipe(duplex=True)
        self._process = _mp_context().Process(
            target=_child_main, args=(there, self.limits.torch_threads, os.getpid()), daemon=True
        )
        self._process.start()
        there.close()
        self._connection = here
        self._ready, self._spawned_at = False, time.monotonic()

    def _check_limits(self) -> list[RunResult] | None:
        if self._started is None and time.monotonic() - self._spawned_at > STARTUP_LIMIT_SECONDS:
            self.kill()
            return self._failed(f"worker process did not start within {STARTUP_LIMIT_SECONDS:g} s")
        elapsed = 0.0 if self._started is None else time.monotonic() - self._started
        if self._deadline is not None and elapsed > self._deadline:
            self.kill()
            return self._failed(f"killed after {elapsed:.1f} s: {over_time_limit(self.batch)}")
        limit = self.limits.max_memory_mb
        used = private_memory_mb(self._process.pid) if limit is not None else None
        if used is not None and used > limit:
            self.kill()
            self.lost_batch = True
            return self._failed(f"killed at {used:.0f} MiB: {over_memory_limit(limit)}")
        return None

    def _died(self) -> list[RunResult]:
        self._process.join(timeout=5)
        code = self._process.exitcode
        self.kill()
        self.died_unexpectedly = self.lost_batch = True
        how = f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit status {code}"
        return self._failed(f"worker process died ({how}) before returning a result")

    def _failed(self, error: str) -> list[RunResult]:
        return [RunResult(spec=spec, status="failed", error=error, worker=self.name) for spec in self.batch]


def run_watched(worker: WatchedWorker, batch: list[RunSpec], *, poll_seconds: float = 0.1) -> list[RunResult]:
    """Train `batch` on `worker` and wait for its results (blocking). A batch of several runs whose
    process is killed (memory limit) or dies trains again one run at a time, so one run cannot take
    the others down with it (the pool executor, which does not block, applies the same policy)."""
    from multiprocessing.connection import wait

    worker.start(batch)
    while (results := worker.poll()) is None:
        wait(worker.sentinels, timeout=poll_seconds)
    if worker.lost_batch and len(results) > 1:
        return [alone for result in results for alone in run_watched(worker, [result.spec], poll_seconds=poll_seconds)]
    return results


def _child_main(connection: Connection, torch_threads: int, parent_pid: int) -> None:
    import torch

    from scalinglab.train.dispatch import run_batch

    # Ctrl-C reaches the whole process group; it is the driver's to answer (it stores what finished
    # and says how to resume). A worker dies with the driver, or exits when orphaned.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_when_orphaned(parent_pid)
    torch.set_num_threads(torch_threads)
    connection.send(READY)
    while (batch := connection.recv()) is not None:
        connection.send(run_batch(batch))
    connection.close()


def _exit_when_orphaned(parent_pid: int) -> None:
    """Die with the parent: a killed driver must not leave runs training that nobody will store.

    The parent is named by pid because a forkserver child's own parent is the forkserver.
    """

    def watch() -> None:
        while _is_alive(parent_pid):
            time.sleep(_PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
