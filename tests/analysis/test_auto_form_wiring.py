"""form="auto" on the sweep's per-size fits, end to end: a per-size law chosen as the broken power
law goes through analyze, the sentences, the report and recommend; each law's warnings reach the
report's warning list; intervals say whether they are prediction or mean-curve intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scalinglab.analysis import analyze
from scalinglab.analysis.sentences import describe_fit, form_choice_sentence, summary_lines
from scalinglab.recommendation import Budgets, recommend
from scalinglab.report.html import write_report

SECONDS_PER_EXAMPLE = (2e-4, 1e-8)  # t0 + c * N


def broken_power_law_runs(*, sizes: np.ndarray, train_size: int = 1000, noise: float = 0.005) -> pd.DataFrame:
    """One ok run per size (the family's size axis `width` names it) of a loss whose slope flattens from -0.6 to -0.2 past a break at
    1e5 parameters: no single power law fits both sides."""
    rng = np.random.default_rng(0)
    loss = 0.05 + 30.0 * sizes**-0.6 * (1 + (sizes / 1e5) ** 2) ** 0.2
    t0, c = SECONDS_PER_EXAMPLE
    return pd.DataFrame(
        {
            "run_key": [f"run-{i}" for i in range(len(sizes))],
            "status": "ok",
            "error": None,
            "family": "mlp",
            "width": np.arange(len(sizes)) + 1,
            "train_size": train_size,
            "seed": 0,
            "worker": "",
            "n_params": sizes,
            "val_loss": loss * np.exp(rng.normal(0, noise, len(sizes))),
            "train_seconds": train_size * (t0 + c * sizes),
        }
    )


@pytest.fixture(scope="module")
def broken_analysis():
    return analyze(broken_power_law_runs(sizes=np.geomspace(1e3, 1e8, 24)), n_bootstrap=40)


@pytest.mark.slow
def test_the_per_size_law_is_chosen_by_auto_and_its_sentence_quotes_the_local_exponent(broken_analysis):
    (fit,) = broken_analysis.groups.fits
    assert fit.law.form_.name == "bnsl"
    exponent, interval = fit.law.exponent_at(fit.x_range[1])
    assert exponent == pytest.approx(0.2, abs=0.1)  # the slope past the break, not the early 0.6
    sentence = describe_fit(fit)
    assert f"n_params^-{exponent:.2f} (95% CI of the exponent {interval[0]:.2f} to {interval[1]:.2f})" in sentence
    assert "local exponent of the bnsl law" in sentence
    choice = form_choice_sentence(fit)
    assert "the form is bnsl" in choice and all(name in choice for name in ("power", "shifted_power"))
    assert sentence in summary_lines(broken_analysis)


@pytest.mark.slow
def test_report_and_recommend_read_the_bnsl_law(broken_analysis, tmp_path):
    budget = Budgets(train_seconds=float(broken_analysis.runs["train_seconds"].median()))
    choice = recommend(broken_analysis, budget)
    assert choice.ci_low < choice.predicted < choice.ci_high
    assert "95% prediction interval" in choice.sentence()
    html = write_report(tmp_path / "report.html", broken_analysis, budgets=budget).read_text()
    assert "the form is bnsl" in html and "local exponent of the bnsl law" in html
    assert "95% prediction interval" in html


def test_prediction_intervals_are_wider_than_the_mean_curve_beyond_the_data(broken_analysis):
    (fit,) = broken_analysis.groups.fits
    beyond = [fit.x_range[1] * 10]
    mean_low, mean_high = fit.predict_interval(beyond, kind="mean")
    low, high = fit.predict_interval(beyond)
    assert low[0] < mean_low[0] and mean_high[0] < high[0]


@pytest.mark.slow
def test_each_laws_own_warnings_reach_the_report_with_the_law_named(tmp_path):
    # Four sizes: a 3-parameter law has too few at or below half the largest to be backtested.
    analysis = analyze(broken_power_law_runs(sizes=np.geomspace(1e3, 1e6, 4)), n_bootstrap=20)
    (fit,) = analysis.groups.fits
    assert fit.law.warnings_
    expected = [f"val_loss law at train_size=1000 ({fit.law.form_.name}): {w}" for w in fit.law.warnings_]
    assert set(expected) <= set(analysis.fit_diagnostics)
    assert not set(expected) & set(analysis.warnings)  # diagnostics sit with the trust section, not on top
    html = write_report(tmp_path / "report.html", analysis).read_text()
    assert f"Fit diagnostic: {expected[0]}." in html


def test_a_form_chosen_with_no_candidate_scored_says_so_not_that_scores_chose_it():
    """Four sizes leave none held out to score: the report read 'chosen by how well each candidate
    predicts ... (power not scored, shifted_power not scored and bnsl not scored)'."""
    analysis = analyze(broken_power_law_runs(sizes=np.geomspace(1e3, 1e5, 4)), n_bootstrap=0)
    sentence = form_choice_sentence(analysis.groups.fits[0])
    assert "the form is power, the candidate with the fewest parameters: too few sizes" in sentence
    assert "chosen by how well" not in sentence and "not scored" not in sentence


@pytest.mark.slow
def test_a_flat_quality_law_is_said_and_a_cost_laws_trend_is_left_to_the_cost_section():
    """A loss flat in size reaches the diagnostics as 'flat across the data'; the training time,
    all overhead and falling per example as the models grow (seen in the quick start's sweep), does
    not: its overhead law is fitted against N^(-1/5), where 'the data rise with x' read backwards."""
    runs = broken_power_law_runs(sizes=np.geomspace(1e3, 1e6, 8))
    runs["val_loss"] = 0.5 * np.exp(np.random.default_rng(1).normal(0, 1e-4, len(runs)))
    runs["train_seconds"] = runs["train_size"] * 2e-4 * (1 + 0.3 * (runs["n_params"] < 1e4))
    analysis = analyze(runs, n_bootstrap=20)
    (fit,) = analysis.groups.fits
    assert fit.law.diagnostics_.trend  # the quality law is flat...
    assert any("val_loss law" in line and "flat across the data" in line for line in analysis.fit_diagnostics)
    cost_law = analysis.groups.costs["train_seconds"].law
    assert cost_law.diagnostics_.trend  # ...and so, judged by the fit alone, is the cost law
    assert not any(line.startswith("train_seconds law") and "rise with" in line for line in analysis.fit_diagnostics)
    assert not any(line.startswith("train_seconds law") and "flat across" in line for line in analysis.fit_diagnostics)


@pytest.mark.slow
def test_a_cost_with_no_clear_growth_is_not_said_to_grow():
    """'Latency grows as n_params^-0.13 (95% CI -0.38 to 0.11)' said a growth nobody measured (3 sizes:
    the pure power law, as in the audit's sweep)."""
    from scalinglab.analysis.sentences import describe_cost

    runs = pd.concat([broken_power_law_runs(sizes=np.array([1e3, 1e4, 1e5])).assign(seed=seed) for seed in range(3)])
    runs["run_key"] = [f"run-{i}" for i in range(len(runs))]
    runs["latency_ms_p50"] = 0.03 * np.exp(np.random.default_rng(2).normal(0, 0.3, len(runs)))
    cost = analyze(runs, n_bootstrap=50).groups.costs["latency_ms_p50"]
    low, high = cost.exponent_ci
    assert not cost.overhead and low < 0 < high
    sentence = describe_cost(cost)
    assert "shows no clear growth with size" in sentence and "grows as" not in sentence
