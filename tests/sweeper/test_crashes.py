"""Runs whose worker process dies, or that break their time or memory limit: recorded once, with
a clear error, and the sweep goes on. Workers are really killed (SIGKILL), limits really hit."""

from __future__ import annotations

import threading

import pytest
from sweep_helpers import kill_when_seen, tiny_spec

from scalinglab.sweeper.executors import PoolExecutor, RayExecutor

pytestmark = pytest.mark.slow  # end to end: real training, sweeps or the CLI in a subprocess


def test_a_ray_worker_killed_mid_run_is_retried_and_recorded_once(local_ray):
    long_run = tiny_spec(32, epochs=120, train_size=600, batch_size=20)  # seconds: the kill lands mid-run
    killed: list[int] = []
    killer = threading.Thread(
        target=kill_when_seen, args=("ray::_train_in_ray_worker", killed), kwargs={"delay_seconds": 0.5}
    )
    with RayExecutor(workers=1, retries=1) as executor:
        killer.start()
        results = list(executor.run([long_run]))
        killer.join()
    assert len(killed) == 1
    assert [r.run_key for r in results] == [long_run.run_key]
    assert results[0].status == "ok", results[0].error
    assert results[0].worker.rsplit(":", 1)[-1] != str(killed[0]), (
        "the result came from the retry, not the killed worker"
    )


def test_a_run_over_its_memory_limit_is_killed_recorded_and_the_pool_goes_on():
    greedy = tiny_spec(4096, depth=3)  # ~0.5 GB of weights, gradients and Adam state
    with PoolExecutor(workers=1, max_memory_mb=350) as executor:
        results = {r.run_key: r for r in executor.run([greedy, tiny_spec(4)])}
    assert results[greedy.run_key].status == "failed"
    assert "over the memory limit (execution.max_memory_mb = 350)" in results[greedy.run_key].error
    assert results[tiny_spec(4).run_key].status == "ok"


def test_a_run_over_its_time_limit_is_stopped_and_recorded():
    slow = tiny_spec(512, epochs=5, train_size=1000, batch_size=1, max_seconds=0.2)
    with PoolExecutor(workers=1) as executor:
        [result] = list(executor.run([slow]))
    assert result.status == "failed" and "time limit" in result.error
