"""The sentences read by the report and the terminal summary, on a sweep from a known law."""

from __future__ import annotations

import pytest
from synthetic_truth import truth_frame

from scalinglab.analysis import analyze
from scalinglab.analysis.sentences import describe_fit, joint_law_sentences, summary_lines


@pytest.fixture(scope="module")
def analysis():
    return analyze(truth_frame(seeds=(0, 1), noise=0.003, random_state=1), n_bootstrap=50)


def test_joint_sentences_give_every_parameter_the_optimum_and_the_data_limit(analysis):
    sentences = joint_law_sentences(analysis.joint)
    assert all(f"{name} = " in sentences[0] for name in ("E", "A", "B", "alpha", "beta"))
    assert "intervals resample whole configurations" in sentences[0]
    assert sum("the compute-optimal model has N* =" in s for s in sentences) == 5  # 3 in the sweep, 10x, 100x
    assert any(s.startswith("With your 2,000 examples, models beyond ~") for s in sentences)


def test_a_resolved_floor_is_quoted_and_an_unresolved_one_is_not():
    with_floor = analyze(truth_frame(seeds=(0,), noise=0.0), n_bootstrap=0)
    assert "approaches a floor of" in describe_fit(with_floor.groups.fits[-1])
    floorless = analyze(truth_frame(seeds=(0,), noise=0.0, data_sizes=(1000,), loss=lambda n, d: 40.0 * n**-0.35),
                        n_bootstrap=0)
    assert "shows no floor within these sizes" in describe_fit(floorless.groups.fits[0])


def test_the_terminal_summary_reads_the_same_analysis(analysis):
    lines = summary_lines(analysis)
    assert [line for line in lines if line.startswith("With train_size")] == [describe_fit(f) for f in analysis.groups.fits]
    assert joint_law_sentences(analysis.joint)[0] in lines
    assert all(f"[yellow]warning:[/] {w}" in lines for w in analysis.warnings)
    if analysis.fit_diagnostics:
        assert any(line.startswith(f"{len(analysis.fit_diagnostics)} fit diagnostics") for line in lines)
