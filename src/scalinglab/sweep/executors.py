"""Where runs execute. An executor takes RunSpecs and yields RunResults as they finish; it never
touches the store (only the driver writes)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence

from scalinglab.config import ExecutionConfig
from scalinglab.spec import RunResult, RunSpec


class Executor(ABC):
    @abstractmethod
    def run(self, specs: Sequence[RunSpec]) -> Iterator[RunResult]:
        """Train every spec; yield each result as soon as it is done (any order)."""


class SerialExecutor(Executor):
    """Runs in this process, one after another: the simplest thing, and the reference."""

    def run(self, specs: Sequence[RunSpec]) -> Iterator[RunResult]:
        from scalinglab.train import train_one

        for spec in specs:
            result = train_one(spec)
            result.worker = "serial"
            yield result


def make_executor(settings: ExecutionConfig) -> Executor:
    """The executor `settings.executor` names."""
    if settings.executor == "serial":
        return SerialExecutor()
    from scalinglab.errors import UserError

    raise UserError(f"execution.executor: '{settings.executor}' is not available yet (use serial)")
