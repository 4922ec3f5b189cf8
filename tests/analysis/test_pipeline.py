"""`analyze`: the configured fit settings are used everywhere, and bad ones are one clear error."""

from __future__ import annotations

import pytest
from synthetic_truth import truth_frame

from scalinglab.analysis import analyze
from scalinglab.analysis.sentences import summary_lines
from scalinglab.errors import UserError


@pytest.mark.slow
def test_group_by_from_the_configuration_reaches_every_law():
    frame = truth_frame(seeds=(0,)).rename(columns={"train_size": "n_train"}).assign(train_size=None)
    analysis = analyze(frame, config={"fit": {"group_by": "n_train"}}, n_bootstrap=0)
    assert analysis.group_by == "n_train" and analysis.joint.data == "n_train"
    assert analysis.groups.costs["train_flops"].per_example
    assert all(line.startswith("With n_train") for line in summary_lines(analysis)[:4])


def test_a_group_by_that_is_not_data_gets_no_joint_law_and_no_per_example_costs():
    analysis = analyze(truth_frame(seeds=(0,)), group_by="width", x="n_params", n_bootstrap=0)
    assert analysis.joint is None and not analysis.groups.costs["train_flops"].per_example


@pytest.mark.parametrize(
    "option, message",
    [
        (dict(metric="nope"), "metric nope: not a recorded column"),
        (dict(group_by="nope"), "fit.group_by = nope: not a column"),
        (dict(x="nope"), "fit.x = nope: not a column"),
    ],
)
def test_unknown_columns_are_user_errors(option, message):
    with pytest.raises(UserError, match=message):
        analyze(truth_frame(seeds=(0,)), n_bootstrap=0, **option)


def test_a_metric_missing_from_a_table_of_no_known_quality_names_its_columns():
    """Seen: "metric val_loss: not a recorded column (choose one of )"."""
    frame = truth_frame(seeds=(0,)).rename(columns={"val_loss": "my_loss"})
    with pytest.raises(UserError, match=r"metric val_loss: not a recorded column \(its columns are .*my_loss"):
        analyze(frame, n_bootstrap=0)


def test_a_folder_without_a_store_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no scalinglab store here"):
        analyze(tmp_path / "nothing")
    assert not (tmp_path / "nothing").exists()


@pytest.mark.slow
def test_a_users_own_table_without_status_is_analysed():
    frame = truth_frame(seeds=(0,))[["n_params", "train_size", "val_loss", "train_flops"]]
    analysis = analyze(frame, n_bootstrap=0)
    assert analysis.joint is not None and len(analysis.groups.fits) == 4


@pytest.mark.slow
def test_without_a_joint_law_the_analysis_says_why():
    frame = truth_frame(seeds=(0,))
    one_data_size = frame[frame["train_size"] == frame["train_size"].max()]
    analysis = analyze(one_data_size, n_bootstrap=0)
    assert analysis.joint is None and analysis.joint_note.startswith("the joint law of n_params and train_size needs")
    assert analyze(frame, n_bootstrap=0).joint_note == ""
    assert analyze(frame, group_by="width", n_bootstrap=0).joint_note == "width is not a data size"


def test_configurations_no_better_than_the_trivial_baseline_are_said_in_words():
    frame = truth_frame(seeds=(0,), noise=0.0)
    smallest_loss = frame.loc[frame["n_params"] == frame["n_params"].min(), "val_loss"].min()
    # a baseline every configuration but some of the smallest models beats
    frame["baseline_val_loss"] = smallest_loss * 0.99
    losers = int((frame["val_loss"] >= frame["baseline_val_loss"]).sum())
    assert 0 < losers < len(frame)
    warnings = analyze(frame, n_bootstrap=0).warnings
    said = [w for w in warnings if "no better than the trivial baseline" in w]
    assert len(said) == 1 and said[0].startswith(f"{losers} of {len(frame)} configurations")

    frame["baseline_val_loss"] = frame["val_loss"].max() * 2  # every model beats it: nothing to say
    assert not any("trivial baseline" in w for w in analyze(frame, n_bootstrap=0).warnings)


def test_runs_that_record_no_data_size_are_said_to_and_what_would_fix_it():
    """Seen: an objective sweep without data.train_size (its runs' train_size is NaN): "the joint
    law needs 2+ values of train_size ...; this sweep has 0 and 0" and "No recommendation: no run
    measured val_loss" when all 10 runs measured it."""
    from scalinglab import Budgets, recommend

    frame = truth_frame(seeds=(0,), data_sizes=(1000,)).assign(train_size=float("nan"))
    analysis = analyze(frame, n_bootstrap=0)
    assert analysis.warnings[0].startswith("the runs record no train_size, so no law could be fitted")
    assert "Set data.train_size in the sweep file" in analysis.warnings[0]
    assert not any("this sweep has 0" in warning for warning in analysis.warnings)
    assert analysis.joint_note == analysis.warnings[0]  # the report's joint-law section says the same
    with pytest.raises(UserError, match="no law of val_loss was fitted.*the runs record no train_size"):
        recommend(analysis, Budgets(train_flops=1e9))
