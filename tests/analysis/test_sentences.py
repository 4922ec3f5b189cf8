"""The sentences read by the report and the terminal summary, on a sweep from a known law."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from synthetic_truth import truth_frame

from scalinglab.analysis import analyze
from scalinglab.analysis.sentences import ScalingEffect, describe_fit, joint_law_sentences, summary_lines


@pytest.fixture(scope="module")
def analysis():
    return analyze(truth_frame(seeds=(0, 1), noise=0.003, random_state=1), n_bootstrap=50)


@pytest.mark.slow
def test_joint_sentences_give_every_parameter_the_optimum_and_the_data_limit(analysis):
    sentences = joint_law_sentences(analysis.joint)
    assert all(f"{name} = " in sentences[0] for name in ("E", "A", "B", "alpha", "beta"))
    assert "intervals resample whole configurations" in sentences[0]
    assert sum("the compute-optimal model has N* =" in s for s in sentences) == 5  # 3 in the sweep, 10x, 100x
    # this truth's data limit (2.2e8 parameters) lies past 100x its largest size: said as far as quoted
    assert any(s.startswith("With your 2,000 examples, the law predicts that every 10x") for s in sentences)
    more_than_available = analysis.joint.optimal["D_opt"] > 2000
    assert more_than_available.any()  # this truth's optimum at 100x the largest budget needs more data
    beyond = [s for s in sentences if "the compute-optimal model has N* =" in s]
    assert ["more than the 2,000 examples available" in s for s in beyond] == list(more_than_available)


@pytest.mark.slow
def test_a_resolved_floor_is_quoted_and_an_unresolved_one_is_not():
    with_floor = analyze(truth_frame(seeds=(0,), noise=0.0), n_bootstrap=0)
    assert "approaches a floor of" in describe_fit(with_floor.groups.fits[-1])
    floorless = analyze(
        truth_frame(seeds=(0,), noise=0.0, data_sizes=(1000,), loss=lambda n, d: 40.0 * n**-0.35), n_bootstrap=0
    )
    assert "shows no floor within these sizes" in describe_fit(floorless.groups.fits[0])


def test_the_terminal_summary_reads_the_same_analysis(analysis):
    lines = summary_lines(analysis)
    assert [line for line in lines if line.startswith("With train_size")] == [
        describe_fit(f) for f in analysis.groups.fits
    ]
    assert joint_law_sentences(analysis.joint)[0] in lines
    assert all(f"[yellow]warning:[/] {w}" in lines for w in analysis.warnings)
    if analysis.fit_diagnostics:
        assert any(line.startswith(f"{len(analysis.fit_diagnostics)} fit diagnostics") for line in lines)


def _spread_seeds(seeds, relative_offsets) -> pd.DataFrame:
    """A noiseless sweep whose seed i sits `relative_offsets[i]` off the law at every configuration."""
    frame = truth_frame(seeds=seeds, noise=0.0)
    return frame.assign(val_loss=frame["val_loss"] * (1 + frame["seed"].map(dict(zip(seeds, relative_offsets)))))


def test_two_seeds_apart_by_15_percent_are_advice_to_run_more_seeds_in_one_line():
    from scalinglab.analysis.sentences import seed_warnings

    frame = _spread_seeds((0, 1), (0.0, 0.23))  # std over 2 seeds 15% of the mean: weak evidence
    (warning,) = seed_warnings(frame, "val_loss")
    configurations = frame.groupby(["width", "train_size"]).ngroups
    assert warning.startswith(
        f"seeds disagree at {configurations} configurations (std of val_loss over 2 seeds "
        "15% of the mean), but so few seeds cannot tell"
    )
    assert "unstable" not in warning.split("whether")[0]


def test_ten_seeds_30_percent_apart_are_unstable_in_one_line():
    from scalinglab.analysis.sentences import seed_warnings

    frame = _spread_seeds(tuple(range(10)), (0.285, -0.285) * 5)
    (warning,) = seed_warnings(frame, "val_loss")
    assert (
        warning.startswith("unstable seeds at ")
        and "over 10 seeds 30% of the mean, above 10% with 95% confidence" in warning
    )


def test_a_message_at_several_data_sizes_is_one_line_naming_them_all():
    from scalinglab.analysis.pipeline import merge_places

    merged = merge_places(
        [
            "train_size=360: only 3 sizes",
            "all runs: x",
            "train_size=720: only 3 sizes",
            "train_size=1437: only 3 sizes",
            "train_size=720: too few",
        ]
    )
    assert merged == ["train_size=360, 720 and 1437: only 3 sizes", "all runs: x", "train_size=720: too few"]


def test_the_anchor_sentence_places_bits_per_byte_against_the_baseline_and_compressors():
    """Issue 25 item 5: a language model's best bits per byte beside the unigram baseline, zlib
    and lzma on the same text, and a count of configurations that did not beat byte frequencies."""
    import pandas as pd

    from scalinglab.analysis.sentences import anchor_sentence

    runs = pd.DataFrame(
        {
            "run_key": ["a", "b", "c"],
            "status": "ok",
            "seed": 0,
            "d_model": [8, 16, 32],
            "n_train": 1000.0,
            "n_params": [1e3, 1e4, 1e5],
            "val_bits_per_byte": [4.8, 3.9, 2.9],
            "baseline_val_bits_per_byte": 4.5,
            "zlib_val_bits_per_byte": 2.6,
            "lzma_val_bits_per_byte": 2.4,
        }
    )
    sentence = anchor_sentence(runs, "val_bits_per_byte", x="n_params")
    assert "best model scores 2.90 bits per byte" in sentence
    assert "a unigram byte model of the training text 4.50, zlib (level 9) 2.60 and lzma (preset 9) 2.40" in sentence
    assert "1 of 3 configurations do not beat the byte-frequency baseline" in sentence
    assert anchor_sentence(runs, "val_loss", x="n_params") is None


def test_a_data_limit_far_past_the_sizes_trained_is_said_as_above_them_not_as_a_replicates_number():
    """The quick start said 'beyond ~263k parameters (95% CI 64.1k to 21.3B)' of a sweep up to 26.1k."""
    from types import SimpleNamespace

    from scalinglab.analysis.joint import DataLimit
    from scalinglab.analysis.sentences import data_limit_sentence

    def sentence(n_params, interval):
        joint = SimpleNamespace(data_limit=DataLimit(1437, 0.01, n_params, interval), n_range=(169.0, 26_100.0))
        return data_limit_sentence(joint, "val_loss", data_problem="")

    assert "beyond ~263k parameters (95% CI 64.1k to above 2.61M) gain less" in sentence(263e3, (64.1e3, 21.3e9))
    assert "(95% CI 64.1k to 900k)" in sentence(263e3, (64.1e3, 9e5))
    far = sentence(5e7, (1e6, 1e12))
    assert "still gains at least 1% in val_loss up to 2.61M parameters (100x the largest size trained)" in far
    assert "50M" not in far and "CI" not in far


def _means(rows) -> pd.DataFrame:
    """One ok run per (n_params, train_size, val_loss, gap) row."""
    return pd.DataFrame(
        [
            dict(status="ok", width=n, n_params=n, train_size=d, seed=0, val_loss=loss, generalization_gap=gap)
            for n, d, loss, gap in rows
        ]
    )


def test_sentences_compare_only_what_differs():
    from scalinglab.analysis.sentences import data_effect_sentence, generalization_sentence

    # A planned sweep trained its largest size on one data size: "1x more training data (360 to 360)".
    planned = _means([(100, 360, 2.0, 0.01), (100, 720, 1.8, 0.02), (400, 360, 1.7, 0.05)])
    said = data_effect_sentence(planned, "val_loss", x="n_params", group_by="train_size")
    assert "At 100 parameters, 2x more training data (360 to 720) cut validation loss by 10%" in said
    # One size: no "from 0.055 at 1.21k parameters to 0.055 at 1.21k", only what data did.
    one_size = _means([(1210, 360, 2.0, 0.045), (1210, 1437, 1.5, 0.055)])
    said = generalization_sentence(one_size, x="n_params", group_by="train_size")
    assert said.startswith("For 1.21k parameters, more data moved the generalization gap") and "to 0.055" in said
    assert generalization_sentence(_means([(1210, 360, 2.0, 0.05)]), x="n_params", group_by="train_size") is None
    # A change under 1% is said as such, not as "0%".
    small = _means([(100, 500, 1.4100, 0.0), (100, 1000, 1.4082, 0.0)])
    assert "by 0.13%" in data_effect_sentence(small, "val_loss", x="n_params", group_by="train_size")


def test_no_cost_law_is_said_with_what_would_answer():
    from scalinglab.analysis.sentences import cost_sentences

    (said,) = cost_sentences({}, 1)
    assert said.startswith("No cost law is fitted: these runs trained 1 model size,") and "at least 3" in said
    runs = _means([(1210, 360, 2.0, 0.05), (1210, 1437, 1.5, 0.05)]).assign(train_seconds=[1.0, 4.0])
    analysis = analyze(runs, n_bootstrap=0)
    assert not analysis.groups.costs  # one size: no cost law, so the report's cost section has this sentence


def test_a_change_under_one_percent_is_quoted_to_two_significant_digits_not_as_zero():
    """A flat sweep printed 'cut validation loss by 0% (95% CI 0-1%)': whole percents hid a real 0.3%."""
    effect = ScalingEffect("val_loss", "train_size", 120, 480, 4800, 1.093, 1.0897, -0.003, (-0.0091, -0.0005), {})
    said = effect.sentence()
    assert "cut validation loss by 0.3% (95% CI of the fitted curve 0.05% to 0.91%)" in said
    straddling = ScalingEffect("val_loss", "train_size", 120, 480, 4800, 1.0, 1.2, 0.2, (-0.004, 0.45), {})
    assert "raised validation loss by 20% (95% CI of the fitted curve -0.4% to +45%: not clearly any change)" in (
        straddling.sentence()
    )


def test_a_change_is_quoted_with_the_digits_that_show_it():
    from scalinglab.analysis.numbers import format_change

    assert format_change(1.11, 1.1) == "1.11 to 1.1"
    assert format_change(1.0931, 1.0897) == "1.093 to 1.090"  # not '1.09 to 1.09'
    effect = ScalingEffect("val_loss", "train_size", 120, 480, 4800, 1.0931, 1.0897, -0.0031, None, {})
    assert "from 1.093 to 1.090" in effect.sentence()


def test_an_exponent_whose_interval_reaches_the_fits_bound_is_said_not_bounded():
    """Seen: 'shrinks as n_params^-1.22 (95% CI 0.16 to 10.00)': 10 is the fit's bound, not a measurement."""
    import numpy as np

    from scalinglab.analysis.groups import GroupFit
    from scalinglab.fit import ScalingLaw

    sizes = np.array([1e3, 3e3, 1e4, 3e4])
    table = pd.DataFrame({"n_params": sizes, "val_loss": 2 + 30 * sizes**-0.5})
    law = ScalingLaw("power", n_bootstrap=20, random_state=0).fit(table, x="n_params", y="val_loss")
    fit = GroupFit("val_loss", "n_params", "train_size", 400, law, 4, (1e3, 3e4))
    assert "to not bounded" not in describe_fit(fit)
    law.ci_ = {**law.ci_, "alpha": (0.16, 10.0)}  # the ends such a bootstrap gives (the rule, not the fit, is tested)
    low = fit.exponent()[2][0]
    assert f"(95% CI of the exponent {low:.2f} to not bounded by these sizes)" in describe_fit(fit)


def test_an_exponent_set_by_a_parameter_on_the_fits_bound_is_not_quoted():
    """Seen: "shrinks as n_params^-11.11 (95% CI 2.07 to 11.34): each 10x more parameters multiplies
    the excess by 7.8e-12", with bnsl's c1 on its bound of 10."""
    import numpy as np

    from scalinglab.analysis.groups import GroupFit
    from scalinglab.fit import ScalingLaw

    sizes = np.array([1e3, 3e3, 1e4, 3e4, 1e5])
    steep = pd.DataFrame({"n_params": sizes, "val_loss": 2 + 1e40 * sizes**-12.0})
    law = ScalingLaw("power", n_bootstrap=20, random_state=0).fit(steep, x="n_params", y="val_loss")
    assert "alpha" in law.diagnostics_.on_bound  # steeper than the bound of 10 the law can follow
    said = describe_fit(GroupFit("val_loss", "n_params", "train_size", 400, law, 5, (1e3, 1e5)))
    assert "n_params^-" not in said and "multiplies the excess" not in said
    assert "is not resolved by these sizes: the power law's alpha = 10 sits on the fit's bound" in said


def test_the_report_says_which_learning_rate_each_size_used_when_several_were_trained():
    """Seen: a swept training.lr left no trace in the report; the laws silently used each size's best."""
    from scalinglab.report.html import best_lr_sentence
    from scalinglab.runs_table import mark_best_lr

    frame = truth_frame(seeds=(0,), random_state=2)
    worse = frame.assign(lr=0.1, val_loss=frame["val_loss"] * 1.2, run_key=frame["run_key"] + "-hot")
    both = mark_best_lr(pd.concat([frame.assign(lr=0.01), worse], ignore_index=True))
    said = best_lr_sentence(analyze(both, n_bootstrap=0))
    assert said.startswith("Learning rates 0.01, 0.1 were trained") and ": 0.1" not in said
    assert best_lr_sentence(analyze(mark_best_lr(frame.assign(lr=0.01)), n_bootstrap=0)) is None


def test_the_best_learning_rate_is_read_from_the_sweeps_own_metric():
    """Seen: an objective that returned val_accuracy alone had no run marked best_lr, and its report
    said "no finished runs to fit" of 36 finished runs."""
    from scalinglab.runs_table import mark_best_lr

    frame = truth_frame(seeds=(0,), random_state=2).drop(columns="val_loss")
    frame["val_accuracy"] = 0.8
    better = frame.assign(lr=0.1, val_accuracy=0.9, run_key=frame["run_key"] + "-hot")
    marked = mark_best_lr(pd.concat([frame.assign(lr=0.01), better], ignore_index=True), metric="val_accuracy")
    assert marked.loc[marked["best_lr"], "lr"].eq(0.1).all() and marked["best_lr"].sum() == len(frame)
    alone = mark_best_lr(frame.assign(lr=0.01), metric="val_accuracy")
    assert alone["best_lr"].all()
    unrecorded = mark_best_lr(frame.assign(lr=0.01), metric="val_f1")  # [fit] metric not recorded: still fit
    assert unrecorded["best_lr"].all()


def test_no_compute_optimum_is_quoted_where_its_prediction_is_no_better_than_the_baseline(analysis):
    """Seen: 'N* = 776 parameters ... predicted validation bits/byte 6.16' against a unigram model's 5.7."""
    predicted = analysis.joint.optimal["metric_opt"].to_numpy()
    baseline = float(predicted[1])  # the smallest budget(s) predict no better than this, the largest do
    sentences = joint_law_sentences(analysis.joint, baseline=lambda data_size: baseline)
    worthless = [s for s in sentences if "no better than the trivial baseline" in s]
    assert len(worthless) == int((predicted >= baseline).sum()) >= 1
    assert all("N* =" not in s and "a larger budget would answer" in s for s in worthless)
    assert sum("the compute-optimal model has N* =" in s for s in sentences) == int((predicted < baseline).sum()) >= 1


def test_each_optimum_is_held_to_the_baseline_of_its_own_data_size(analysis):
    """The trivial baseline depends on the data size (a unigram model of more text scores better);
    an optimum was held to the mean over every data size trained."""
    optimal = analysis.joint.optimal
    first = float(optimal["D_opt"].iloc[0])
    asked = []

    def baseline(data_size):
        asked.append(float(data_size))
        return np.inf if data_size == first else 0.0  # a loss beats inf always, 0 never

    sentences = joint_law_sentences(analysis.joint, baseline=baseline)
    assert sorted(set(asked)) == sorted(set(optimal["D_opt"].astype(float)))
    quoted = [s for s in sentences if "the compute-optimal model has N* =" in s]
    worthless = [s for s in sentences if "no better than the trivial baseline (0 at D* = " in s]
    assert len(quoted) == int((optimal["D_opt"] == first).sum()) and len(worthless) == len(optimal) - len(quoted)


@pytest.mark.slow  # writes a report
def test_the_report_tables_and_the_terminal_quote_no_optimum_the_sentences_withhold(tmp_path):
    """Seen: 'no model is worth training on that budget, so no N* or D* is quoted' above a table
    quoting 'N* 303 (209-983), D* 342 ... predicted 2.38' at that budget, and the terminal quoting it."""
    import re

    from scalinglab.analysis.sentences import summary_lines
    from scalinglab.report.html import write_report

    frame = truth_frame(seeds=(0, 1), noise=0.003, random_state=1)
    first = analyze(frame, n_bootstrap=10)
    predicted = first.joint.optimal["metric_opt"].to_numpy()
    baseline = float(predicted[1])
    bounded = analyze(frame.assign(baseline_val_loss=baseline), n_bootstrap=10)
    worth = int((bounded.joint.optimal["metric_opt"] < baseline).sum())
    assert 1 <= worth < len(predicted)
    html = write_report(tmp_path / "r.html", bounded).read_text()
    table = html.split("Compute-optimal allocation")[1].split("</table>")[0]
    assert len(re.findall(r"<tr>", table)) == worth  # one body row per budget quoted (the header row is styled)
    terminal = " ".join(summary_lines(bounded))
    largest = bounded.joint.optimal[bounded.joint.optimal["budget"] == "largest trained"]["metric_opt"]
    assert ("N* =" in terminal) == bool((largest < baseline).all())
    beyond_every_budget = float(predicted.min()) * 0.9  # no budget's optimum beats this baseline
    silent = analyze(frame.assign(baseline_val_loss=beyond_every_budget), n_bootstrap=10)
    assert "N* =" not in " ".join(summary_lines(silent))
    silent_html = write_report(tmp_path / "s.html", silent).read_text()
    assert "Compute-optimal allocation" not in silent_html
    assert "IsoFLOP curves of the joint law" not in silent_html  # its stars marked the optima withheld
    assert "IsoFLOP curves of the joint law" in html


def test_one_size_at_every_data_size_is_said_so_not_called_an_isoflop_grid():
    """Seen: "size is seen only across data sizes: through the joint law and the IsoFLOP profiles" of
    a sweep of one size on three data sizes, which had neither."""
    from scalinglab.analysis.sentences import size_sentences

    frame = truth_frame(seeds=(0, 1), random_state=3)
    one = frame[frame["n_params"] == frame["n_params"].min()]
    assert one["train_size"].nunique() >= 3
    (said,) = size_sentences(analyze(one, n_bootstrap=0))
    assert said.startswith("Only ") and "at every train_size" in said and "train at least 4 sizes" in said
    assert "IsoFLOP" not in said


def test_a_shift_on_its_lower_bound_leaves_a_measured_exponent_quoted():
    """A shifted_power fitted to a plain power law puts its shift on its least: that is a plain
    power law, whose alpha the runs measure, not a cap that sets it."""
    import numpy as np

    from scalinglab.analysis.groups import GroupFit
    from scalinglab.fit import ScalingLaw

    sizes = np.geomspace(1e3, 1e6, 8)
    table = pd.DataFrame({"n_params": sizes, "val_loss": 2 + 30 * sizes**-0.35})
    law = ScalingLaw("shifted_power", n_bootstrap=20, random_state=0).fit(table, x="n_params", y="val_loss")
    law.diagnostics_.on_bound.append("x0")  # the situation seen (the rule, not this fit, is tested)
    said = describe_fit(GroupFit("val_loss", "n_params", "train_size", 400, law, 8, (1e3, 1e6)))
    assert "n_params^-" in said and "not resolved" not in said
