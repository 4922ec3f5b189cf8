"""The measurement helpers on their own."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from scalinglab.train.cv import stratified_folds
from scalinglab.train.measure import TensorMemoryTracker, matmul_peak_flops_per_second, peak_tensor_bytes, storage_bytes
from scalinglab.train.stability import count_loss_spikes, ended_worse_than_it_started


def test_tracker_counts_live_tensors_and_forgets_freed_ones():
    with TensorMemoryTracker() as tracker:
        big = torch.zeros(1000, 250)  # 1,000,000 bytes
        small = torch.ones(10)
        del big
        torch.zeros(1)  # any later op lets the tracker notice the free
    assert tracker.peak_bytes >= 1_000_040
    assert tracker.current_bytes < 1000
    assert small.sum() == 10


def test_peak_of_a_training_step_includes_gradients_and_adam_state():
    model = nn.Linear(500, 500)
    optimizer = torch.optim.Adam(model.parameters())
    weights_bytes = 4 * sum(p.numel() for p in model.parameters())

    def step():
        optimizer.zero_grad()
        model(torch.randn(8, 500)).sum().backward()
        optimizer.step()

    peak, _ = peak_tensor_bytes(model, step)
    # weights + grads + 2 moments, plus the temporaries of the (foreach) Adam update
    assert 4 * weights_bytes <= peak <= 8 * weights_bytes


def test_a_step_on_a_slice_of_a_large_dataset_counts_the_step_and_not_the_data():
    """A batch is a view of the whole epoch's data: the step's memory must not grow with the data
    size (issue 18: a model's peak memory is its own, not its data set's)."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32))
    peaks = []
    for rows in (100, 10_000):
        epoch = torch.randn(rows, 8, 8)
        batch = epoch[:16]
        peak, _ = peak_tensor_bytes(model, lambda: model(batch).sum().backward())
        peaks.append(peak)
    assert peaks[0] == peaks[1] < 10_000 * 64 * 4


def test_int8_storage_is_about_a_quarter_of_fp32():
    sizes = storage_bytes(nn.Linear(256, 256))
    assert sizes["bytes_int8"] == pytest.approx(sizes["bytes_fp32"] / 4, rel=0.1)
    assert sizes["bytes_bf16"] == pytest.approx(sizes["bytes_fp32"] / 2, rel=0.1)


def test_matmul_peak_is_measured_once_and_cached(tmp_path):
    first = matmul_peak_flops_per_second("fp32", cache_dir=tmp_path)
    assert first > 1e8
    cache = tmp_path / "matmul_peak.json"
    stored = json.loads(cache.read_text())
    (key,) = stored
    cache.write_text(json.dumps({key: 123.0}))
    assert matmul_peak_flops_per_second("fp32", cache_dir=tmp_path) == 123.0


def test_loss_spikes():
    steady = [1.0] * 40
    assert count_loss_spikes(steady) == 0
    assert count_loss_spikes(steady[:30] + [2.5] + steady[:9]) == 1
    assert count_loss_spikes([10.0] + steady) == 0  # the early steps are never spikes


def test_ended_worse_than_it_started():
    assert ended_worse_than_it_started([1.0, 0.5, 1.2])
    assert not ended_worse_than_it_started([1.0, 0.5, 0.4])
    assert not ended_worse_than_it_started([1.0])


def test_stratified_folds_partition_every_example_and_balance_classes():
    labels = torch.arange(90).numpy() % 3
    folds = stratified_folds(labels, 3, seed=0)
    assert sorted(index for fold in folds for index in fold) == list(range(90))
    assert all(sorted(labels[fold].tolist()).count(0) == 10 for fold in folds)


def test_measure_module_scores_a_reloaded_checkpoint_as_training_did(tmp_path):
    from scalinglab.data import load_source, prepare
    from scalinglab.families import get_family
    from scalinglab.run_spec import DataSpec, RunLimits, RunSpec, TrainingSpec
    from scalinglab.train import train_one
    from scalinglab.train.checkpoint import load_checkpoint
    from scalinglab.train.measure import measure_module
    from scalinglab.train.tasks import make_task

    spec = RunSpec(
        family="mlp",
        size={"width": 16, "depth": 1},
        data=DataSpec(source="digits", train_size=200),
        training=TrainingSpec(epochs=2, batch_size=50, lr=0.01),
        seed=0,
        limits=RunLimits(latency_repeats=3, checkpoint_dir=str(tmp_path)),
    )
    trained = train_one(spec)
    task = make_task(prepare(load_source(spec.data), train_size=200, preprocessing="standardize"), spec.size)
    module = get_family("mlp").build(spec.size, task.shape)
    module.load_state_dict(load_checkpoint(tmp_path / f"{spec.run_key}.safetensors"))
    measured = measure_module(module, task, device="cpu", latency_repeats=3)
    assert measured["val_loss"] == pytest.approx(trained.metrics["val_loss"], rel=1e-6)
    assert measured["val_accuracy"] == trained.metrics["val_accuracy"]
    assert measured["latency_ms_p50"] <= measured["latency_ms_p95"]
    assert measured["inference_samples_per_second"] > 0
    weight_bytes = 4 * sum(p.numel() for p in module.parameters())
    assert measured["inference_peak_memory_bytes"] > weight_bytes  # weights plus the batch's activations
    assert measured["bytes_int8"] < measured["bytes_fp32"]
