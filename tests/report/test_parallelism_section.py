"""Runs that differ only in `training.data_parallel` (issue 24): the measured speedup per size
(analysis.speedup), which sizes benefit by its rule, the report's "How far does each size
parallelize?" table, and `recommend --workers W`'s time budgets at that speedup."""

from __future__ import annotations

import pandas as pd
import pytest
from synthetic_runs import WIDTHS, synthetic_runs

from scalinglab.analysis import analyze
from scalinglab.analysis.speedup import benefit_sentences, speedup_at
from scalinglab.errors import UserError
from scalinglab.recommendation import Budgets, recommend


def _speedup(width: int) -> float:
    return 1.1 if width <= 32 else 1.8  # the small sizes gain little from a second worker


def _runs_with_two_workers() -> pd.DataFrame:
    one = synthetic_runs().assign(data_parallel=1, batch_runs=1.0)
    two = one.assign(
        data_parallel=2,
        run_key=one["run_key"] + "-w2",
        train_seconds=one["train_seconds"] / one["width"].map(_speedup),
        val_loss=one["val_loss"] * (1 + 1e-7),  # equal within float noise
    )
    return pd.concat([one, two], ignore_index=True)


@pytest.fixture(scope="module")
def analysis():
    return analyze(_runs_with_two_workers(), n_bootstrap=20)


def test_the_speedup_of_each_size_is_measured_from_the_runs_and_the_laws_are_one_workers(analysis):
    assert analysis.reference["data_parallel"] == 1 and set(analysis.runs["data_parallel"]) == {1}
    assert len(analysis.speedups) == len(WIDTHS) * 3  # every width at every data size
    for answer in analysis.speedups:
        width = answer.configuration["width"]
        assert answer.workers == 2 and answer.speedup == pytest.approx(_speedup(width))
        assert answer.efficiency == pytest.approx(_speedup(width) / 2)
        assert answer.benefits == (width > 32)
    assert not [effect for effect in analysis.settings if effect.setting == "data_parallel"]  # time only: no "best W"
    (sentence,) = benefit_sentences(analysis.speedups)
    assert sentence.startswith("Measured with 2 data-parallel workers against one: the sizes of 20.5k (1.80x)")
    assert "those of 905 (1.10x)" in sentence and "do not" in sentence and "at least 1.3x" in sentence


def test_a_speedup_beyond_what_w_workers_can_give_is_timing_noise_and_not_counted():
    """A one-worker run slowed by a busy machine reads as a 13.6x speedup with 2 workers: shown as
    timing noise, never as a size that benefits, and not carried to other sizes."""
    runs = _runs_with_two_workers()
    smallest = runs["width"] == runs["width"].min()
    runs.loc[smallest & (runs["data_parallel"] == 1), "train_seconds"] *= 13.6 / 1.1
    noisy = analyze(runs, n_bootstrap=20)
    small = [answer for answer in noisy.speedups if answer.configuration["width"] == runs["width"].min()]
    assert small and all(not answer.plausible and not answer.benefits for answer in small)
    assert {answer.row()["benefits"] for answer in small} == {"not counted: timing noise"}
    sizes = sorted({answer.n_params for answer in noisy.speedups})
    assert speedup_at(noisy.speedups, 2, [sizes[0]]) == pytest.approx([1.1])  # the next size's, held
    measured, noise = benefit_sentences(noisy.speedups)
    assert "13.6x" not in measured and noise.startswith("Not counted: 3 configuration(s) measured 13.6x")
    assert "more than 2.5x" in noise


def test_speedup_between_sizes_is_interpolated_in_log_params_and_held_beyond_them(analysis):
    sizes = sorted({answer.n_params for answer in analysis.speedups})
    at = speedup_at(analysis.speedups, 2, [sizes[0] / 10, sizes[-1] * 10, (sizes[2] * sizes[3]) ** 0.5])
    assert at == pytest.approx([1.1, 1.8, (1.1 + 1.8) / 2])
    assert speedup_at(analysis.speedups, 3, [sizes[0]]) is None


def test_recommend_with_workers_divides_the_time_by_the_measured_speedup(analysis):
    budget = Budgets(train_seconds=float(analysis.runs["train_seconds"].median()))
    alone, two = recommend(analysis, budget), recommend(analysis, budget, workers=2)
    assert two.n_params >= alone.n_params and "1.80x" in two.workers_note and not alone.workers_note
    used = two.usage["train_seconds"]["predicted"]
    assert used <= budget.train_seconds
    three = recommend(analysis, budget, workers=3)
    assert three.n_params == alone.n_params
    assert any("no data-parallel measurement at 3 workers" in warning for warning in three.warnings)


def test_recommend_with_workers_counts_the_whole_run_not_the_time_to_the_target_loss(analysis):
    """Curves whose lowest training loss comes halfway through: the report predicts the target is
    reached in half a run (over the measured speedup), but the quality recommend quotes is the whole
    run's, so its time budget counts the whole run: a budget of the time to the target alone does
    not fit the largest size."""
    runs = _runs_with_two_workers().assign(epochs=10, batch_size=10)
    runs["n_train"] = runs["train_size"]
    losses = [5, 4, 3, 2, 1, 1.5, 2, 2, 2, 2]
    curves = pd.DataFrame(
        [
            {"run_key": key, "epoch": epoch, "train_loss": loss}
            for key in runs["run_key"]
            for epoch, loss in zip(range(1, 11), losses)
        ]
    )
    with_curves = analyze(runs, curves=curves, n_bootstrap=20)
    largest = max(with_curves.time_to_target_at(2), key=lambda answer: (answer.n_params, answer.group))
    one_worker = runs[(runs["run_key"] == f"256-{largest.group:g}-0")]["train_seconds"].iloc[0]
    assert largest.workers[2].seconds_to_target == pytest.approx(one_worker / 2 / 1.8)
    budget = Budgets(train_seconds=largest.workers[2].seconds_to_target * 1.001)
    chosen = recommend(with_curves, budget, workers=2, max_extrapolation=1)
    assert chosen.n_params < largest.n_params and "target" not in chosen.workers_note
    assert chosen.usage["train_seconds"]["predicted"] <= budget.train_seconds


def test_workers_below_one_is_refused_before_any_work(tmp_path):
    from scalinglab.api import recommend_for_sweep

    with pytest.raises(UserError, match="--workers 0"):
        recommend_for_sweep(tmp_path / "nothing-here", Budgets(train_seconds=1.0), workers=0)


@pytest.mark.slow  # a whole report with figures: several seconds
def test_the_report_shows_the_measured_speedup_table(tmp_path, analysis):
    from scalinglab.report.html import write_report

    html = write_report(tmp_path / "r.html", analysis).read_text()
    section = html[html.index("How far does each size parallelize?") :]
    assert "Measured data-parallel speedup per size" in section and "Measured with 2 data-parallel workers" in section
    assert "W = 1 timed" in section and "alone" in section
