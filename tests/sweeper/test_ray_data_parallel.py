"""A data-parallel run spanning several Ray nodes (issue 24 item 3, sweeper.ray_data_parallel): on a
real local cluster of two 1-CPU nodes, W = 2 must put one worker on each node, and the run still
equals single-worker training within float noise; a killed worker fails the run (no hang), and a W
beyond the cluster's CPUs is refused before anything is stored."""

from __future__ import annotations

import os
import threading
import time

import pytest
from optional_components import require
from sweep_helpers import kill_when_seen, tiny_spec

from scalinglab.config import load_config
from scalinglab.errors import UserError
from scalinglab.run_spec import DataSpec, RunLimits, RunSpec, TrainingSpec
from scalinglab.store import open_store
from scalinglab.sweeper import run_sweep
from scalinglab.sweeper.executors import RayExecutor
from scalinglab.train import train_one

pytestmark = [pytest.mark.slow, pytest.mark.ray]  # a 2-node Ray cluster starts: several seconds


@pytest.fixture(scope="module")
def two_nodes():
    """A real Ray cluster on this machine: two nodes of 1 CPU and a small object store each."""
    require("ray")
    import ray
    from ray.cluster_utils import Cluster

    node = {"num_cpus": 1, "object_store_memory": 80 * 10**6}
    cluster = Cluster(initialize_head=True, head_node_args=node)
    try:
        cluster.add_node(**node)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False)
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


def test_two_workers_on_two_ray_nodes_train_the_run_one_worker_trains(two_nodes):
    assert os.environ["PYTHONPATH"]  # the nodes' workers import this checkout (tests/sweeper/conftest.py)
    # As tests/train/test_data_parallel.py: the last batch (13) splits 7/6, 3 epochs of Adam with clipping.
    spec = RunSpec(
        family="mlp",
        size={"width": 16, "depth": 2},
        data=DataSpec(source="digits", train_size=301),
        training=TrainingSpec(epochs=3, batch_size=32, lr=3e-3, grad_clip=0.5, data_parallel=2),
        seed=0,
        limits=RunLimits(latency_repeats=1),  # no time limit: no deadline on the workers either
    )
    with RayExecutor(workers=1) as executor:
        [parallel] = executor.run([spec])
    alone = train_one(spec.model_copy(update={"training": spec.training.model_copy(update={"data_parallel": 1})}))
    assert parallel.status == alone.status == "ok", parallel.error
    nodes = [place.split(":")[2] for place in parallel.worker.split()]  # ray:IP:NODE:PID per rank
    assert len(nodes) == 2 and nodes[0] != nodes[1], parallel.worker
    for name in ("val_loss", "train_loss", "val_accuracy", "grad_norm_mean", "grad_clipped_fraction"):
        assert parallel.metrics[name] == pytest.approx(alone.metrics[name], rel=1e-4, abs=1e-6), name
    for ours, theirs in zip(parallel.curves, alone.curves, strict=True):
        assert ours["train_loss"] == pytest.approx(theirs["train_loss"], rel=1e-4), ours["epoch"]
        assert ours["val_loss"] == pytest.approx(theirs["val_loss"], rel=1e-4), ours["epoch"]


def test_a_killed_worker_fails_the_run_with_the_reason_and_frees_its_cpus(two_nodes):
    import ray

    spec = tiny_spec(16, epochs=400, train_size=600, batch_size=20, max_seconds=250)  # the kill lands mid-run
    spec = spec.model_copy(update={"training": spec.training.model_copy(update={"data_parallel": 2})})
    killed: list[int] = []
    killer = threading.Thread(
        target=kill_when_seen, args=("ray::DataParallelWorker.train", killed), kwargs={"delay_seconds": 1.0}
    )
    with RayExecutor(workers=1, retries=0) as executor:
        killer.start()
        [result] = executor.run([spec])  # returns: the live worker does not wait forever on its dead peer
        killer.join()
    assert len(killed) == 1
    assert result.status == "failed" and "data-parallel worker" in result.error, result.error
    deadline = time.monotonic() + 30  # the actors and their placement group are gone: both CPUs free again
    while ray.available_resources().get("CPU", 0) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ray.available_resources().get("CPU", 0) == 2


def test_a_worker_over_the_memory_limit_fails_the_run_with_the_reason(two_nodes):
    spec = tiny_spec(4, epochs=400, train_size=600, batch_size=20)  # long enough to be seen
    spec = spec.model_copy(update={"training": spec.training.model_copy(update={"data_parallel": 2})})
    with RayExecutor(workers=1, max_memory_mb=20) as executor:  # torch alone holds more than 20 MiB
        [result] = executor.run([spec])
    assert result.status == "failed", result.status
    assert "MiB: over the memory limit (execution.max_memory_mb = 20)" in result.error, result.error


def test_a_w_beyond_the_clusters_cpus_is_refused_before_anything_is_stored(two_nodes, tmp_path):
    config = load_config(
        None,
        [f"output='{tmp_path / 'out'}'", "model.width=4", "training.data_parallel=3", "execution.executor='ray'"],
    )
    store = open_store(config.output)
    with pytest.raises(UserError, match="training.data_parallel = 3.*the Ray cluster has 2 CPU"):
        run_sweep(config, store)
    assert store.keys() == set() and store.config() is None
    store.close()
