"""Effective data transferred and its law (Hernandez et al. 2021, "Scaling Laws for Transfer") on
tables whose answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scalinglab.analysis.transfer import effective_data_transferred, transfer_answer, transfer_law


def _scratch_loss(d):
    return 0.1 + 5.0 * np.asarray(d, dtype=float) ** -0.5


def _runs(worth):
    """Scratch runs of one size on the law above, and fine-tuned runs whose loss a scratch run
    reaches with `worth(D_F)` examples: D_T = worth(D_F) - D_F exactly."""
    rows = []
    for seed, wobble in ((0, 1.0), (1, 1.001)):
        for d in (50, 100, 200, 400, 800):
            rows.append(
                {
                    "run_key": f"s{d}{seed}",
                    "status": "ok",
                    "n_params": 1000.0,
                    "train_size": d,
                    "val_loss": float(_scratch_loss(d)) * wobble,
                    "transfer_mode": None,
                    "transfer_parent": "p",
                }
            )
        for d in (50, 100, 200):
            rows.append(
                {
                    "run_key": f"f{d}{seed}",
                    "status": "ok",
                    "n_params": 1000.0,
                    "train_size": d,
                    "val_loss": float(_scratch_loss(worth(d))) * wobble,
                    "transfer_mode": "finetune",
                    "transfer_parent": "p",
                }
            )
    rows.append(
        {
            "run_key": "p",
            "status": "ok",
            "n_params": 1000.0,
            "train_size": 4000,
            "val_loss": 0.05,
            "transfer_mode": None,
            "transfer_parent": None,
        }
    )  # the pretraining run: no part of the scratch law
    return pd.DataFrame(rows)


def test_a_start_worth_three_times_the_data_transfers_twice_the_data():
    points = effective_data_transferred(_runs(lambda d: 3 * d), n_bootstrap=50)
    assert np.allclose(points["d_transferred"], 2 * points["train_size"], rtol=0.05)
    assert (points["d_transferred_low"] < points["d_transferred"]).all()
    assert (points["d_transferred"] < points["d_transferred_high"]).all()


def test_a_start_worth_nothing_transfers_about_nothing_within_its_interval():
    points = effective_data_transferred(_runs(lambda d: d), n_bootstrap=50)
    assert (points["d_transferred"].abs() < 0.05 * points["train_size"]).all()
    assert (points["d_transferred_low"] <= 0).all() and (points["d_transferred_high"] >= 0).all()


def test_the_answer_says_how_much_data_pretraining_is_worth():
    answer = transfer_answer(_runs(lambda d: 3 * d), n_bootstrap=50)
    assert answer.sentences[0].startswith("Finetune: measured better than from scratch at all 3 sizes and data sizes")
    assert "pretraining is worth about 100 examples" in answer.sentences[1]
    assert set(answer.quality.columns) >= {"finetune mean", "scratch mean"}


def test_a_start_better_than_any_scratch_data_is_said_so_not_left_blank():
    """Seen: fine-tuning beat scratch at all 6 points, one D_T quoted and five cells '-', with no word of
    why (below the scratch law's floor) nor that fine-tuning won everywhere."""
    runs = _runs(lambda d: 3 * d)
    tuned = runs["transfer_mode"] == "finetune"
    runs.loc[tuned, "val_loss"] = 0.09  # below the scratch law's floor of 0.1
    answer = transfer_answer(runs, n_bootstrap=50)
    said = " ".join(answer.sentences)
    assert "measured better than from scratch at all 3" in said
    assert "at 3 of 3 sizes and data sizes the pretrained model measured better than the scratch runs' data law" in said
    assert answer.points["finetune"]["below_scratch_floor"].all()


def test_the_fitted_exponents_cover_the_truth():
    rng = np.random.default_rng(0)
    d_f, n = np.meshgrid([50.0, 100, 200, 400, 800], [1e3, 4e3, 1.6e4, 6.4e4])
    d_t = 3.0 * d_f**0.4 * n**0.3 * np.exp(rng.normal(0, 0.05, d_f.shape))
    law = transfer_law(pd.DataFrame({"train_size": d_f.ravel(), "n_params": n.ravel(), "d_transferred": d_t.ravel()}))
    for name, truth in (("alpha", 0.4), ("beta", 0.3), ("k", 3.0)):
        value, low, high = law[name]
        assert low < truth < high and high - low < 0.5 * truth


def _starts(features_loss):
    """Two seeds of scratch, finetune and features runs at one size and two data sizes, and their
    parent; features runs at `features_loss(train_size)` (finetune at 1.0 and 1.02)."""
    rows = [
        {"run_key": "p", "status": "ok", "n_params": 100.0, "train_size": 1000, "val_loss": 0.5, "train_flops": 5e6}
        | {"train_seconds": 2.0, "n_trainable_params": 100.0, "transfer_mode": None, "transfer_parent": None}
    ]
    for d in (50, 100):
        for seed, wobble in ((0, 0.0), (1, 0.02)):
            common = {"status": "ok", "n_params": 100.0, "train_size": d, "seed": seed, "train_seconds": 0.5}
            rows += [
                common
                | {"run_key": f"s{d}{seed}", "val_loss": 2.0 + wobble, "train_flops": 3e4 * d}
                | {"n_trainable_params": 100.0, "transfer_mode": None, "transfer_parent": None},
                common
                | {"run_key": f"f{d}{seed}", "val_loss": 1.0 + wobble, "train_flops": 3e4 * d}
                | {"n_trainable_params": 100.0, "transfer_mode": "finetune", "transfer_parent": "p"},
                common
                | {"run_key": f"x{d}{seed}", "val_loss": features_loss(d) + wobble, "train_flops": 1.2e4 * d}
                | {
                    "n_trainable_params": 20.0,
                    "transfer_mode": "features",
                    "transfer_parent": "p",
                    "train_seconds": 0.25,
                },
            ]
    return pd.DataFrame(rows)


def test_the_compute_table_counts_the_pretraining_beside_and_in_the_total():
    compute = transfer_answer(_starts(lambda d: 1.0), n_bootstrap=20).compute.set_index("train_size")
    assert (compute["pretraining FLOPs"] == 5e6).all()
    assert compute.loc[50, "scratch FLOPs"] == compute.loc[50, "finetune FLOPs"] == 1.5e6
    assert compute.loc[100, "features + pretraining FLOPs"] == 1.2e6 + 5e6


def test_features_as_good_as_finetune_where_within_its_seed_interval_and_never_otherwise():
    sentences = transfer_answer(_starts(lambda d: 1.05 if d == 50 else 1.5), n_bootstrap=20).sentences
    (said,) = [sentence for sentence in sentences if sentence.startswith("Feature extraction")]
    assert "at 1 of 2 model and data sizes (100 parameters and 50 examples)" in said
    assert "20% of the trainable parameters and 50% of the training time" in said
    sentences = transfer_answer(_starts(lambda d: 1.5), n_bootstrap=20).sentences
    assert any(sentence.startswith("Feature extraction is never as good as fine-tuning") for sentence in sentences)
    assert any(sentence.startswith("Pretraining is paid once per model size (5e+06") for sentence in sentences)


def test_the_fitted_exponents_of_a_swept_synthetic_truth_cover_it():
    """Scratch and fine-tuned runs drawn from a known data law and D_T = K D_F^ALPHA N^BETA with noise
    over seeds (transfer_synthetic), through the analysis a sweep's report uses; the coverage over
    many draws: benchmarks/transfer_truth.py."""
    from transfer_synthetic import ALPHA, BETA, transfer_truth_runs

    law = transfer_answer(transfer_truth_runs(random_state=0), n_bootstrap=50).laws["finetune"]
    for name, truth in (("alpha", ALPHA), ("beta", BETA)):
        value, low, high = law[name]
        assert low < truth < high and high - low < 0.5 * truth


def test_one_seed_or_too_few_scratch_data_sizes_are_said_in_words():
    """Seen: '... worse than the fine-tuned runs' 95 % interval over one seed: no interval, their
    mean', and every D_T cell '-' under a caption blaming the law's floor."""
    one_seed = _starts(lambda d: 1.5)
    one_seed = one_seed[one_seed["seed"].fillna(0) == 0]
    sentences = transfer_answer(one_seed, n_bootstrap=20).sentences
    (features,) = [s for s in sentences if s.startswith("Feature extraction")]
    assert features.startswith("Feature extraction never measured as good as fine-tuning")
    assert "one run each: whether by more than noise, 2+ seeds would tell" in features
    (d_t,) = [s for s in sentences if s.startswith("Finetune: the effective data transferred")]
    assert "needs a data law of the scratch runs at each size, fitted to 3+ data sizes; these have at most 2" in d_t


def test_an_equivalent_data_size_beyond_the_scratch_runs_is_said_to_be_extrapolated():
    """Seen: 'worth 6.43k examples' read off scratch runs of at most 400, unflagged."""
    inside = transfer_answer(_runs(lambda d: 3 * d), n_bootstrap=50).sentences[1]  # 150 examples: scratch ran 800
    assert "extrapolation" not in inside
    beyond = transfer_answer(_runs(lambda d: 20 * d), n_bootstrap=50).sentences[1]  # 1,000 examples
    assert "a scratch model would match it at 1,000 examples, 1.2x the most any scratch run trained on" in beyond


def test_the_terminal_summary_answers_pretrained_or_from_scratch():
    """Seen: `scalinglab run` of a [transfer] sweep said nothing about transfer in the terminal."""
    from scalinglab.analysis import analyze
    from scalinglab.analysis.sentences import summary_lines

    lines = summary_lines(analyze(_runs(lambda d: 3 * d), n_bootstrap=20))
    assert any(line.startswith("Finetune: measured better than from scratch") for line in lines)


def test_seconds_of_scratch_runs_trained_in_batches_are_not_compared_silently_with_one_at_a_time():
    """Seen: scratch runs batched 6 at a time (1.19 s, from a probe) against fine-tuned runs of the
    same FLOPs timed alone (1.74-2.31 s), compared under --train-seconds without a word."""
    from scalinglab.recommendation import _timed_apart_words

    runs = _runs(lambda d: 3 * d)
    runs["batch_runs"] = np.where(runs["transfer_mode"].isna(), 6.0, 1.0)
    assert "compare them by training FLOPs" in _timed_apart_words(runs)
    assert _timed_apart_words(runs.assign(batch_runs=1.0)) == ""
    assert _timed_apart_words(runs.drop(columns="batch_runs")) == ""
