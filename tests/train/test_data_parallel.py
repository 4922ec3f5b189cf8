"""Data-parallel training (train.data_parallel, issue 24 item 3): W = 2 gloo workers give the run
one worker gives, within float noise."""

from __future__ import annotations

import pytest

from scalinglab.run_spec import DataSpec, RunLimits, RunSpec, TrainingSpec
from scalinglab.train import train_one
from scalinglab.train.checkpoint import checkpoint_file, load_checkpoint
from scalinglab.train.data_parallel import train_data_parallel


@pytest.mark.slow  # two worker processes start (torch imported twice): several seconds
def test_two_workers_train_the_run_one_worker_trains(tmp_path):
    # 301 examples at batch 32: the last batch (13) splits 7/6 (a mean of the shares' means would differ), and 3 epochs of Adam with clipping
    spec = RunSpec(
        family="mlp",
        size={"width": 16, "depth": 2},
        data=DataSpec(source="digits", train_size=301),
        training=TrainingSpec(epochs=3, batch_size=32, lr=3e-3, grad_clip=0.5),
        seed=0,
        limits=RunLimits(latency_repeats=1),
    )
    alone = train_one(spec)
    kept = spec.model_copy(update={"limits": RunLimits(latency_repeats=1, checkpoint_dir=str(tmp_path))})
    parallel = train_data_parallel(kept, 2)
    assert parallel.status == alone.status == "ok", parallel.error
    # Its weights are kept as a run alone keeps them, and its peak memory is one worker's: at half
    # the batch, no more than alone (weights, gradients and Adam's state are whole; it was not recorded).
    weights = load_checkpoint(checkpoint_file(tmp_path, kept.run_key))
    assert sum(tensor.numel() for tensor in weights.values()) == parallel.metrics["n_params"]
    assert 0 < parallel.metrics["peak_memory_bytes"] <= alone.metrics["peak_memory_bytes"]
    for name in ("val_loss", "train_loss", "val_accuracy", "grad_norm_mean", "grad_clipped_fraction"):
        assert parallel.metrics[name] == pytest.approx(alone.metrics[name], rel=1e-4, abs=1e-6), name
    for ours, theirs in zip(parallel.curves, alone.curves, strict=True):
        assert ours["train_loss"] == pytest.approx(theirs["train_loss"], rel=1e-4), ours["epoch"]


@pytest.mark.slow  # two worker processes start: several seconds
def test_a_run_over_its_time_limit_stops_every_worker_and_fails_with_the_reason():
    spec = RunSpec(
        family="mlp",
        size={"width": 4, "depth": 1},
        data=DataSpec(source="digits", train_size=100),
        training=TrainingSpec(epochs=3, batch_size=32),
        seed=0,
        limits=RunLimits(latency_repeats=1, max_seconds=1e-6),
    )
    result = train_data_parallel(spec, 2)  # returns: worker 1 does not wait forever for worker 0
    assert result.status == "failed" and "over the time limit" in result.error
    assert [point["epoch"] for point in result.curves] == [1]
