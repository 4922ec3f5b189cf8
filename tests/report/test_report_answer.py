"""The report's first line: the answer, with any extrapolation said in it, not below it."""

from __future__ import annotations

import re

import pytest
from synthetic_runs import synthetic_runs

from scalinglab.analysis import analyze
from scalinglab.recommend import Budgets


@pytest.mark.slow
def test_an_extrapolated_answer_says_so_in_its_first_line(tmp_path):
    from scalinglab.report.html import write_report

    analysis = analyze(synthetic_runs(), n_bootstrap=20)
    html = write_report(tmp_path / "r.html", analysis, budgets=Budgets(train_seconds=1e5)).read_text()
    answer = re.search(r'<p class="answer">(.*?)</p>', html, re.S).group(1)
    assert answer.startswith("Warning: the recommendation is") and "beyond the largest trained size" in answer
    assert "Train about" in answer
