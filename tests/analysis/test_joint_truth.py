"""The joint law on a sweep drawn from a known L(N, D): parameters, compute-optimal split, data limit."""

from __future__ import annotations

import pytest
from synthetic_truth import ALPHA, BETA, DATA_SIZES, A, B, E, analytic_optimum, truth_frame

from scalinglab.analysis import analyze


@pytest.fixture(scope="module")
def analysis():
    return analyze(truth_frame(noise=0.003, random_state=1), n_bootstrap=200)


@pytest.mark.slow
def test_joint_fit_recovers_both_exponents_inside_their_intervals(analysis):
    law = analysis.joint.law
    for name, truth in (("alpha", ALPHA), ("beta", BETA)):
        low, high = law.ci_[name]
        assert low <= truth <= high, (name, law.ci_[name], law.params_[name])
        assert high - low < 0.5  # an interval that says something
    assert analysis.joint.n_configs == 6 * len(DATA_SIZES)


@pytest.mark.slow
def test_compute_optimal_ratio_is_within_5_percent_of_the_analytic_optimum():
    """0.1% noise: D*/N* moves as the ratio of two fitted power laws, so this checks the pipeline
    (configuration means, the sweep's FLOPs per parameter and example, the allocation)."""
    joint = analyze(truth_frame(noise=0.001, random_state=1), n_bootstrap=100).joint
    optimal = joint.optimal.set_index("budget")
    assert joint.flops_per_param_example == pytest.approx(90.0)
    for budget in ("smallest trained", "largest trained", "10x the largest"):
        row = optimal.loc[budget]
        n_opt, d_opt = analytic_optimum(row["compute"])
        assert row["examples_per_param"] == pytest.approx(d_opt / n_opt, rel=0.05), budget
        assert row["N_opt"] == pytest.approx(n_opt, rel=0.05), budget


@pytest.mark.slow
def test_data_limited_size_matches_the_law():
    analysis = analyze(truth_frame(noise=0.0), n_bootstrap=0)
    limit = analysis.joint.data_limit
    d = max(DATA_SIZES)

    def gain(n):
        loss = E + A * n**-ALPHA + B * d**-BETA
        return A * n**-ALPHA * (1 - 10**-ALPHA) / loss

    assert gain(limit.n_params) < 0.01 <= gain(limit.n_params / 1.05)


@pytest.mark.slow
def test_intervals_resample_configurations_not_seeds():
    """Ten identical seeds per configuration are one configuration each: the intervals must not
    narrow, as they would if the bootstrap drew rows."""
    few = analyze(truth_frame(seeds=(0,), random_state=3), n_bootstrap=200).joint.law.ci_["alpha"]
    many = analyze(truth_frame(seeds=tuple(range(10)), random_state=3), n_bootstrap=200).joint.law.ci_["alpha"]
    assert (many[1] - many[0]) > 0.7 * (few[1] - few[0])


def test_too_few_data_sizes_gives_no_joint_law_and_says_why():
    analysis = analyze(truth_frame(data_sizes=(500,)), n_bootstrap=0)
    assert analysis.joint is None
    assert any(w.startswith("the joint law of n_params and train_size needs 3+") for w in analysis.warnings)


def test_two_data_sizes_give_no_joint_law_for_their_data_term_is_any_exponent():
    """Seen with train_size = [360, 1437]: "beta = 9.03 (8.99 to 9.76)" and, 100x beyond the
    compute, "D* = 771 examples ... predicted validation loss 0.018" (the best measured 0.418)."""
    analysis = analyze(truth_frame(seeds=(0,), data_sizes=(400, 1600)), n_bootstrap=50)
    assert analysis.joint is None
    said = next(w for w in analysis.warnings if w.startswith("the joint law of n_params and train_size needs 3+"))
    assert "this sweep has 2 and" in said and "a third train_size would determine it" in said


def test_fewer_configurations_than_the_form_has_parameters_give_no_joint_law_and_say_so():
    """A planned sweep's early rounds (4 of a grid's configurations, 4 sizes and 3 data sizes) ended
    `scalinglab report` with "form 'chinchilla' has 5 parameters but the table has only 4 rows"."""
    frame = truth_frame(seeds=(0,))
    sizes, data = sorted(frame["n_params"].unique())[:4], sorted(frame["train_size"].unique())[:3]
    picks = list(zip(sizes, [data[0], data[1], data[2], data[0]]))
    few = frame[[(n, d) in picks for n, d in zip(frame["n_params"], frame["train_size"])]]
    analysis = analyze(few, n_bootstrap=0)
    assert analysis.joint is None
    assert any("needs 6+ configurations" in w and "this sweep has 4" in w for w in analysis.warnings)


def test_time_law_with_overhead_recovers_its_exponent(analysis):
    time = analysis.groups.costs["train_seconds"]
    assert time.overhead and time.per_example
    assert time.exponent == pytest.approx(1.0, rel=1e-3)  # noiseless times: the interval is a point
    assert time.overhead_value == pytest.approx(2e-4, rel=0.05)
