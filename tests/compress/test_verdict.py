"""The verdict, figure data and report section, from compression rows (synthetic where the
arithmetic is checked, a real compressed store for the report in a browser)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from scalinglab.compress.verdict import mean_interval, seed_summary, sensitivity, verdicts
from scalinglab.pareto import pareto_mask
from scalinglab.report.compress_figures import compress_pareto_data, complexity_data, sensitivity_data


def _row(method, variant, parent_size, seed, loss, bytes_, **extra):
    return {"compression_key": f"{variant}-{parent_size}-{seed}", "parent_run_key": f"p{parent_size}-{seed}",
            "method": method, "variant": variant, "student": None, "parent_n_params": parent_size,
            "train_size": 1000, "seed": seed, "status": "ok", "error": None, "val_loss": loss,
            "bytes_deployed": bytes_, "n_params": extra.pop("n_params", parent_size), **extra}


@pytest.fixture
def rows() -> pd.DataFrame:
    """Two trained sizes (1k and 10k parameters) over three seeds, and pruning of the larger one."""
    data = []
    for seed, noise in enumerate((-0.01, 0.0, 0.01)):
        data.append(_row("none", "none", 1000, seed, 0.50 + noise, 4000, effective_rank_fraction=0.9))
        data.append(_row("none", "none", 10000, seed, 0.20 + noise, 40000, effective_rank_fraction=0.8))
        data.append(_row("prune", "prune sparsity=0.9", 10000, seed, 0.30 + noise, 3900, sparsity=0.9, finetune_epochs=0))
        data.append(_row("prune", "prune sparsity=0.5", 10000, seed, 0.21 + noise, 22000, sparsity=0.5, finetune_epochs=0))
        data.append(_row("prune", "prune sparsity=0.5", 1000, seed, 0.55 + noise, 2200, sparsity=0.5, finetune_epochs=0))
    return pd.DataFrame(data)


def test_seed_summary_is_the_mean_and_the_student_t_interval(rows):
    summary = seed_summary(rows, ["val_loss"])
    trained = summary[(summary["method"] == "none") & (summary["parent_n_params"] == 1000)].iloc[0]
    values = np.array([0.49, 0.50, 0.51])
    half = stats.t.ppf(0.975, 2) * values.std(ddof=1) / np.sqrt(3)
    assert trained["val_loss"] == pytest.approx(0.5)
    assert (trained["val_loss_low"], trained["val_loss_high"]) == pytest.approx((0.5 - half, 0.5 + half))
    assert trained["n_seeds"] == 3
    assert all(np.isnan(mean_interval(np.array([1.0]))))


def test_verdict_at_each_trained_size_compares_the_best_of_each_within_budget(rows):
    found = verdicts(rows, cost="bytes_deployed")
    assert [v.budget for v in found] == [4000, 40000]
    small = found[0]  # at 4 kB: pruning the 10k model to 0.9 (3.9 kB, loss 0.30) vs training 1k (loss 0.50)
    assert small.compressed["variant"] == "prune sparsity=0.9" and small.decision == "compress"
    assert "At 4 kB" in small.sentence() and "0.3 (95% CI" in small.sentence() and small.sentence().endswith("compress.")
    large = found[1]  # at 40 kB: the trained 10k model (0.20) beats pruning at 0.5 (0.21): intervals overlap
    assert large.trained["parent_n_params"] == 10000 and large.decision == "tie"


def test_pareto_mask_keeps_only_what_no_cheaper_point_beats():
    cost = np.array([1.0, 2.0, 3.0, 3.0, 4.0])
    loss = np.array([0.5, 0.6, 0.4, 0.45, 0.4])
    assert pareto_mask(cost, loss).tolist() == [True, False, True, False, False]


def test_figure_data(rows):
    pareto = compress_pareto_data(rows, "bytes_deployed")
    assert pareto.training.cost.tolist() == [4000, 40000]
    assert [p.name for p in pareto.methods] == ["magnitude pruning"]
    assert pareto.methods[0].on_frontier.tolist() == [True, True, True]  # 2.2 kB 0.55, 3.9 kB 0.30, 22 kB 0.21
    curve = sensitivity(rows, "prune")
    big = curve[curve["parent_n_params"] == 10000].set_index("sparsity")["val_loss_change"]
    assert big.to_dict() == pytest.approx({0.5: 0.01, 0.9: 0.10})
    data = sensitivity_data(rows, "prune")
    assert [s.name for s in data.series] == ["1k parameters", "10k parameters"]
    assert complexity_data(rows).measures["effective_rank_fraction"][1].tolist() == [0.9, 0.8] * 3


@pytest.mark.slow
@pytest.mark.browser
def test_report_with_the_compression_section_loads_in_headless_chromium(trained_store, tmp_path):
    from cli_helpers import run_cli

    sys.path.insert(0, str(Path(__file__).parents[1] / "report"))
    from headless_chromium import find_chromium, visit

    if find_chromium() is None:
        pytest.fail("chromium is not installed: run `bash scripts/setup.sh dev` (Debian package 'chromium')")
    made = run_cli("compress", str(trained_store), "--methods", "none,prune,quantize,cluster",
                   "--set", "prune.finetune_epochs=0")
    assert made.returncode == 0, made.stderr
    report = run_cli("report", str(trained_store))
    assert report.returncode == 0, report.stderr
    page = visit(trained_store / "report.html", tmp_path / "profile")
    assert page.errors == [] and page.console == [] and page.remote_requests == []
    assert "Compress or train small?" in page.text and "Compressed vs trained" in (trained_store / "report.html").read_text()
    assert all(image["complete"] and image["width"] > 0 for image in page.images), page.images


def test_best_within_budgets_takes_compressed_candidates_unless_told_not_to(rows):
    from scalinglab.compress.verdict import best_within_budgets

    tight = best_within_budgets(rows, {"storage_mb": 0.0045})  # 4.5 kB: the 1k model or 0.9-sparse 10k model
    assert tight["variant"] == "prune sparsity=0.9"
    assert best_within_budgets(rows, {"storage_mb": 0.0045}, include_compressed=False)["parent_n_params"] == 1000
    assert best_within_budgets(rows, {"storage_mb": 0.001}) is None


def test_distillation_is_compared_with_the_same_size_trained_from_labels(rows):
    from scalinglab.compress.verdict import distillation_sentences

    distilled = [_row("distill", "distill temperature=4.0 alpha=0.5", 10000, seed, 0.40 + noise, 4000, n_params=1000)
                 for seed, noise in enumerate((-0.01, 0.0, 0.01))]
    sentences = distillation_sentences(pd.concat([rows, pd.DataFrame(distilled)], ignore_index=True))
    assert len(sentences) == 1
    assert "the 1k-parameter model reaches val_loss 0.4 (95% CI" in sentences[0]
    assert "against 0.5 (95% CI" in sentences[0] and sentences[0].endswith("distillation helps.")


def test_tally_counts_decisions_and_better_means(rows):
    from scalinglab.compress.verdict import verdict_tally

    tally = verdict_tally(verdicts(rows, cost="bytes_deployed"))
    assert tally == ("Of 2 budgets of bytes on disk (one per trained size), compressing wins at 1, training small at 0, "
                     "and 1 are ties within the 95% intervals; on the means alone, a compressed model is better at 1.")
