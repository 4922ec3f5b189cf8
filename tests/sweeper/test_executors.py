"""One suite, every executor: each must return one result per spec, isolate failures, and pull
specs only as fast as it has free workers."""

from __future__ import annotations

import pytest
from sweep_helpers import tiny_spec

from scalinglab.sweeper.executors import PoolExecutor, RayExecutor, SerialExecutor

pytestmark = pytest.mark.slow  # end to end: real training, sweeps or the CLI in a subprocess

EXECUTORS = ["serial", "pool", "ray"]


def make_executor(kind: str, request, **options):
    if kind == "serial":
        return SerialExecutor(**options)
    if kind == "pool":
        return PoolExecutor(workers=2, **options)
    request.getfixturevalue("local_ray")
    return RayExecutor(workers=2, **options)


@pytest.fixture(params=EXECUTORS)
def executor(request):
    return make_executor(request.param, request)


def test_every_spec_comes_back_once_and_trained(executor):
    specs = [tiny_spec(width) for width in (2, 4, 8)]
    with executor:
        results = list(executor.run(specs))
    assert sorted(r.run_key for r in results) == sorted(s.run_key for s in specs)
    assert all(r.status == "ok" and r.metrics["n_params"] > 0 for r in results)
    assert all(r.worker for r in results)


def test_a_failing_run_is_recorded_and_the_others_still_train(executor):
    broken = tiny_spec(4, source="no-such-source")
    with executor:
        results = {r.run_key: r for r in executor.run([broken, tiny_spec(8)])}
    assert results[broken.run_key].status == "failed"
    assert "no-such-source" in results[broken.run_key].error
    assert results[tiny_spec(8).run_key].status == "ok"


def test_specs_are_pulled_only_when_a_worker_is_free(executor):
    pulled = []

    def specs():
        for width in (2, 4, 8):
            pulled.append(width)
            yield tiny_spec(width)

    with executor:
        stream = executor.run(specs())
        next(stream)
        workers = getattr(executor, "workers", None) or getattr(executor, "_workers", None) or 1
        assert len(pulled) <= workers + 1, "an executor must not take specs ahead of its free workers"
        rest = list(stream)
    assert len(rest) == 2 and pulled == [2, 4, 8]


@pytest.mark.slow
@pytest.mark.parametrize("kind", EXECUTORS)
def test_a_batch_killed_for_memory_trains_again_one_run_at_a_time(kind, request):
    # Two stacked runs of ~0.5 GB of weights, gradients and Adam state each break the limit
    # together; each fits under it alone.
    pair = [tiny_spec(4096, depth=3).model_copy(update={"seed": seed}) for seed in (0, 1)]
    with make_executor(kind, request, max_memory_mb=950) as executor:
        results = list(executor.run([pair]))
    assert sorted(r.run_key for r in results) == sorted(s.run_key for s in pair)
    assert all(r.status == "ok" and r.metrics["batch_runs"] == 1 for r in results), [r.error for r in results]
