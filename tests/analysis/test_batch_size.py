"""The critical batch size from a batch-size sweep (analysis.batch_size; McCandlish et al. 2018)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from scalinglab.analysis.batch_size import CriticalBatch, critical_batch_sizes, fit_steps_examples, steps_to

B_CRIT = 32.0


def _sweep(widths=(16,), batch_sizes=(8, 16, 32, 64, 128, 256), n_train=1600, epochs=40, noise=30.0):
    """Runs and curves that follow the paper's model exactly: the loss after S steps at batch B is
    1 / (1 + tau / 100) with tau = S / (1 + B_CRIT / B), so the steps to any loss fall as S_min (1 + B_CRIT / B)."""
    runs, curves = [], []
    for width in widths:
        for batch in batch_sizes:
            key = f"w{width}-b{batch}"
            runs.append(
                {
                    "run_key": key,
                    "status": "ok",
                    "seed": 0,
                    "family": "mlp",
                    "width": width,
                    "train_size": n_train,
                    "batch_size": batch,
                    "lr": 1e-3,
                    "n_params": 100.0 * width,
                    "n_train": n_train,
                    "val_loss": 1.0,
                    "gradient_noise_scale": noise,
                }
            )
            steps_per_epoch = math.ceil(n_train / batch)
            for epoch in range(1, epochs + 1):
                tau = epoch * steps_per_epoch / (1 + B_CRIT / batch)
                curves.append({"run_key": key, "epoch": epoch, "train_loss": 1 / (1 + tau / 100)})
    return pd.DataFrame(runs), pd.DataFrame(curves)


def test_the_fit_recovers_the_critical_batch_size_of_the_paper_s_model():
    runs, curves = _sweep(widths=(16, 32))
    answers = critical_batch_sizes(runs, curves)
    assert [answer.configuration for answer in answers] == [{"width": 16}, {"width": 32}]
    answer = answers[0]
    assert answer.b_crit == pytest.approx(B_CRIT, rel=0.05)
    # the target is the lowest loss the largest batch (fewest steps) reached
    assert answer.target_loss == pytest.approx(1 / (1 + 40 * 7 / (1 + B_CRIT / 256) / 100))
    sentence = answer.sentence()
    assert "batches beyond about 3" in sentence and "noise scale" in sentence and "McCandlish" in sentence


def test_no_answer_without_a_batch_size_sweep_or_with_too_few_batch_sizes():
    runs, curves = _sweep(batch_sizes=(32,))
    assert critical_batch_sizes(runs, curves) == []
    runs, curves = _sweep(batch_sizes=(16, 64))
    (answer,) = critical_batch_sizes(runs, curves)
    assert answer.b_crit is None and "fewer than the 3" in answer.sentence()
    assert critical_batch_sizes(runs, None) == []


def test_steps_that_do_not_fall_with_batch_size_give_no_critical_batch_size():
    s_min, e_min, note = fit_steps_examples([8, 32, 128], [100.0, 200.0, 400.0])  # more steps at larger batches
    assert s_min is None and e_min is None and "did not fall" in note


def test_steps_to_a_target_interpolate_between_epochs():
    curve = pd.Series([1.0, 0.5, 0.25], index=[1, 2, 3])
    assert steps_to(curve, 0.75, 10) == pytest.approx(15)
    assert steps_to(curve, 2.0, 10) == 10  # reached by the first epoch


def test_the_analysis_and_the_report_say_how_far_each_size_parallelizes():
    from scalinglab.analysis import analyze
    from scalinglab.report.html import _parallelism_sections

    runs, curves = _sweep(widths=(16, 32, 64))
    analysis = analyze(runs, curves=curves, n_bootstrap=20)
    assert [answer.configuration["width"] for answer in analysis.critical_batch] == [16, 32, 64]
    (section,) = _parallelism_sections(analysis)
    assert section.title == "How far does each size parallelize?"
    *per_size, law = section.sentences
    assert len(per_size) == 3 and all("buy little" in sentence for sentence in per_size)
    assert "B_crit(L) is not fitted: every size reached its target at the same loss" in law  # as in the paper's model
    assert "B_crit" in section.tables[0][1]
    assert analyze(runs, n_bootstrap=20).critical_batch == []  # no curves, no answer


def test_a_critical_batch_size_outside_the_batches_tried_is_said_so_with_what_would_place_it():
    """A real sweep of batches 8, 16, 32 fitted B_crit = 2.94: below every batch tried, an extrapolation."""
    below = CriticalBatch({"width": 4}, 310.0, 2.05, [8, 16, 32], s_min=50.0, e_min=150.0)
    assert "below the smallest batch tried (8)" in below.sentence() and "smaller batches" in below.sentence()
    assert "its interval not determined" in below.sentence()
    beyond = CriticalBatch({"width": 4}, 310.0, 2.05, [8, 16, 32], s_min=50.0, e_min=5000.0)
    assert "beyond the largest batch tried (32)" in beyond.sentence()
    inside = CriticalBatch({"width": 4}, 310.0, 2.05, [8, 16, 32], s_min=50.0, e_min=800.0)
    assert "tried (" not in inside.sentence() and "about 16 examples" in inside.sentence()
