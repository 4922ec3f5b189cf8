"""The gradient noise scale (train.noise_scale; McCandlish et al. 2018, App. A): the estimator on a
case with a closed-form answer, and the column as single and batched training record it."""

from __future__ import annotations

import importlib.util
import math
import statistics
from pathlib import Path

import pytest

from scalinglab.run_spec import DataSpec, RunLimits, RunSpec, TrainingSpec
from scalinglab.train import noise_scale, train_one
from scalinglab.train.noise_scale import NoiseScale

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "noise_scale.py"


def _linear_regression():
    spec = importlib.util.spec_from_file_location("noise_scale_benchmark", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.LinearRegression()


def test_the_estimate_is_near_the_closed_form_on_linear_regression():
    # benchmarks/noise_scale.py: median error about 10% over 20 seeds; here 5 seeds and a looser bound.
    case = _linear_regression()
    truth = case.closed_form()
    assert truth == 21
    values = [case.measured(64, 300, seed) for seed in range(5)]
    assert all(value is not None and value > 0 for value in values)
    assert statistics.median(abs(value / truth - 1) for value in values) < 0.25


def test_an_undefined_estimate_is_missing_never_negative_or_infinite():
    noise = NoiseScale(64)
    assert noise.metrics() == {}  # no measurement yet
    noise.update(small_sq=1.0, big_sq=2.0)  # the bigger batch noisier: tr(Sigma) estimate negative
    assert noise.value() is None and noise.metrics() == {}
    noise = NoiseScale(64)
    noise.update(small_sq=1.0, big_sq=0.0)  # |G|^2 estimate negative: the gradient all noise
    assert noise.value() is None
    noise.update(small_sq=float("nan"), big_sq=1.0)  # a non-finite measurement is not averaged in
    assert noise.measurements == 1
    assert NoiseScale(2).metrics() == {}  # a batch too small to split
    noise = NoiseScale(64)
    noise.update(small_sq=4.0, big_sq=2.0)
    # |G|^2 = (64*2 - 16*4)/48 = 4/3; tr(Sigma) = 2/(1/16 - 1/64) = 128/3
    assert noise.value() == pytest.approx(32)


def spec(epochs=3, **training) -> RunSpec:
    return RunSpec(
        family="mlp",
        size={"width": 16, "depth": 2},
        data=DataSpec(source="digits", train_size=300),
        training=TrainingSpec(epochs=epochs, batch_size=32, lr=3e-3, **training),
        seed=0,
        limits=RunLimits(latency_repeats=1),
    )


def test_a_run_records_a_positive_noise_scale():
    result = train_one(spec())
    assert result.status == "ok", result.error
    value = result.metrics["gradient_noise_scale"]
    assert math.isfinite(value) and value > 0


def test_the_measurement_leaves_a_dropout_run_s_random_stream_alone(monkeypatch):
    # The small batch's extra forward draws dropout masks of its own: under a forked random state,
    # so the run trains exactly as it would unmeasured.
    measured = train_one(spec(dropout=0.2, epochs=1))
    monkeypatch.setattr(noise_scale, "SMALL_BATCH_DIVISOR", 10**6)  # a batch too small to measure: no measurement
    unmeasured = train_one(spec(dropout=0.2, epochs=1))
    assert "gradient_noise_scale" in measured.metrics and "gradient_noise_scale" not in unmeasured.metrics
    assert measured.curves[0]["train_loss"] == unmeasured.curves[0]["train_loss"]


def test_the_small_batch_slices_every_tensor_of_a_tuple_target():
    """A distilled student's target is (labels, teacher logits): both must lose the same rows."""
    import torch

    from scalinglab.train.noise_scale import first_rows

    labels, logits = torch.arange(8), torch.zeros(8, 3)
    sliced = first_rows((labels, logits), 2)
    assert isinstance(sliced, tuple) and sliced[0].tolist() == [0, 1] and sliced[1].shape == (2, 3)
    assert first_rows(labels, 3).tolist() == [0, 1, 2]
