"""Whether size matters, measured: flat, worse with size, one size, two sizes, noise larger than the
effect, and a law that does resolve. No sentence carries nan or inf; a law is quoted only where resolved."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from synthetic_truth import truth_frame

from scalinglab.analysis import analyze
from scalinglab.analysis.sentences import joint_law_sentences, size_sentences, summary_lines

pytestmark = pytest.mark.slow  # end to end: real training, sweeps or the CLI in a subprocess

SIZES = (500, 2_000, 8_000, 30_000, 69_000)
DATA_SIZES = (2_000, 4_000, 6_000)
NOT_A_NUMBER = re.compile(r"\b(nan|inf)\b", re.IGNORECASE)


def runs(loss, *, sizes=SIZES, data_sizes=DATA_SIZES, seeds=(0, 1, 2), noise=0.005, seed=0) -> pd.DataFrame:
    """One run per size x data size x seed, val_loss = loss(n, d) times (1 + normal noise)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        [
            dict(
                status="ok",
                width=n,
                n_params=float(n),
                train_size=d,
                seed=s,
                val_loss=float(loss(n, d)) * (1 + rng.normal(0, noise)),
                train_seconds=1e-6 * n * d,
            )
            for d in data_sizes
            for n in sizes
            for s in seeds
        ]
    )


def flat(n, d):
    return 1.25 * (1 - 0.05 * d / 6_000)  # size does nothing; 3x more data cuts the loss by ~3%


def rising(n, d):
    return 1.0 + 0.1 * np.log10(n / 500)  # every 10x more parameters costs 0.1 nats: overfitting


def text_of(analysis) -> str:
    return "\n".join(summary_lines(analysis) + size_sentences(analysis))


def test_flat_loss_is_said_in_words_with_its_measured_change_and_no_exponent():
    analysis = analyze(runs(flat), n_bootstrap=50)
    kinds = {verdict.group: verdict.kind for verdict in analysis.size_verdicts}
    assert set(kinds.values()) <= {"flat", "plateau", "improves"} and "flat" in kinds.values()
    for verdict, sentence in zip(analysis.size_verdicts, size_sentences(analysis)):
        if verdict.kind == "flat":
            assert "size does not clearly matter between 500 and 69k parameters" in sentence
            change, (low, high) = verdict.change(0, len(verdict.sizes) - 1)
            assert low < change < high and abs(change) < 0.02  # the measured change, within noise or negligible
            assert "95% interval" in sentence
        assert "shrinks as" not in sentence  # no exponent quoted
    assert analysis.joint_size_problem  # the joint law's size term is said to be unresolved...
    assert any("does not resolve how val_loss depends on size" in w for w in analysis.warnings)
    joint = joint_law_sentences(analysis.joint, analysis.joint_size_problem)
    assert "alpha = " not in joint[0] and "not resolved" in joint[0]  # ...and not printed as if meaningful
    assert not any("compute-optimal model has N*" in s for s in joint)
    assert not NOT_A_NUMBER.search(text_of(analysis))


def test_loss_rising_with_size_is_overfitting_and_the_plateau_is_the_smallest_size():
    analysis = analyze(runs(rising), n_bootstrap=50)
    for verdict, sentence in zip(analysis.size_verdicts, size_sentences(analysis)):
        assert verdict.kind == "worse"
        assert "larger models did worse" in sentence and "overfit" in sentence
        assert verdict.plateau_start == 500
    assert not NOT_A_NUMBER.search(text_of(analysis))


@pytest.mark.parametrize("sizes, kind", [((2_000,), "one size"), ((2_000, 8_000), "improves")])
def test_one_or_two_sizes_are_measured_not_fitted(sizes, kind):
    analysis = analyze(runs(lambda n, d: 1 + 5 * n**-0.3, sizes=sizes, data_sizes=(2_000,)), n_bootstrap=50)
    [verdict] = analysis.size_verdicts
    assert verdict.kind == kind and analysis.groups.fits == []
    [sentence] = size_sentences(analysis)
    if kind == "one size":
        assert "only 2k parameters were trained" in sentence and "train at least 4 sizes" in sentence
    else:
        assert "fell by" in sentence and "a law needs 4" in sentence
    assert not NOT_A_NUMBER.search(text_of(analysis))


def test_two_sizes_of_one_seed_cannot_tell_noise_from_effect():
    analysis = analyze(runs(flat, sizes=(2_000, 8_000), data_sizes=(2_000,), seeds=(0,)), n_bootstrap=0)
    [verdict] = analysis.size_verdicts
    assert verdict.kind == "flat" and verdict.change(0, 1)[1] is None
    assert "noise and effect cannot be told apart: train 2+ seeds" in size_sentences(analysis)[0]


def test_a_larger_size_worse_by_one_run_each_is_not_called_overfitting():
    """Seen: 'larger models did worse ... (one run each: no interval) (overfitting at this data size)'."""
    analysis = analyze(runs(rising, sizes=(500, 2_000, 8_000), data_sizes=(2_000,), seeds=(0,)), n_bootstrap=0)
    [verdict] = analysis.size_verdicts
    assert verdict.kind == "worse" and verdict.mean_noise(0) is None
    [sentence] = size_sentences(analysis)
    assert "the largest model measured worse than a smaller one" in sentence
    assert "train 2+ seeds to know whether larger models do worse" in sentence and "overfit" not in sentence


def test_noise_larger_than_the_effect_is_not_a_law():
    # A 1% gain across the sizes under 5% seed noise: not resolvable from 3 seeds.
    analysis = analyze(
        runs(lambda n, d: 1.0 - 0.01 * np.log10(n / 500) / np.log10(138), noise=0.05, seed=3), n_bootstrap=50
    )
    assert not any(verdict.resolved for verdict in analysis.size_verdicts)
    assert not NOT_A_NUMBER.search(text_of(analysis))


def test_a_resolved_law_is_still_quoted_with_its_exponent():
    analysis = analyze(truth_frame(seeds=(0, 1), noise=0.003, random_state=1), n_bootstrap=50)
    assert all(verdict.resolved for verdict in analysis.size_verdicts)
    assert not analysis.joint_size_problem
    assert all("shrinks as n_params^-" in sentence for sentence in size_sentences(analysis))


def test_an_exponent_whose_bootstrap_never_moved_is_not_resolved():
    """A zero-width interval ("95% CI 0.44 to 0.44", seen on a near-flat CSV sweep) is a bootstrap
    that failed to move, not a precise exponent: the verdict must not quote it."""
    from types import SimpleNamespace

    from scalinglab.analysis.size_effect import exponent_resolved

    def fit(interval, miss=0.02):
        law = SimpleNamespace(log_residuals_=np.array([miss, -miss, 0.0]))
        return SimpleNamespace(law=law, exponent=lambda: (68355.0, 0.44, interval))

    assert exponent_resolved(fit((0.30, 0.60)))
    assert not exponent_resolved(fit((0.44, 0.44)))  # scattered points, no width: the bootstrap never moved
    assert exponent_resolved(fit((0.44, 0.44), miss=0.0))  # points on the law exactly: no width is precision
    assert not exponent_resolved(fit((0.0, 0.60)))


def test_labels_with_no_signal_give_no_compute_optimal_split_and_no_promise_that_data_helps(tmp_path):
    """Neither size nor data changes the loss (a CSV whose labels carry no signal): N* and D* rest
    on terms the runs do not resolve, so none is quoted, in the sentences, the summary or the report."""
    from scalinglab.report.html import write_report

    analysis = analyze(runs(lambda n, d: 1.1 + 0 * n, noise=0.01), n_bootstrap=50)
    assert analysis.joint is not None and not analysis.compute_optimal_quoted
    joint = joint_law_sentences(analysis.joint, analysis.joint_size_problem, analysis.joint_data_problem)
    assert not any("compute-optimal model has" in sentence for sentence in joint)
    assert not any("more data helps" in sentence for sentence in joint)
    assert "compute-optimal model has" not in text_of(analysis)
    html = write_report(tmp_path / "r.html", analysis).read_text()
    assert "Compute-optimal allocation" not in html and "compute-optimal model has" not in html


def test_a_share_is_never_quoted_beyond_1_or_below_0():
    """Seen: accuracy "rose by 81% (0.481 to 0.868, 95% interval -12% to +272%)" (1.79), and a
    complement law's replicates gave "raised validation accuracy by 190% (95% CI -621% to +403%)"."""
    from scalinglab.analysis.groups import metric_of
    from scalinglab.analysis.size_effect import size_verdict

    assert list(metric_of(np.array([0.2, 1.0, 1.7]), True)) == pytest.approx([0.8, 0.0, 0.0])
    runs = pd.DataFrame(
        {"n_params": [310, 310, 4810, 4810], "train_size": 1400, "val_accuracy": [0.2, 0.76, 0.82, 0.916]}
    )
    verdict = size_verdict(runs, "val_accuracy", x="n_params", group_by="train_size", group=1400, fit=None)
    _, (low, high) = verdict.change(0, 1)
    assert verdict.means[0] * (1 + high) <= 1.0 + 1e-12 and low > -1
    assert verdict.run_interval(1)[1] <= 1.0


def test_a_metric_that_improves_up_to_the_largest_size_is_no_plateau():
    """Only the largest size within noise of the best: "then rose by 0.00% up to 26.1k: beyond
    26.1k size does not clearly matter" was said of a loss that fell at every step."""
    from types import SimpleNamespace

    from scalinglab.analysis.size_effect import SizeVerdict, _kind, _plateau_start

    verdict = SizeVerdict(
        metric="val_loss",
        x="n_params",
        group_by="train_size",
        group=1437.0,
        sizes=np.array([330.0, 3e3, 26.1e3]),
        means=np.array([1.66, 0.4, 0.124]),
        n_seeds=np.array([2, 2, 2]),
        seed_noise=0.02,
        scatter=None,
        kind="",
        plateau_start=np.nan,
    )
    verdict.plateau_start = _plateau_start(verdict)
    unresolved = SimpleNamespace(law=SimpleNamespace(), exponent=lambda: (26.1e3, 1.2, (0.0, 3.0)))
    assert verdict.plateau_start == 26.1e3
    assert _kind(verdict, unresolved) == "improves"
    verdict.means = np.array([1.66, 0.125, 0.124])  # flat from 3k on: that is a plateau
    verdict.plateau_start = _plateau_start(verdict)
    assert verdict.plateau_start == 3e3 and _kind(verdict, unresolved) == "plateau"


def test_a_change_and_its_interval_are_said_in_the_same_sense():
    """Seen: "validation loss fell by 14% (4.13 to 3.57, 95% interval -14% to -13%)"."""
    from scalinglab.analysis.size_effect import size_verdict

    runs = pd.DataFrame({"n_params": [100, 100, 1000, 1000], "train_size": 50, "val_loss": [4.12, 4.14, 3.56, 3.58]})
    verdict = size_verdict(runs, "val_loss", x="n_params", group_by="train_size", group=50, fit=None)
    words = verdict.change_words(0, 1)
    assert words.startswith("fell by 14%") and "-" not in words.split("interval")[1], words
    noisy = runs.assign(val_loss=[4.0, 4.4, 3.9, 4.3])
    verdict = size_verdict(noisy, "val_loss", x="n_params", group_by="train_size", group=50, fit=None)
    assert "95% interval of the change -" in verdict.change_words(0, 1) and "to +" in verdict.change_words(0, 1)


def test_the_luckiest_of_equal_sizes_is_not_clearly_better_than_the_rest():
    """Seen: loss 1.5 + N(0, 0.05) at every size, 3 seeds: the luckiest mean of 6 sizes (1.42) made
    "larger models did worse ... 95% interval 0.47% to 9.6%", and 90k was recommended over 10k."""
    from scalinglab.analysis.size_effect import Z_95, SizeVerdict, clearly_better

    sizes = np.array([1e4, 3e4, 9e4, 2.7e5, 8.1e5, 2.43e6])
    means = np.array([1.49, 1.51, 1.42, 1.50, 1.53, 1.49])
    verdict = SizeVerdict(
        "val_loss", "n_params", "train_size", 16000, sizes, means, np.full(6, 3), 0.026, None, "", sizes[0]
    )
    assert clearly_better(verdict, 2, 5) == -1  # a lone pair at 1.96 would call it
    assert verdict.against_best_z > Z_95
    assert clearly_better(verdict, 2, 5, verdict.against_best_z) == 0
    from scalinglab.analysis.size_effect import _kind, _plateau_start

    assert _kind(verdict, None) == "flat" and _plateau_start(verdict) == 1e4
