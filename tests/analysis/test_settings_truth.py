"""Settings x size and width x depth, on sweeps drawn from known laws per setting value."""

from __future__ import annotations

import re

import pytest
from synthetic_truth import true_loss, truth_frame

from scalinglab.analysis import analyze


def loss_with_weight_decay(n, d, weight_decay):
    """Weight decay 0.1 costs small models (a higher excess) but lowers the floor: it wins at large N."""
    if weight_decay == 0.0:
        return true_loss(n, d)
    return 0.05 + 50.0 * n**-0.35 + 60.0 * d**-0.45


@pytest.fixture(scope="module")
def weight_decay_analysis():
    frame = truth_frame(
        data_sizes=(500, 1000), extra={"weight_decay": [0.0, 0.1]}, loss=loss_with_weight_decay, noise=0.002
    )
    return analyze(frame, n_bootstrap=100)


def test_the_best_setting_changes_with_size(weight_decay_analysis):
    (effect,) = weight_decay_analysis.settings
    assert effect.setting == "weight_decay" and not effect.is_size_axis
    assert effect.group == 1000  # compared at the most data
    best = effect.best_per_size["best"].tolist()
    assert best[0] == "0.0" and best[-1] == "0.1"
    assert set(effect.laws) == {0.0, 0.1}
    assert effect.laws[0.1].law.params_["E"] == pytest.approx(0.05 + 60.0 * 1000**-0.45, rel=0.1)


def test_the_interaction_is_said_with_intervals(weight_decay_analysis):
    (effect,) = weight_decay_analysis.settings
    text = " ".join(effect.sentences)
    assert "weight_decay = 0.1 beats weight_decay = 0.0" in text  # at the largest common size
    assert "weight_decay = 0.1 trails weight_decay = 0.0" in text  # at the smallest
    assert "The advantage of weight_decay = 0.1 over 0.0 grows with size" in text
    assert "difference of exponents" in text and "95% CI" in text


def test_main_laws_use_the_best_value_of_a_swept_setting(weight_decay_analysis):
    assert weight_decay_analysis.reference == {"weight_decay": 0.0}  # lower mean loss over the whole sweep
    assert set(weight_decay_analysis.runs["weight_decay"]) == {0.0}
    # The table of runs by size holds those runs only, and says so (it did not).
    assert weight_decay_analysis.size_table_title() == (
        "Runs by size (mean over seeds; at weight_decay = 0.0, the settings the laws use)"
    )


def loss_with_depth(n, d, depth):
    return true_loss(n, d) - (0.05 if depth == 4 else 0.0)


def test_width_x_depth_compares_at_equal_parameters_and_flops():
    frame = truth_frame(data_sizes=(1000,), extra={"depth": [2, 4]}, loss=loss_with_depth, noise=0.001)
    (effect,) = analyze(frame, n_bootstrap=100).settings
    assert effect.setting == "depth" and effect.is_size_axis
    text = " ".join(effect.sentences)
    gap = float(re.search(r"\(equal parameters\), depth = 4 beats depth = 2 by ([0-9.]+)", text).group(1))
    assert gap == pytest.approx(0.05, rel=0.05)
    # The same 0.05 at every size: no "shrinks" or "grows" read into two fitted points.
    assert "The advantage of depth = 4 over 2 does not clearly change with size" in text
    assert "At equal training FLOPs" in text
    assert set(effect.best_per_size["best"]) == {"4"}


def test_a_setting_with_text_values_is_compared_like_any_other():
    def loss(n, d, preprocessing):
        return true_loss(n, d) + (0.2 if preprocessing == "none" else 0.0)

    frame = truth_frame(data_sizes=(1000,), extra={"preprocessing": ["none", "standardize"]}, loss=loss, noise=0.001)
    (effect,) = analyze(frame, n_bootstrap=50).settings
    assert set(effect.best_per_size["best"]) == {"standardize"}
    assert "preprocessing = standardize beats preprocessing = none" in " ".join(effect.sentences)


def test_depths_trained_at_no_common_size_are_not_called_best_at_each():
    """Seen: 'Best depth at each trained size: 610: 1; 754: 3; 2.41k: 1; ...', each "best" the only
    depth trained at that size."""
    frame = truth_frame(data_sizes=(1000,), extra={"depth": [2, 4]}, loss=loss_with_depth, noise=0.001)
    frame = frame[frame["width"].isin(sorted(frame["width"].unique())[:3])].copy()
    deeper = frame["depth"] == 4
    frame.loc[deeper, "n_params"] *= 1.3  # a deeper net of the same width: other sizes
    (effect,) = analyze(frame, n_bootstrap=20).settings
    assert not effect.laws and (effect.best_per_size["best"] == "").all()
    assert effect.sentences[0].startswith("No size (train_size = 1000) was trained, or predicted by a law, at more")
