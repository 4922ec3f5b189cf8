"""The report's first line: the answer, with any extrapolation said in it, not below it."""

from __future__ import annotations

import re

import numpy as np
import pytest
from synthetic_runs import synthetic_runs

from scalinglab.analysis import analyze
from scalinglab.recommendation import Budgets


@pytest.mark.slow
def test_an_extrapolated_answer_says_so_in_its_first_line(tmp_path):
    from scalinglab.report.html import write_report

    analysis = analyze(synthetic_runs(), n_bootstrap=20)
    html = write_report(tmp_path / "r.html", analysis, budgets=Budgets(train_seconds=1e5)).read_text()
    answer = re.search(r'<p class="answer">(.*?)</p>', html, re.S).group(1)
    assert answer.startswith("Warning: the recommendation is") and "beyond the largest trained size" in answer
    assert re.search(r"[a-z0-9)]\. Train about", answer)  # the warning ends as a sentence before the answer


@pytest.mark.slow
def test_the_first_screen_is_the_answer_a_figure_the_law_and_what_to_do_next(tmp_path):
    """Issue 19, item 1: before any section, the recommendation, one figure, the law in one
    sentence, next steps, and at most three warnings (the rest folded away)."""
    from scalinglab.analysis.sentences import size_sentences
    from scalinglab.report.html import FIRST_SCREEN_WARNINGS, write_report

    analysis = analyze(synthetic_runs(seeds=(0, 1), seed_noise=0.3), n_bootstrap=20)
    analysis.warnings += [f"made-up warning {i}" for i in range(5)]  # more than fit on a first screen
    html = write_report(tmp_path / "r.html", analysis).read_text()
    first_screen = html[html.index('<p class="answer">') : html.index("<nav>")]
    shown = first_screen.split("<details>")[0]
    assert shown.count('class="warning"') == FIRST_SCREEN_WARNINGS
    assert first_screen.count('class="warning"') == len(analysis.warnings)  # none lost, only folded
    assert "<img" in shown and "Next" in shown and "scalinglab recommend" in shown
    assert size_sentences(analysis)[-1] in shown
    assert "2 seeds per configuration leave them wide" in shown and "seeds=[0, 1, 2, 3]" in shown  # how to narrow them
    runs_table = html[html.index('id="runs"') :]
    assert not re.search(r"\de[+-]\d", runs_table)  # 26.1k, not 2.61e+04


def test_a_value_and_its_interval_share_one_column():
    import pandas as pd

    from scalinglab.report.html import with_intervals

    table = pd.DataFrame(
        {
            "budget": ["a"],
            "N_opt": [26122.0],
            "N_opt_low": [6540.0],
            "N_opt_high": [65600.0],
            "x": [0.5],
            "x_low": [float("nan")],
            "x_high": [1.0],
        }
    )
    readable = with_intervals(table, {"N_opt": "parameters N*", "x": "x"})
    assert list(readable.columns) == ["budget", "parameters N*", "x"]
    assert readable.iloc[0].tolist() == ["a", "26.1k (6.54k-65.6k)", "0.5"]  # no interval where an end is missing


def test_a_table_cell_with_no_value_is_a_dash_not_nan():
    import pandas as pd

    from scalinglab.report.parts import table_html

    html = table_html(pd.DataFrame({"n_params": [610.0, 682.0], "depth 1": [0.937, float("nan")]}))
    assert "NaN" not in html and "nan" not in html and "<td>–</td>" in html


def test_the_fit_diagnostics_the_terminal_points_to_are_in_the_report_without_a_law():
    """The terminal says "N fit diagnostics ... see the report's 'Can these laws be trusted?'";
    with no law per data size fitted, that section once said only that nothing was held out."""
    from scalinglab.report.html import _trust_section

    runs = synthetic_runs(seeds=(0, 1))
    runs = runs[runs["width"].isin([8, 32, 128])]  # 3 sizes: too few to backtest the cost laws
    nothing_learned = runs.assign(val_loss=2.3 * (1 + np.random.default_rng(0).normal(0, 0.01, len(runs))))
    analysis = analyze(nothing_learned, n_bootstrap=10)
    assert not analysis.groups.fits and analysis.fit_diagnostics
    sentences = _trust_section(analysis).sentences
    assert sentences[0].startswith("No law per data size was fitted")
    assert [s for s in sentences if s.startswith("Fit diagnostic: ")] == [
        f"Fit diagnostic: {diagnostic}." for diagnostic in analysis.fit_diagnostics
    ]
