"""Every figure of a report is readable as headless Chromium shows it (issue 19, item 2): the image
decodes, every axis has at least two labelled ticks, and no axis spans more than 20x its data.
Without chromium the browser tests skip, or fail where CI requires it (tests/optional_components.py)."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic_runs import synthetic_runs

from scalinglab.analysis import analyze
from scalinglab.report import write_report
from scalinglab.report.browser_check import MAX_RANGE_FACTOR, axis_problems, check_report, figure_problems
from scalinglab.report.drawn_axes import mark_data
from scalinglab.report.parts import render_figure


@pytest.mark.browser
def test_every_figure_of_a_real_sweeps_report_is_readable(sweep_out):
    assert check_report(sweep_out / "report.html") == []


@pytest.mark.browser
def test_every_figure_of_a_report_with_a_joint_law_and_isoflop_curves_is_readable(tmp_path):
    """The IsoFLOP figure once took its y-limits from curves that exploded at small budgets (0 to 42
    for optima below 1.5): every valley was squashed flat against the axis."""
    analysis = analyze(synthetic_runs(), n_bootstrap=20)
    html = write_report(tmp_path / "report.html", analysis)
    assert "IsoFLOP curves of the joint law" in html.read_text()
    assert check_report(html) == []


def _axis(limits, data, ticks=("1", "2"), scale="linear") -> dict:
    return {
        "label": "loss",
        "scale": scale,
        "limits": list(limits),
        "data": None if data is None else list(data),
        "ticks": list(ticks),
    }


def test_an_exploding_curve_that_sets_the_limits_is_a_problem():
    """Real matplotlib: points marked as data, an unmarked extrapolation that autoscales y to 1e4."""

    def draw(_, ax):
        mark_data(*ax.plot([1, 2, 3], [1.0, 1.5, 2.0], "o"))
        ax.plot(np.linspace(0, 4, 50), np.exp(np.linspace(0, 4, 50) * 2.3), "-")

    drawn = render_figure("exploding", draw, None)
    record = {
        "title": "exploding",
        "complete": True,
        "natural_width": 640,
        "shown_width": 440,
        "axes": drawn.axes,
        "axes_error": None,
    }
    problems = figure_problems([record])
    assert len(problems) == 1 and "y axis" in problems[0] and "its data 1 to 2" in problems[0]


def test_an_axis_is_judged_by_its_ticks_and_its_span_in_decades_when_log():
    assert axis_problems(_axis((0, 10), (1, 2))) == []
    assert "fewer than 2" in axis_problems(_axis((0, 10), (1, 2), ticks=("5",)))[0]
    assert "span 21x" in axis_problems(_axis((0, 21), (1, 2)))[0]
    assert axis_problems(_axis((1, 1e20), (10, 100), scale="log")) == []  # 20 decades over 1: the limit itself
    assert axis_problems(_axis((1, 1e21), (10, 100), scale="log"))
    assert "no data marked" in axis_problems(_axis((0, 1), None))[0]


def test_one_value_counts_as_spanning_ten_percent_either_side():
    assert axis_problems(_axis((0, 4 * 5.0), (5.0, 5.0))) == []  # 20 x 0.2 x 5
    assert axis_problems(_axis((0, 4.1 * 5.0), (5.0, 5.0)))
    assert axis_problems(_axis((-20, 20), (0.0, 0.0))) == [] and axis_problems(_axis((-21, 21), (0.0, 0.0)))
    decades = MAX_RANGE_FACTOR * np.log10(1.1 / 0.9)
    assert axis_problems(_axis((1, 10 ** (decades * 0.99)), (3.0, 3.0), scale="log")) == []


def test_an_image_that_did_not_decode_or_has_no_axes_is_a_problem():
    record = {
        "title": "t",
        "complete": True,
        "natural_width": 0,
        "shown_width": 440,
        "axes": None,
        "axes_error": "SyntaxError",
    }
    assert figure_problems([record]) == [
        "t: the image did not decode or is not shown",
        "t: no axes recorded (SyntaxError)",
    ]
    assert figure_problems([]) == ["no figure at all"]
