"""The verdict, figure data and report section, from compression rows (synthetic where the
arithmetic is checked, a real compressed store end to end and for the report in a browser)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from scalinglab.compress.seed_statistics import MOST_SEEDS, column_interval, mean_interval, seed_summary, sensitivity
from scalinglab.compress.verdict import verdicts
from scalinglab.compress.verdict_words import verdict_sentence, verdict_tally
from scalinglab.pareto import pareto_mask
from scalinglab.report.compress_figures import complexity_data, compress_pareto_data, sensitivity_data


def _row(method, variant, parent_size, seed, loss, bytes_, **extra):
    return {
        "compression_key": f"{variant}-{parent_size}-{seed}",
        "parent_run_key": f"p{parent_size}-{seed}",
        "method": method,
        "variant": variant,
        "student": None,
        "parent_n_params": parent_size,
        "train_size": 1000,
        "seed": seed,
        "status": "ok",
        "error": None,
        "val_loss": loss,
        "bytes_deployed": bytes_,
        "n_params": extra.pop("n_params", parent_size),
        **extra,
    }


@pytest.fixture
def rows() -> pd.DataFrame:
    """Two trained sizes (1k and 10k parameters) over three seeds, and pruning of the larger one."""
    data = []
    for seed, noise in enumerate((-0.01, 0.0, 0.01)):
        data.append(_row("none", "none", 1000, seed, 0.50 + noise, 4000, effective_rank_fraction=0.9))
        data.append(_row("none", "none", 10000, seed, 0.20 + noise, 40000, effective_rank_fraction=0.8))
        data.append(
            _row("prune", "prune sparsity=0.9", 10000, seed, 0.30 + noise, 3900, sparsity=0.9, finetune_epochs=0)
        )
        data.append(
            _row("prune", "prune sparsity=0.5", 10000, seed, 0.21 + noise, 22000, sparsity=0.5, finetune_epochs=0)
        )
        data.append(
            _row("prune", "prune sparsity=0.5", 1000, seed, 0.55 + noise, 2200, sparsity=0.5, finetune_epochs=0)
        )
    return pd.DataFrame(data)


def test_seed_summary_is_the_mean_and_the_t_interval_of_the_mean_log(rows):
    summary = seed_summary(rows, ["val_loss"])
    trained = summary[(summary["method"] == "none") & (summary["parent_n_params"] == 1000)].iloc[0]
    logs = np.log([0.49, 0.50, 0.51])
    half = stats.t.ppf(0.975, 2) * logs.std(ddof=1) / np.sqrt(3)
    assert trained["val_loss"] == pytest.approx(0.5)
    assert (trained["val_loss_low"], trained["val_loss_high"]) == pytest.approx(
        tuple(np.exp([logs.mean() - half, logs.mean() + half]))
    )
    assert trained["n_seeds"] == 3
    assert all(np.isnan(mean_interval(np.array([1.0]))))


def test_intervals_of_positive_quantities_and_fractions_stay_in_their_range():
    two_seeds = np.array([0.05, 2.37])  # the spread: a plain t-interval of two seeds runs far below zero
    assert mean_interval(two_seeds)[0] < 0
    low, high = column_interval("val_loss", two_seeds)
    assert 0 < low < two_seeds.mean() < high
    accuracy = np.array([0.97, 0.995])
    assert mean_interval(accuracy)[1] > 1
    assert column_interval("val_accuracy", accuracy) == (pytest.approx(mean_interval(accuracy)[0]), 1.0)
    gap = np.array([-0.01, 0.03])  # may take either sign: the plain t-interval
    assert column_interval("generalization_gap", gap) == mean_interval(gap)


def test_verdict_at_each_trained_size_compares_the_best_of_each_within_budget_seed_by_seed(rows):
    found = verdicts(rows, cost="bytes_deployed")
    assert [v.budget for v in found] == [4000, 40000]
    small = found[0]  # at 4 kB: pruning the 10k model to 0.9 (3.9 kB, loss 0.30) vs training 1k (loss 0.50)
    assert small.compressed["variant"] == "prune sparsity=0.9" and small.decision == "compress"
    assert small.difference.mean == pytest.approx(-0.2) and small.difference.n_seeds == 3
    assert (
        "At 4 kB" in verdict_sentence(small)
        and "0.3 (95% CI" in verdict_sentence(small)
        and verdict_sentence(small).endswith("compress.")
    )
    # At 40 kB: pruning the 10k model at 0.5 (0.21) against the trained 10k model (0.20). Their seed
    # intervals overlap, but every seed's pruned model is 0.01 worse than the same seed's trained one.
    large = found[1]
    assert large.trained["parent_n_params"] == 10000 and large.compressed["variant"] == "prune sparsity=0.5"
    assert large.compressed["val_loss_low"] < large.trained["val_loss_high"]
    assert large.difference.mean == pytest.approx(0.01) and large.decision == "train small"


def _pair(trained_losses, compressed_losses) -> pd.DataFrame:
    """A trained 1k model (4 kB) and pruning of a 10k one (3.9 kB), seed by seed."""
    data = []
    for seed, (trained, compressed) in enumerate(zip(trained_losses, compressed_losses)):
        data.append(_row("none", "none", 1000, seed, trained, 4000))
        data.append(_row("none", "none", 10000, seed, compressed - 0.2, 40000))
        data.append(_row("prune", "prune sparsity=0.9", 10000, seed, compressed, 3900, sparsity=0.9, finetune_epochs=0))
    return pd.DataFrame(data)


def test_pairing_decides_what_seed_noise_hides_from_the_unpaired_intervals():
    offsets = np.array([0.0, 0.6, 1.2])  # what each seed does to every model: far larger than the gap
    pairs = _pair(1.0 + offsets, 0.9 + offsets + np.array([0.004, -0.004, 0.0]))
    verdict = verdicts(pairs)[0]
    trained, compressed = verdict.trained, verdict.compressed
    assert compressed["val_loss_high"] > trained["val_loss_low"]  # unpaired: the intervals overlap, a tie
    assert verdict.decision == "compress" and verdict.difference.high < 0
    assert "seed by seed it is 0.1 lower on average" in verdict_sentence(verdict)


def test_an_undecided_verdict_says_how_many_seeds_would_decide_it():
    differences = np.array([-0.05, 0.01])  # mean -0.02, sd 0.042: two seeds cannot tell
    verdict = verdicts(_pair([1.0, 1.3], 1.0 + np.array([0.0, 0.3]) + differences))[0]
    assert verdict.decision == "undecided"
    sd, mean = differences.std(ddof=1), differences.mean()
    needed = next(n for n in range(2, MOST_SEEDS + 1) if stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n) < abs(mean))
    assert verdict.difference.seeds_needed() == needed
    assert f"about {needed} seeds would decide it" in verdict_sentence(verdict)
    tally = verdict_tally(verdicts(_pair([1.0, 1.3], 1.0 + np.array([0.0, 0.3]) + differences)))
    assert f"more seeds are needed at 1 (about {needed} would decide it," in tally


def test_a_difference_no_seed_count_could_resolve_is_a_tie_with_its_bound():
    verdict = verdicts(_pair([1.0, 1.3], [1.05, 1.25]))[0]  # differences +0.05 and -0.05: mean 0
    assert verdict.decision == "tie" and verdict.difference.seeds_needed() is None
    within = max(abs(verdict.difference.low), abs(verdict.difference.high))
    assert f"equal within {within:.3g}; no number of seeds under {MOST_SEEDS}" in verdict_sentence(verdict)


def test_one_seed_is_never_a_decision_and_says_what_would_decide():
    verdict = verdicts(_pair([1.0], [0.9]))[0]
    assert verdict.decision == "undecided" and verdict.difference.seeds_needed() is None
    sentence = verdict_sentence(verdict)
    assert "one seed, no interval" in sentence and "3 or more seeds" in sentence and "nan" not in sentence


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
    made = run_cli(
        "compress", str(trained_store), "--methods", "none,prune,quantize,cluster", "--set", "prune.finetune_epochs=0"
    )
    assert made.returncode == 0, made.stderr
    report = run_cli("report", str(trained_store))
    assert report.returncode == 0, report.stderr
    page = visit(trained_store / "report.html", tmp_path / "profile")
    assert page.errors == [] and page.console == [] and page.remote_requests == []
    assert (
        "Compress or train small?" in page.text
        and "Compressed vs trained" in (trained_store / "report.html").read_text()
    )
    assert all(image["complete"] and image["width"] > 0 for image in page.images), page.images


def test_best_within_budgets_takes_compressed_candidates_unless_told_not_to(rows):
    from scalinglab.compress.verdict import best_within_budgets

    tight = best_within_budgets(rows, {"storage_mb": 0.0045})  # 4.5 kB: the 1k model or 0.9-sparse 10k model
    assert tight["variant"] == "prune sparsity=0.9"
    assert best_within_budgets(rows, {"storage_mb": 0.0045}, include_compressed=False)["parent_n_params"] == 1000
    assert best_within_budgets(rows, {"storage_mb": 0.001}) is None


def test_distillation_is_compared_with_the_same_size_trained_from_labels(rows):
    from scalinglab.compress.verdict_words import distillation_sentences

    distilled = [
        _row("distill", "distill temperature=4.0 alpha=0.5", 10000, seed, 0.40 + noise, 4000, n_params=1000)
        for seed, noise in enumerate((-0.01, 0.0, 0.01))
    ]
    sentences = distillation_sentences(pd.concat([rows, pd.DataFrame(distilled)], ignore_index=True))
    assert len(sentences) == 1
    assert "the 1k-parameter model reaches val_loss 0.4 (95% CI" in sentences[0]
    assert "against 0.5 (95% CI" in sentences[0] and sentences[0].endswith("distillation helps.")
    assert "seed by seed it is 0.1 lower on average" in sentences[0]


def test_tally_counts_each_decision_once(rows):
    found = verdicts(rows, cost="bytes_deployed")
    found += verdicts(_pair([1.0, 1.3], [1.05, 1.25]))[:1] + verdicts(_pair([1.0], [0.9]))[:1]
    tally = verdict_tally(found)
    assert tally.startswith(
        "Of 4 budgets of bytes on disk (one per trained size), compressing wins at 1, training small at 1 ("
    )
    assert "too few seeds to judge at 1 (one seed" in tally and "the two are equal at 1 (no number of seeds" in tally
    assert "more seeds are needed" not in tally


def test_verdicts_of_a_real_two_seed_store_pair_each_compression_with_its_own_seed(tmp_path):
    from compress_helpers import TINY_COMPRESS_SWEEP

    from scalinglab.compress import compress_store
    from scalinglab.compress.compressions_table import stored_compressions_frame
    from scalinglab.config import load_config
    from scalinglab.store import open_store
    from scalinglab.sweeper import run_sweep

    sweep = tmp_path / "sweep.toml"
    sweep.write_text(TINY_COMPRESS_SWEEP.format(output=tmp_path / "out").replace("seeds = [0]", "seeds = [0, 1]"))
    config = load_config(sweep)
    store = open_store(config.output)
    try:
        run_sweep(config, store)
    finally:
        store.close()
    compress_store(
        config.output, methods=["none", "prune"], overrides=["prune.finetune_epochs=0", "prune.sparsity=[0.9]"]
    )
    frame = stored_compressions_frame(config.output)
    found = verdicts(frame)
    assert len(found) == 2 and all(v.compressed is not None for v in found)  # 0.9-pruned models fit each budget
    for verdict in found:
        text = verdict_sentence(verdict)
        assert "nan" not in text and "inf" not in text
        assert verdict.trained["val_loss_low"] > 0
        if verdict.compressed is None:
            continue
        assert verdict.compressed["val_loss_low"] > 0
        by_seed = {
            kind: frame[
                (frame["method"] == row["method"])
                & (frame["variant"] == row["variant"])
                & (frame["parent_n_params"] == row["parent_n_params"])
            ].set_index("seed")["val_loss"]
            for kind, row in (("compressed", verdict.compressed), ("trained", verdict.trained))
        }
        differences = (by_seed["compressed"] - by_seed["trained"]).to_numpy()
        assert len(differences) == verdict.difference.n_seeds == 2
        assert verdict.difference.mean == pytest.approx(differences.mean())
        assert (verdict.difference.low, verdict.difference.high) == pytest.approx(mean_interval(differences))
    assert verdict_tally(found).startswith("Of 2 budgets of bytes on disk")


def test_the_report_section_says_how_verdicts_decide_and_shows_no_impossible_number():
    from scalinglab.report.compress_figures import compress_section

    section = compress_section(_pair([1.0, 1.3], [0.95, 1.31]))  # two seeds: undecided
    text = " ".join(section.sentences)
    assert "seed by seed" in section.sentences[0] and "12.7 standard errors" in section.sentences[0]
    assert "nan" not in text and "inf" not in text and "CI -" not in text
    assert "would decide it" in text
    (caption, table), *_ = section.tables  # one line a budget, not a sentence each
    assert "bytes on disk" in caption and "seeds would decide" in table and "nan" not in table


def test_spearman_p_of_a_few_points_is_exact_not_zero():
    """Seen: 'across 4 sizes bigger models lose more (Spearman rho +1.00, p = 0)'."""
    from scalinglab.compress.verdict_words import spearman

    rho, p_value = spearman(np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.1, 0.2, 0.3, 0.5]))
    assert rho == 1.0 and p_value == pytest.approx(2 / 24)  # 2 of the 24 pairings are as extreme
    _, p_many = spearman(np.arange(12.0), np.arange(12.0) ** 2)
    assert 0 <= p_many < 1e-6
    assert np.isnan(spearman(np.zeros(4), np.array([0.1, 0.3, 0.2, 0.5]))).all()  # a constant: no order, not p = 0
