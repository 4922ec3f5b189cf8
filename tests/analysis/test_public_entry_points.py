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


def test_a_table_from_elsewhere_keeps_its_sizes_apart_when_averaging_seeds():
    """Seen: a user's frame of n_params, train_size, val_loss and seed (no width or depth) was
    averaged as one configuration: "unstable seeds ... over 18 seeds" for 6 sizes of 3 seeds."""
    import numpy as np
    import pandas as pd

    from scalinglab.analysis.runs import aggregate_over_seeds

    sizes = np.repeat([1e6, 1e7, 1e8], 3)
    frame = pd.DataFrame(
        {"n_params": sizes, "train_size": 1000, "seed": [0, 1, 2] * 3, "val_loss": 2 + 50 * sizes**-0.3, "status": "ok"}
    )
    means = aggregate_over_seeds(frame)
    assert list(means["n_params"]) == [1e6, 1e7, 1e8] and (means["n_seeds"] == 3).all()
