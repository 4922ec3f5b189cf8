"""Batched training gives each run the results it would get alone (issue 13, items 1-2)."""

from __future__ import annotations

import math

import pytest

from scalinglab.debug import DEBUG_ENVIRONMENT_VARIABLE
from scalinglab.errors import UserError
from scalinglab.run_spec import DataSpec, RunLimits, RunSpec, TrainingSpec
from scalinglab.train import batched, probe, train_one
from scalinglab.train.batched import train_batch
from scalinglab.train.loop import OverTimeLimit

# Float reassociation (a batched matmul sums in another order than one matmul) moves a result by
# ~1e-7 relative per step; over a few hundred Adam steps that stays far below this.
REL_TOLERANCE = 1e-4


def spec(
    width=16, *, seed=0, train_size=300, lr=3e-3, epochs=3, family="mlp", size=None, data=None, **training
) -> RunSpec:
    return RunSpec(
        family=family,
        size=size or {"width": width, "depth": 2},
        data=data or DataSpec(source="digits", train_size=train_size),
        training=TrainingSpec(epochs=epochs, batch_size=32, lr=lr, **training),
        seed=seed,
        limits=RunLimits(latency_repeats=1),
    )


def assert_same_run(batched, alone):
    assert batched.status == alone.status == "ok", (batched.error, alone.error)
    assert batched.metrics["n_params"] == alone.metrics["n_params"]
    for name in (
        "val_loss",
        "train_loss",
        "val_accuracy",
        "val_bits_per_byte",
        "grad_norm_mean",
        "gradient_noise_scale",
    ):
        if name not in alone.metrics:
            continue
        assert batched.metrics[name] == pytest.approx(alone.metrics[name], rel=REL_TOLERANCE, abs=1e-6), name
    assert len(batched.curves) == len(alone.curves)
    for ours, theirs in zip(batched.curves, alone.curves):
        for name in ("train_loss", "val_loss", "lr", "grad_norm_mean"):
            assert ours[name] == pytest.approx(theirs[name], rel=REL_TOLERANCE, abs=1e-6), name


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_batched_runs_match_the_same_runs_trained_one_at_a_time(optimizer):
    specs = [
        spec(16, seed=0, optimizer=optimizer),
        spec(16, seed=1, lr=1e-2, weight_decay=1e-3, optimizer=optimizer),
        spec(
            8, seed=2, train_size=200, grad_clip=None, schedule="linear", optimizer=optimizer
        ),  # padded width, fewer steps
        spec(12, seed=0, train_size=250, grad_clip=0.05, weight_decay=0.01, warmup_fraction=0.3, optimizer=optimizer),
    ]
    batched = train_batch(specs)
    assert [r.run_key for r in batched] == [s.run_key for s in specs]
    for result, one in zip(batched, specs):
        assert result.metrics["batch_runs"] == len(specs)
        assert_same_run(result, train_one(one))
    assert batched[3].metrics["grad_clipped_fraction"] > 0.5


def test_a_diverging_run_is_masked_out_and_the_others_go_on():
    wild = spec(16, seed=1, lr=1e12, optimizer="sgd", grad_clip=None)
    calm = spec(16, seed=0, optimizer="sgd")
    batched = dict(zip(["wild", "calm"], train_batch([wild, calm])))
    alone = train_one(wild)
    assert batched["wild"].status == alone.status == "diverged"
    assert batched["wild"].error == alone.error
    assert_same_run(batched["calm"], train_one(calm))


def test_a_run_that_cannot_be_prepared_fails_alone():
    too_big = spec(16, train_size=10**7)
    fine = [spec(16, seed=0), spec(16, seed=1)]
    results = train_batch([too_big, *fine])
    assert results[0].status == "failed" and results[0].error
    assert [r.status for r in results[1:]] == ["ok", "ok"]
    assert all(r.metrics["batch_runs"] == 2 for r in results[1:])


def test_in_debug_mode_a_run_that_cannot_be_prepared_raises(monkeypatch):
    monkeypatch.setenv(DEBUG_ENVIRONMENT_VARIABLE, "1")
    with pytest.raises(UserError, match="train_size"):
        train_batch([spec(16, train_size=10**7), spec(16, seed=0), spec(16, seed=1)])


def test_a_group_s_measurement_error_fails_its_runs_with_the_error_and_escapes_in_debug_mode(tmp_path, monkeypatch):
    blocked = tmp_path / "a-file"  # the checkpoint folder is a file: saving each trained run raises
    blocked.write_text("")
    limits = RunLimits(latency_repeats=1, checkpoint_dir=str(blocked))
    group = [spec(16, seed=seed, epochs=1).model_copy(update={"limits": limits}) for seed in (0, 1)]
    monkeypatch.delenv(DEBUG_ENVIRONMENT_VARIABLE, raising=False)
    results = train_batch(group)
    assert [r.status for r in results] == ["failed", "failed"]
    assert all(r.error.startswith("FileExistsError: ") and len(r.curves) == 1 for r in results)
    monkeypatch.setenv(DEBUG_ENVIRONMENT_VARIABLE, "1")
    with pytest.raises(FileExistsError):
        train_batch(group)


def test_a_run_over_its_time_limit_in_a_group_fails_as_alone_and_escapes_in_debug_mode(monkeypatch):
    group = [
        spec(16, seed=seed, epochs=3).model_copy(update={"limits": RunLimits(latency_repeats=1, max_seconds=1e-9)})
        for seed in (0, 1)
    ]
    monkeypatch.delenv(DEBUG_ENVIRONMENT_VARIABLE, raising=False)
    results = train_batch(group)
    alone = train_one(group[0])
    assert [r.status for r in results] == ["failed", "failed"] and alone.status == "failed"
    assert results[0].error == alone.error and results[0].error.startswith("OverTimeLimit: over the time limit")
    monkeypatch.setenv(DEBUG_ENVIRONMENT_VARIABLE, "1")
    with pytest.raises(OverTimeLimit):
        train_batch(group)


def test_a_transformer_group_trains_through_vmap_like_single_runs():
    lm = {"d_model": 16, "n_layer": 1, "n_head": 2, "context": 16}
    text = DataSpec(source="stdlib", train_size=6000, val_size=2048)
    specs = [spec(family="transformer", size=lm, data=text, epochs=1, seed=seed) for seed in (0, 1)]
    for result, one in zip(train_batch(specs), specs):
        assert_same_run(result, train_one(one))


def test_each_run_records_its_own_costs_and_the_group_wall_time_apart():
    """A batched run's time and memory are its model's alone (issue 18, item 1), not a share of the group's."""
    specs = [spec(8, seed=0, train_size=200), spec(8, seed=1, train_size=600), spec(32, seed=0, train_size=600)]
    batched = {r.run_key: r.metrics for r in train_batch(specs)}
    small_data, more_data, wider = (batched[s.run_key] for s in specs)
    assert len({m["batch_wall_seconds"] for m in batched.values()}) == 1  # one shared pass, kept apart
    assert all(m["train_seconds"] <= m["batch_wall_seconds"] for m in batched.values())  # none slower than the pass
    # Same architecture, 3x the steps: more time (each epoch's evaluation is the same for both).
    assert more_data["train_seconds"] > small_data["train_seconds"]
    assert small_data["peak_memory_bytes"] == more_data["peak_memory_bytes"] < wider["peak_memory_bytes"]
    assert all(m["peak_memory_bytes"] == int(m["peak_memory_bytes"]) for m in batched.values())  # whole bytes
    alone = train_one(specs[2]).metrics  # its first step's memory, measured in the loop itself
    assert wider["peak_memory_bytes"] == alone["peak_memory_bytes"]
    assert all(m["achieved_flops_per_second"] > 0 and math.isfinite(m["train_seconds"]) for m in batched.values())


def test_trivial_baselines_are_recorded_and_beaten_by_a_trained_model():
    (result,) = [r for r in train_batch([spec(32, seed=0), spec(32, seed=1)])][:1]
    metrics = result.metrics
    assert metrics["baseline_val_loss"] == pytest.approx(math.log(10), rel=0.05)  # digits: ten balanced classes
    assert 0.05 < metrics["baseline_val_accuracy"] < 0.2
    assert (
        metrics["val_loss"] < metrics["baseline_val_loss"]
        and metrics["val_accuracy"] > metrics["baseline_val_accuracy"]
    )


def test_a_run_whose_probe_reads_slower_than_the_pass_is_capped_with_a_warning_and_probed_again(monkeypatch, caplog):
    """Seen: a probe timed while the machine was busy put a run at 14.4 s, the whole pass's wall
    time (the cap), where the same run read 0.19 s before, and nothing said so."""
    slow = probe.StepCosts(step_seconds=10.0, step_seconds_spread=0.0, eval_seconds=1.0, peak_memory_bytes=1000.0)
    monkeypatch.setattr(batched, "step_costs", lambda model, task, spec: slow)
    forgotten = []
    monkeypatch.setattr(batched, "forget_step_costs", lambda task, spec: forgotten.append(spec.run_key))
    specs = [spec(8, seed=0, epochs=1), spec(8, seed=1, epochs=1)]
    with caplog.at_level("WARNING", logger="scalinglab.train.batched"):
        results = train_batch(specs)
    assert all(r.metrics["train_seconds"] == r.metrics["batch_wall_seconds"] < 10 for r in results)
    assert "2 of 2 runs trained together" in caplog.text and "capped at the pass's wall time" in caplog.text
    assert sorted(forgotten) == sorted(s.run_key for s in specs)  # the next group probes them again


def test_no_warning_where_every_run_s_probe_fits_in_the_pass(monkeypatch, caplog):
    fast = probe.StepCosts(step_seconds=1e-9, step_seconds_spread=0.0, eval_seconds=1e-9, peak_memory_bytes=1000.0)
    monkeypatch.setattr(batched, "step_costs", lambda model, task, spec: fast)
    with caplog.at_level("WARNING", logger="scalinglab.train.batched"):
        results = train_batch([spec(8, seed=0, epochs=1), spec(8, seed=1, epochs=1)])
    assert all(r.metrics["train_seconds"] < r.metrics["batch_wall_seconds"] for r in results)
    assert "capped" not in caplog.text
