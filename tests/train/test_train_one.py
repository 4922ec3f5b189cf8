"""train_one on real (tiny) data for every kind of task, and the measurements it records."""

from __future__ import annotations

import math

import pytest

from scalinglab.debug import DEBUG_ENVIRONMENT_VARIABLE
from scalinglab.metrics import METRICS
from scalinglab.run_spec import DataSpec, RunLimits, RunSpec, TeacherSpec, TrainingSpec
from scalinglab.train import train_one


def _spec(family="mlp", size=None, data=None, **training) -> RunSpec:
    settings = {"epochs": 2, "batch_size": 32, "lr": 3e-3, **training}
    return RunSpec(
        family=family,
        size=size or {"width": 16, "depth": 1},
        data=data or DataSpec(source="digits", train_size=300),
        training=TrainingSpec(**settings),
        seed=0,
        limits={"latency_repeats": 3},
    )


LM = {"d_model": 16, "n_layer": 1, "n_head": 2, "context": 32}
STDLIB = DataSpec(source="stdlib", train_size=20_000, val_size=4096)


@pytest.fixture(scope="module")
def lm_result():
    return train_one(_spec("transformer", LM, STDLIB, batch_size=16))


@pytest.fixture(scope="module")
def mlp_result():
    return train_one(_spec())


def test_every_recorded_metric_is_registered(mlp_result, lm_result):
    for result in (mlp_result, lm_result):
        assert result.status == "ok", result.error
        assert set(result.metrics) <= set(METRICS), set(result.metrics) - set(METRICS)
        assert all(math.isfinite(value) for value in result.metrics.values())


def test_classification_records_accuracy_f1_and_sample_throughput(mlp_result):
    metrics = mlp_result.metrics
    assert 0 <= metrics["val_accuracy"] <= 1 and 0 <= metrics["val_f1_macro"] <= 1
    assert metrics["train_samples_per_second"] > 0 and metrics["inference_samples_per_second"] > 0
    assert "val_bits_per_byte" not in metrics


def test_language_model_records_bits_per_byte_and_tokens(lm_result):
    metrics = lm_result.metrics
    assert metrics["val_bits_per_byte"] == pytest.approx(metrics["val_loss"] / math.log(2))
    assert metrics["val_bits_per_byte"] < 8  # better than a uniform guess over 256 bytes
    assert metrics["train_tokens_per_second"] > 0 and metrics["inference_tokens_per_second"] > 0
    assert metrics["n_params_nonembedding"] < metrics["n_params"]
    assert metrics["n_train"] == 20_000
    windows = (20_000 - 1) // 32
    assert metrics["train_flops"] == pytest.approx(2 * windows * 32 * 3 * (24 * 16**2 + 4 * 32 * 16 + 2 * 16 * 256))


def test_curves_have_one_point_per_epoch_with_validation_scores(lm_result):
    assert [point["epoch"] for point in lm_result.curves] == [1, 2]
    assert {"train_loss", "val_loss", "val_bits_per_byte", "lr", "grad_norm_mean"} <= set(lm_result.curves[0])


def test_a_language_model_counts_tokens_seen_per_curve_point_and_in_all(lm_result):
    """Issue 25 item 2: D is tokens seen, all passes counted (2 epochs over 20,000 bytes in
    windows of 32), recorded at each evaluation point and as the run's train_tokens_seen."""
    tokens_per_pass = (20_000 - 1) // 32 * 32
    assert [point["tokens_seen"] for point in lm_result.curves] == [tokens_per_pass, 2 * tokens_per_pass]
    assert lm_result.metrics["train_tokens_seen"] == 2 * tokens_per_pass
    assert "samples_seen" not in lm_result.curves[0]


def test_costs_are_consistent(mlp_result):
    metrics = mlp_result.metrics
    assert metrics["bytes_int8"] < metrics["bytes_bf16"] < metrics["bytes_fp32"]
    assert metrics["latency_ms_p50"] <= metrics["latency_ms_p95"]
    assert 0 < metrics["peak_flops_fraction"] < 2  # small models rarely reach the matmul peak
    assert metrics["achieved_flops_per_second"] * mlp_result.metrics["train_seconds"] >= metrics["train_flops"] * 0.5
    # Adam: weights, gradients and two moments are alive together, at the least.
    assert metrics["peak_memory_bytes"] >= 4 * 4 * metrics["n_params"]


def test_gradient_statistics_and_stability_flags(mlp_result):
    metrics = mlp_result.metrics
    assert 0 < metrics["grad_norm_final"] <= metrics["grad_norm_max"]
    assert metrics["grad_norm_mean"] <= metrics["grad_norm_max"]
    assert 0 <= metrics["grad_clipped_fraction"] <= 1
    assert metrics["diverged_flag"] == 0.0


def test_a_tiny_clip_threshold_clips_every_step():
    result = train_one(_spec(epochs=1, grad_clip=1e-6))
    assert result.metrics["grad_clipped_fraction"] == 1.0


def test_an_absurd_learning_rate_is_recorded_as_divergence():
    result = train_one(_spec(epochs=3, lr=1e12, optimizer="sgd", grad_clip=None))
    assert result.status == "diverged" or result.metrics["diverged_flag"] == 1.0


def test_bf16_autocast_trains():
    result = train_one(_spec("transformer", LM, STDLIB, epochs=1, batch_size=16, precision="bf16"))
    assert result.status == "ok", result.error
    assert result.metrics["val_bits_per_byte"] < 8


def test_cnn_trains_on_digit_images():
    result = train_one(_spec("cnn", {"channels": 4, "depth": 2}, epochs=1))
    assert result.status == "ok", result.error
    # 8x8 digits, one pool: the classifier reads a 4x4 map of 4 channels
    assert result.metrics["n_params"] == 9 * 1 * 4 + 4 + 9 * 4 * 4 + 4 + 4 * 16 * 10 + 10


def test_teacher_student_learns_above_chance():
    data = DataSpec(source="teacher", train_size=800, teacher=TeacherSpec(n_samples=1000))
    result = train_one(_spec(size={"width": 32, "depth": 2}, data=data, epochs=4))
    assert result.metrics["val_accuracy"] > 0.4  # chance is about 0.25 with 4 classes


def test_cross_validation_reports_mean_and_spread_over_folds():
    result = train_one(_spec(data=DataSpec(source="digits", train_size=200, cv_folds=3), epochs=1))
    assert result.status == "ok", result.error
    metrics = result.metrics
    assert metrics["cv_folds"] == 3 and metrics["n_train"] == 200
    assert metrics["val_loss_fold_std"] > 0
    assert len(result.curves) == 1


def test_a_language_model_family_is_required_for_text():
    result = train_one(_spec(data=STDLIB))
    assert result.status == "failed" and "needs a language-model family" in result.error


def test_training_is_reproducible(mlp_result):
    again = train_one(_spec())
    assert again.metrics["val_loss"] == mlp_result.metrics["val_loss"]


def test_a_run_s_exception_is_a_failed_run_with_its_error_and_escapes_in_debug_mode(tmp_path, monkeypatch):
    blocked = tmp_path / "a-file"  # the checkpoint folder is a file: saving the trained weights raises
    blocked.write_text("")
    spec = _spec(epochs=1).model_copy(update={"limits": RunLimits(latency_repeats=1, checkpoint_dir=str(blocked))})
    monkeypatch.delenv(DEBUG_ENVIRONMENT_VARIABLE, raising=False)
    result = train_one(spec)
    assert result.status == "failed" and result.error.startswith("FileExistsError: ")
    assert len(result.curves) == 1  # the epochs it trained are kept
    monkeypatch.setenv(DEBUG_ENVIRONMENT_VARIABLE, "1")
    with pytest.raises(FileExistsError):
        train_one(spec)
