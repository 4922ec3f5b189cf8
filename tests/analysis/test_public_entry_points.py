"""The public entry points of the post-sweep steps: one analysis, read by recommend and the report."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
from synthetic_truth import truth_frame

import scalinglab


def test_importing_scalinglab_does_not_import_the_analysis_or_torch():
    code = "import sys, scalinglab; print('scalinglab.analysis' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


@pytest.mark.slow
def test_analyze_recommend_write_report(tmp_path):
    analysis = scalinglab.analyze(truth_frame(seeds=(0,)), n_bootstrap=50)
    choice = scalinglab.recommend(analysis, scalinglab.Budgets(train_flops=1e9))
    assert choice.usage["train_flops"]["predicted"] <= 1e9
    module = importlib.import_module("scalinglab.recommendation")  # its module no longer shares the function's name
    assert callable(scalinglab.recommend) and module.recommend is scalinglab.recommend
    html = scalinglab.write_report(tmp_path / "r.html", analysis).read_text()
    assert "How should size and data grow together?" in html and "Joint law of size and data" in html
