"""One run in its own child process, watched from outside: the wall-clock and memory limits are
enforced by killing the child, so a run that hangs, leaks or crashes the interpreter becomes a
recorded failure and never takes its worker (or the sweep) down with it.

Children fork from a forkserver that has already imported torch and the training code, so a
run starts in milliseconds, not in the seconds a fresh interpreter needs.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection

from scalinglab.spec import RunResult, RunSpec

# The loop stops a run at the first epoch end past training.max_seconds and keeps its curves;
# the kill is the backstop for an epoch (or a measurement) that never ends.
KILL_GRACE_FACTOR = 1.25
KILL_GRACE_SECONDS = 1.0
_PARENT_CHECK_SECONDS = 0.5


@dataclass(frozen=True)
class ChildLimits:
    """How a child is watched: torch threads it may use and the private memory it may hold."""

    torch_threads: int = 1
    max_memory_mb: float | None = None


def kill_deadline_seconds(spec: RunSpec) -> float | None:
    """Seconds after start at which a child still running `spec` is killed; None: never."""
    limit = spec.limits.max_seconds
    return None if limit is None else limit * KILL_GRACE_FACTOR + KILL_GRACE_SECONDS


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
            _context.set_forkserver_preload(["torch", "scalinglab.train"])
    return _context


class ChildRun:
    """One spec training in a child process; `poll()` until it returns a RunResult."""

    def __init__(self, spec: RunSpec, limits: ChildLimits, *, worker: str) -> None:
        self.spec = spec
        self.limits = limits
        self.worker = worker
        receiver, sender = _mp_context().Pipe(duplex=False)
        self._receiver = receiver
        self._process = _mp_context().Process(
            target=_child_main, args=(sender, spec, limits.torch_threads, os.getpid()), daemon=True
        )
        self._process.start()
        sender.close()
        self.started = time.monotonic()
        self._deadline = kill_deadline_seconds(spec)
        self.died_unexpectedly = False

    @property
    def sentinels(self) -> list:
        """Objects `multiprocessing.connection.wait` can block on until something happens."""
        return [self._receiver, self._process.sentinel]

    def poll(self) -> RunResult | None:
        """The result once the child is done (or was killed for a limit); None while it runs.

        A child that dies by itself without a result yields a "failed" result and sets
        `died_unexpectedly`, so the caller may train the run again.
        """
        if self._receiver.poll():
            try:
                result = self._receiver.recv()
            except EOFError:
                return self._died()
            self._reap()
            result.worker = self.worker
            return result
        if not self._process.is_alive():
            return self._died()
        return self._check_limits()

    def kill(self) -> None:
        """Stop the child at once (SIGKILL) and wait for it."""
        if self._process.is_alive():
            self._process.kill()
        self._reap()

    def _check_limits(self) -> RunResult | None:
        elapsed = time.monotonic() - self.started
        if self._deadline is not None and elapsed > self._deadline:
            self.kill()
            return self._failed(
                f"killed after {elapsed:.1f} s: over the time limit (training.max_seconds = "
                f"{self.spec.limits.max_seconds:g} s)"
            )
        limit = self.limits.max_memory_mb
        used = private_memory_mb(self._process.pid) if limit is not None else None
        if used is not None and used > limit:
            self.kill()
            return self._failed(f"killed at {used:.0f} MiB: over the memory limit (execution.max_memory_mb = {limit:g})")
        return None

    def _died(self) -> RunResult:
        self._reap()
        self.died_unexpectedly = True
        code = self._process.exitcode
        how = f"signal {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit status {code}"
        return self._failed(f"worker process died ({how}) before returning a result")

    def _failed(self, error: str) -> RunResult:
        return RunResult(spec=self.spec, status="failed", error=error, worker=self.worker)

    def _reap(self) -> None:
        self._process.join(timeout=5)
        self._receiver.close()


def run_in_child(spec: RunSpec, limits: ChildLimits, *, worker: str, poll_seconds: float = 0.1) -> RunResult:
    """Train `spec` in a watched child process and wait for its result (blocking)."""
    from multiprocessing.connection import wait

    child = ChildRun(spec, limits, worker=worker)
    while (result := child.poll()) is None:
        wait(child.sentinels, timeout=poll_seconds)
    return result


def _child_main(sender: Connection, spec: RunSpec, torch_threads: int, parent_pid: int) -> None:
    import torch

    from scalinglab.train import train_one

    _exit_when_orphaned(parent_pid)
    torch.set_num_threads(torch_threads)
    sender.send(train_one(spec))
    sender.close()


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
