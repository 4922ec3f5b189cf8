"""A data-parallel run spanning several Ray nodes (issue 24 item 3, sweeper.ray_data_parallel): on a
real local cluster of two 1-CPU nodes, W = 2 must put one worker on each node, and the run still
equals single-worker training within float noise."""

from __future__ import annotations

import os

import pytest
from optional_components import require

from scalinglab.run_spec import DataSpec, RunLimits, RunSpec, TrainingSpec
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
        limits=RunLimits(latency_repeats=1, max_seconds=120),
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
