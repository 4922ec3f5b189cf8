"""The predicted time to a target loss with W data-parallel workers (analysis.time_to_target,
issue 24): S_min (1 + B_crit / B) steps times one worker's seconds per step over the speedup
measured at W, its range from the measured speedups, and W not measured said in words."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_batch_size import B_CRIT, _sweep

from scalinglab.analysis import analyze
from scalinglab.analysis.batch_size import CriticalBatch
from scalinglab.analysis.speedup import DataParallelSpeedup
from scalinglab.analysis.time_to_target import time_sentence, times_to_target

EPOCHS = 40


def _one_configuration(train_seconds: float = 30.0) -> pd.DataFrame:
    return pd.DataFrame(
        [
            dict(run_key="w16", width=16, train_size=1600, n_params=1600.0, n_train=1600, batch_size=8)
            | dict(epochs=10, train_seconds=train_seconds)
        ]
    )


def test_the_time_follows_s_min_one_plus_b_crit_over_b_and_the_measured_speedup():
    critical = CriticalBatch({"width": 16}, 1600.0, 0.3, batch_sizes=[8, 32, 128], s_min=100.0, e_min=3200.0)
    speedup = DataParallelSpeedup({"width": 16}, 1600.0, 2, 10.0, 6.25, 3, 3, False, (9.0, 11.0), (6.0, 6.5))
    (answer,) = times_to_target(_one_configuration(), None, [critical], [speedup], x="n_params", group_by="train_size")
    steps = 100.0 * (1 + 32.0 / 8)  # S_min (1 + B_crit / B)
    per_step = 30.0 / (10 * math.ceil(1600 / 8))  # train_seconds / (epochs x steps per epoch)
    assert answer.steps_to_target == pytest.approx(steps) and answer.seconds_per_step == pytest.approx(per_step)
    assert answer.target_loss == 0.3 and answer.steps_from == "the critical-batch fit"
    one, two = answer.workers[1], answer.workers[2]
    assert one.seconds_to_target == pytest.approx(steps * per_step)
    assert two.seconds_to_target == pytest.approx(steps * per_step / 1.6) and two.speedup_measured_here
    # the range: any W = 1 run against any W run, 9 / 6.5 to 11 / 6
    assert two.seconds_to_target_range == pytest.approx((steps * per_step * 6 / 11, steps * per_step * 6.5 / 9))
    words = answer.larger_batch_words(2)  # S(16) = 100 (1 + 2) = 300 steps instead of 500
    assert (
        "below B_crit = 32" in words and "would still cut the steps to the target by 40% (300 instead of 500)" in words
    )
    beyond = times_to_target(
        _one_configuration().assign(batch_size=128), None, [critical], [], x="n_params", group_by="train_size"
    )[0]
    assert "at or beyond B_crit" in beyond.larger_batch_words(2) and "buys little" in beyond.larger_batch_words(2)
    assert set(beyond.workers) == {1}  # no speedup measured: no time invented for any W > 1


def test_the_fit_s_interval_widens_the_time_and_a_batch_inside_b_crit_s_interval_is_not_determined():
    covariance = np.diag([25.0, 160000.0])  # S_min 100 +/- 5 steps, E_min 3200 +/- 400 examples (sd)
    critical = CriticalBatch(
        {"width": 16}, 1600.0, 0.3, [8, 32, 128], s_min=100.0, e_min=3200.0, covariance=covariance, dof=4
    )
    t = stats.t.ppf(0.975, 4)
    steps_half = t * math.sqrt(25 + 160000 / 8**2)  # S(8) = S_min + E_min / 8, linear in both
    assert critical.steps_interval(8) == pytest.approx((500 - steps_half, 500 + steps_half))
    b_half = t * math.sqrt((3200 / 100**2) ** 2 * 25 + (1 / 100) ** 2 * 160000)  # delta method on E_min / S_min
    assert critical.b_crit_interval == pytest.approx((32 - b_half, 32 + b_half))
    speedup = DataParallelSpeedup({"width": 16}, 1600.0, 2, 10.0, 6.25, 3, 3, False, (9.0, 11.0), (6.0, 6.5))
    (answer,) = times_to_target(_one_configuration(), None, [critical], [speedup], x="n_params", group_by="train_size")
    per_step = 30.0 / (10 * 200)
    assert answer.workers[2].seconds_to_target_range == pytest.approx(
        ((500 - steps_half) * per_step * 6 / 11, (500 + steps_half) * per_step * 6.5 / 9)
    )
    assert "below B_crit = 32 (95% 20 to 44)" in answer.larger_batch_words(2)
    (inside,) = times_to_target(
        _one_configuration().assign(batch_size=32), None, [critical], [], x="n_params", group_by="train_size"
    )
    assert "is within the interval of B_crit" in inside.larger_batch_words(2)
    assert "may or may not pay" in inside.larger_batch_words(2)
    no_dof = CriticalBatch({"width": 16}, 1600.0, 0.3, [8, 32, 128], s_min=100.0, e_min=3200.0, covariance=covariance)
    assert no_dof.steps_interval(8) is None and no_dof.b_crit_interval is None  # said 'not determined', never nan
    few_steps = CriticalBatch(
        {"width": 16}, 1600.0, 0.3, [8, 32, 128], s_min=2.0, e_min=8.0, covariance=np.diag([1.0, 64.0]), dof=40
    )
    half = stats.t.ppf(0.975, 40) * math.sqrt(1 + 64 / 8**2)  # S(8) = 3 steps +/- 2.86: a low end of 0.14
    assert few_steps.steps_interval(8) == pytest.approx((1.0, 3 + half))  # no fewer than one step (seen: 0.876)


def test_without_a_fit_the_steps_are_measured_on_the_run_s_own_curve():
    curve = pd.DataFrame({"run_key": "w16", "epoch": range(1, 11), "train_loss": [5, 4, 3, 2, 1, 1.5, 2, 2, 2, 2]})
    (answer,) = times_to_target(_one_configuration(), curve, [], [], x="n_params", group_by="train_size")
    assert answer.target_loss == 1 and answer.steps_from == "measured on its curve"
    assert answer.steps_to_target == 5 * 200 and answer.workers[1].seconds_to_target == pytest.approx(15.0)
    assert answer.b_crit is None and "B_crit not determined" in answer.larger_batch_words(2)
    assert times_to_target(_one_configuration(), None, [], [], x="n_params", group_by="train_size") == []


def _batch_sweep_with_two_workers():
    """The paper's model of test_batch_size (B_crit = 32), timed at 1 ms per example, and every run
    again with 2 workers: 1.5x faster at batch 8 (the batch the laws use), 1.1x at the others."""
    runs, curves = _sweep(widths=(16, 32, 64), epochs=EPOCHS)
    runs = runs.assign(epochs=EPOCHS, train_seconds=1e-3 * EPOCHS * 1600, data_parallel=1)
    speedup = runs["batch_size"].map(lambda batch: 1.5 if batch == 8 else 1.1)
    two = runs.assign(data_parallel=2, run_key=runs["run_key"] + "-w2", train_seconds=runs["train_seconds"] / speedup)
    return pd.concat([runs, two], ignore_index=True), curves


def test_the_analysis_and_the_report_predict_the_time_to_the_target_with_the_measured_workers():
    from scalinglab.report.html import _parallelism_sections

    runs, curves = _batch_sweep_with_two_workers()
    analysis = analyze(runs, curves=curves, n_bootstrap=20)
    assert analysis.reference["batch_size"] == 8  # all equal: the first
    # recommend --workers and the time divide by the speedup at batch 8, not the median over batch sizes (1.1x)
    assert len(analysis.speedups) == 18 and len(analysis.reference_speedups) == 3
    assert all(answer.speedup == pytest.approx(1.5) for answer in analysis.reference_speedups)
    assert len(analysis.time_to_target) == 3 and analysis.time_to_target_at(3) == []
    for answer in analysis.time_to_target:
        # the paper's model: S_min = 100 (1 / L - 1) steps to loss L, 1 ms per example, the speedup at batch 8
        truth = 100 * (1 / answer.target_loss - 1) * (1 + B_CRIT / answer.batch_size) * answer.batch_size * 1e-3
        assert answer.workers[2].seconds_to_target == pytest.approx(truth / 1.5, rel=0.05)
        assert answer.workers[2].seconds_to_target_range == pytest.approx((truth / 1.5,) * 2, rel=0.05)
    (section,) = _parallelism_sections(analysis)
    assert "with 2 workers, from" in section.sentences[-1] and "each to its own target" in section.sentences[-1]
    caption, table = section.tables[-1]
    assert caption.startswith("Predicted time to each size's target") and "seconds_to_target" in table
    assert "nan" not in table.lower() and "inf" not in table.replace("info", "")


def test_a_sweep_without_workers_measured_says_so_and_prints_no_nan():
    from scalinglab.report.html import _parallelism_sections

    runs, curves = _sweep(widths=(16, 32, 64), epochs=EPOCHS)
    runs = runs.assign(epochs=EPOCHS, train_seconds=1.0)
    analysis = analyze(runs, curves=curves, n_bootstrap=20)
    assert all(set(answer.workers) == {1} for answer in analysis.time_to_target)
    (section,) = _parallelism_sections(analysis)
    assert (
        "no W > 1 was measured" in section.sentences[-1] and "training.data_parallel = [1, 2]" in section.sentences[-1]
    )
    assert all("nan" not in text.lower() for text in [*section.sentences, *(table for _, table in section.tables)])
    assert "no configuration" in time_sentence([])
