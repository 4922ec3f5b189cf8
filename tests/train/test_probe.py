"""A batched run's own time comes from a probe of its architecture (train.probe); on a busy CPU the
probe must not count the time other processes held the cores (issue: train_seconds of batched
runs read up to 80x slow for some sizes and not others, reversing their order, on 2 loaded cores)."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest
import torch

from scalinglab.data import training_subset
from scalinglab.run_spec import DataSpec, RunLimits, RunSpec, TrainingSpec
from scalinglab.train import probe
from scalinglab.train.loop import prepare_run


def test_seconds_alone_keeps_the_lesser_of_wall_and_cpu_time_on_the_cpu_and_the_wall_time_elsewhere():
    assert probe.seconds_alone(80.0, 1.0) == 1.0  # descheduled 79 s of 80: only the CPU time is the code's
    assert probe.seconds_alone(1.0, 2.0) == 1.0  # two threads busy for 1 s: the wall time is the code's
    assert probe.seconds_alone(3.0, None) == 3.0  # an accelerator's work: its host CPU time says nothing


def test_a_cpu_clock_that_read_nothing_leaves_the_wall_time():
    """A process clock ticking in 15.6 ms steps (Windows) reads 0 over a short step."""
    assert probe.seconds_alone(0.002, 0.0) == 0.002


def test_a_cpu_probe_leaves_out_the_time_other_processes_held_the_cores(monkeypatch):
    # Injected clocks, not real load: every timed stretch (one step on the CPU) reads 1 s on the wall
    # clock (the process was off the cores nearly all of it) and 1 ms of process CPU time. A
    # wall-clock probe read 1 s per step and 1 s per validation pass.
    wall_ticks, cpu_ticks = itertools.count(), itertools.count()
    clocks = SimpleNamespace(perf_counter=lambda: float(next(wall_ticks)), process_time=lambda: 1e-3 * next(cpu_ticks))
    monkeypatch.setattr(probe, "time", clocks)
    spec = RunSpec(
        family="mlp",
        size={"width": 8, "depth": 2},
        data=DataSpec(source="digits", train_size=200),
        training=TrainingSpec(epochs=1, batch_size=32),
        seed=0,
        limits=RunLimits(latency_repeats=1),
    )
    run = prepare_run(spec, training_subset(spec.data))
    batches = list(itertools.islice(run.task.train_batches(32, torch.Generator().manual_seed(0)), probe.PROBE_BLOCK))
    costs = probe._probe_steps(run.model, run.task, spec, batches)
    assert costs.step_seconds == pytest.approx(1e-3)
    assert costs.eval_seconds == pytest.approx(1e-3)
    assert costs.own_seconds(100, 10) == pytest.approx(100 * 1e-3 + 10 * 1e-3)


def test_a_probe_that_ran_slow_takes_more_blocks_not_fewer():
    # One step timed clean at 0.1 ms among eleven at 0.2 s (the machine busy elsewhere): the probe goes
    # on to its most blocks. A budget counted in the slow seconds stopped it at its least, 3 blocks.
    loaded = [0.2] * 11 + [1e-4]
    assert not probe.timed_enough(loaded, block=1)
    assert probe.timed_enough([0.2] * 3, block=1)  # every block slow: no faster pace to wait for
    assert probe.timed_enough([1e-3] * 20, block=1) and not probe.timed_enough([1e-3] * 19, block=1)
    assert not probe.timed_enough([], block=4)
