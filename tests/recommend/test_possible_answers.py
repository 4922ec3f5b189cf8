"""Only configurations that can exist, and measurements where something was trained: whole numbers
from the smallest trained size up, the measured mean for a trained configuration, predictions
clipped to the trivial baseline, and the smallest size on a plateau when size does not matter."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "analysis"))
from cli_helpers import run_cli  # noqa: E402
from test_recommend import runs as law_runs  # noqa: E402
from test_size_verdicts import flat, runs  # noqa: E402

from scalinglab.analysis import analyze  # noqa: E402
from scalinglab.analysis.numbers import format_count  # noqa: E402
from scalinglab.errors import UserError  # noqa: E402
from scalinglab.recommendation import (  # noqa: E402
    Budgets,
    _Answerer,
    candidate_table,
    recommend,
    worth_extrapolating,
)
from scalinglab.run_spec import DataSpec, RunResult, RunSpec, TrainingSpec  # noqa: E402
from scalinglab.store import open_store  # noqa: E402

pytestmark = pytest.mark.slow  # end to end: real training, sweeps or the CLI in a subprocess

NOT_A_NUMBER = re.compile(r"\b(nan|inf|infinity)\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def lawful():
    return analyze(law_runs(), n_bootstrap=30)


@pytest.fixture(scope="module")
def flat_analysis():
    return analyze(runs(flat), n_bootstrap=30)


def test_candidates_are_whole_numbers_never_below_the_smallest_trained_size(lawful):
    table = candidate_table(lawful, _Answerer(lawful), {"train_seconds": 200.0}, max_extrapolation=10)
    predicted = table[~table["measured"]]  # a measured row keeps the count its run recorded
    assert (predicted["n_params"] == np.round(predicted["n_params"])).all()
    assert (predicted["group"] == np.round(predicted["group"])).all()
    trained = set(zip(lawful.runs["n_params"], lawful.runs["train_size"]))
    assert set(zip(table.loc[table["measured"], "n_params"], table.loc[table["measured"], "group"])) == trained
    assert table["n_params"].min() == lawful.runs["n_params"].min()
    with pytest.raises(UserError, match="no model size fits the budget"):
        recommend(lawful, Budgets(train_seconds=0.001))  # not "16.6 parameters", a tenth of the smallest


def test_a_trained_configuration_answers_with_its_measured_mean(flat_analysis):
    frame = flat_analysis.runs
    slowest = frame.groupby(["n_params", "train_size"])["train_seconds"].mean().max()
    choice = recommend(flat_analysis, Budgets(train_seconds=float(slowest)))
    assert choice.measured and choice.law == "measurement of this configuration"
    trained = frame[(frame["n_params"] == choice.n_params) & (frame["train_size"] == choice.train_size)]
    assert choice.predicted == pytest.approx(trained["val_loss"].mean())  # the report's headline is runs.csv's mean
    assert choice.n_seeds == len(trained)
    assert choice.ci_low < choice.predicted < choice.ci_high
    assert "a configuration this sweep trained: measured" in choice.sentence()


def test_flat_loss_recommends_the_smallest_size_on_the_plateau(flat_analysis):
    choice = recommend(flat_analysis, Budgets(train_seconds=1e9))
    assert choice.n_params == 500  # size does not matter: the smallest trained size within noise of the best
    assert choice.train_size == 6_000  # more data does
    assert "size does not clearly matter beyond it" in choice.binding
    assert not NOT_A_NUMBER.search(" ".join(choice.lines()))
    for frontier in choice.frontiers.values():
        assert frontier["measured"].all()  # no law resolved: nothing predicted


def test_a_larger_size_a_fraction_of_a_percent_better_is_not_called_no_better():
    """Seen, one run per size: "the larger sizes trained measured no better" of one measured 0.17% better."""
    loss = lambda n, d: 1.25 * (1 - 0.001 * np.log2(n / 500)) * (1 - 0.05 * d / 6_000)  # noqa: E731
    four_sizes = runs(loss, sizes=(500, 2_000, 8_000, 32_000), seeds=(0,), noise=0.0)  # too few to read noise from
    choice = recommend(analyze(four_sizes, n_bootstrap=0), Budgets(train_seconds=1e9))
    assert choice.measured and choice.n_params == 500
    assert "measured under 1% better or worse, one run each" in choice.binding, choice.binding
    seven_sizes = runs(loss, seeds=(0,), noise=0.0)  # noise read from the scatter about a smooth curve
    choice = recommend(analyze(seven_sizes, n_bootstrap=0), Budgets(train_seconds=1e9))
    assert (
        "no larger size trained measured clearly better than it (each within noise of it, under 1% better, or worse)"
        in choice.binding
    ), choice.binding


def test_a_thinned_frontier_keeps_every_measured_configuration_nothing_beat(lawful):
    """Seen: a trained 35.7k model (2.80 s, 3.651) missing between two predictions of the frontier."""
    from scalinglab.pareto import pareto_mask

    table = candidate_table(lawful, _Answerer(lawful), {"train_seconds": 1e9}, max_extrapolation=10)
    ordered = table.dropna(subset=["train_seconds"]).sort_values(["train_seconds", "n_params"])
    on_frontier = ordered[pareto_mask(ordered["train_seconds"], ordered["metric"], True) & ordered["measured"]]
    frontier = recommend(lawful, Budgets(train_seconds=1e9), max_frontier_rows=4).frontiers["train_seconds"]
    kept = set(zip(frontier.loc[frontier["measured"], "n_params"], frontier.loc[frontier["measured"], "train_size"]))
    assert len(on_frontier) >= 3 and kept >= set(zip(on_frontier["n_params"], on_frontier["group"]))
    assert (~frontier["measured"]).sum() >= 2  # and predictions between them


def test_predictions_are_clipped_to_the_trivial_baseline_and_flagged(lawful):
    baseline = float(lawful.runs["val_loss"].median())
    bounded = analyze(law_runs().assign(baseline_val_loss=baseline), n_bootstrap=0)
    assert bounded.possible_range() == (0.0, pytest.approx(baseline))
    table = candidate_table(bounded, _Answerer(bounded), {"train_seconds": 200.0}, max_extrapolation=1)
    predicted = table[~table["measured"]]
    assert (predicted["metric"] <= baseline * (1 + 1e-12)).all() and predicted["clipped"].any()
    assert np.allclose(predicted.loc[predicted["clipped"], "metric"], baseline)


def test_each_data_size_is_clipped_to_its_own_baseline_and_a_prediction_at_it_is_no_option():
    """Seen: unigram baselines of 4.708, 4.645 and 4.620 at 50k, 100k and 200k bytes, their mean 4.658 the
    ceiling of 200k-byte predictions, and a frontier row "4.66, 4.658 to 4.658, clipped" offered."""
    frame = law_runs()
    frame["baseline_val_loss"] = frame["train_size"].map({100: 2.3, 300: 2.0, 1000: 1.9})
    bounded = analyze(frame, n_bootstrap=0)
    assert bounded.possible_range(1000)[1] == pytest.approx(1.9) and bounded.possible_range(100)[1] == pytest.approx(
        2.3
    )
    assert bounded.possible_range(5000)[1] == pytest.approx(1.9)  # not trained: the nearest data size's
    table = candidate_table(bounded, _Answerer(bounded), {"train_seconds": 1e9}, max_extrapolation=1)
    predicted = table[~table["measured"]]
    ceiling = predicted["group"].map(lambda group: bounded.possible_range(group)[1])
    assert (predicted["metric"] <= ceiling * (1 + 1e-12)).all()
    frontier = recommend(bounded, Budgets(train_seconds=1e9)).frontiers["train_seconds"]
    at_ceiling = np.isclose(frontier["val_loss"], frontier["train_size"].map(lambda g: bounded.possible_range(g)[1]))
    assert not (at_ceiling & ~frontier["measured"]).any()
    from scalinglab.recommendation import _baseline_not_beaten, _clip_warnings

    with_intervals = analyze(frame, n_bootstrap=20)
    untrained = pd.Series({"n_params": 2_000.0, "group": 1000.0, "measured": False})
    assert _Answerer(with_intervals).interval(untrained)[1] <= 1.9 + 1e-12  # 1,000 examples' ceiling, not 2.07
    worse = pd.Series({"metric": 1.95, "group": 1000.0, "clipped": True})
    assert _baseline_not_beaten(bounded, worse) == pytest.approx(1.9)
    assert _baseline_not_beaten(bounded, worse.replace(1000.0, 100.0)) is None  # 1.95 beats 2.3
    assert "the value shown is the bound 1.9 " in _clip_warnings(bounded, worse)[0]


def test_a_run_measured_worse_than_the_baseline_keeps_its_value_inside_its_interval():
    """Nothing learned (sweep of 1 epoch at lr 1e-6): measured 2.33 against a baseline of 2.303
    was shown with an interval "2.303 to 2.303", which excludes it."""
    worse = analyze(runs(flat).assign(baseline_val_loss=1.15), n_bootstrap=0)
    choice = recommend(worse, Budgets(train_seconds=1e9))
    assert choice.measured and choice.predicted > 1.15
    assert choice.ci_low < choice.predicted < choice.ci_high  # a new run may measure worse than its mean
    for frontier in choice.frontiers.values():
        assert (frontier["val_loss_low"] <= frontier["val_loss"]).all()
        assert (frontier["val_loss"] <= frontier["val_loss_high"]).all()


def test_an_accuracy_is_never_predicted_outside_zero_to_one():
    accuracy = analyze(
        law_runs().assign(val_accuracy=lambda f: 1.0 - f["val_loss"] / 10), metric="val_accuracy", n_bootstrap=0
    )
    assert accuracy.possible_range() == (0.0, 1.0)
    table = candidate_table(accuracy, _Answerer(accuracy), {"train_seconds": 1e9}, max_extrapolation=10)
    assert table["metric"].between(0.0, 1.0).all()


def test_an_accuracy_law_that_reaches_zero_leaks_no_warning_and_no_nan():
    """At the smallest sizes the accuracy law sits at 0 (its complement above 1): `recommend
    --metric val_accuracy` printed about 60 "divide by zero encountered in log" lines."""
    import warnings

    frame = law_runs().assign(val_accuracy=lambda f: np.clip(1 - f["val_loss"] / 3.0, 0.02, 1))
    accuracy = analyze(frame, metric="val_accuracy", n_bootstrap=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        choice = recommend(accuracy, Budgets(train_seconds=1e9))
    assert not NOT_A_NUMBER.search(" ".join(choice.lines()))


def _store_of(frame, folder: Path) -> Path:
    store = open_store(folder)
    for row in frame.itertuples():
        spec = RunSpec(
            family="mlp",
            size={"width": int(row.width), "depth": 1},
            data=DataSpec(source="digits", train_size=int(row.train_size)),
            training=TrainingSpec(epochs=1, batch_size=32, lr=0.01),
            seed=int(row.seed),
        )
        metrics = {"n_params": row.n_params, "val_loss": row.val_loss, "train_seconds": row.train_seconds}
        store.put(RunResult(spec=spec, status="ok", metrics=metrics, curves=[], error=None))
    store.close()
    return folder


@pytest.mark.slow
def test_flat_sweep_through_the_cli_has_no_nan_no_inf_and_a_trained_answer(tmp_path):
    out = _store_of(runs(flat), tmp_path)
    result = run_cli("recommend", str(out), "--train-seconds", "1e9", "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["measured"] and answer["n_params"] == 500
    assert not NOT_A_NUMBER.search(result.stdout)
    printed = run_cli("recommend", str(out), "--train-seconds", "1e9")
    assert printed.returncode == 0 and not NOT_A_NUMBER.search(printed.stdout)
    assert run_cli("report", str(out)).returncode == 0
    text = re.sub(r'src="data:image/png;base64,[^"]*"', "", (out / "report.html").read_text())
    assert "size does not clearly matter between 500 and 69k parameters" in text
    assert not NOT_A_NUMBER.search(text)


def test_predictions_are_anchored_to_the_measurements_around_them():
    """A law that misses its largest size (here the measurements sit 10% above the law at the
    largest size) must not recommend the size next to it as better than what was measured there."""
    frame = law_runs()
    largest = frame["n_params"] == frame["n_params"].max()
    frame.loc[largest, "val_loss"] *= 1.1
    analysis = analyze(frame, n_bootstrap=30)
    answerer = _Answerer(analysis)
    means = frame.groupby(["n_params", "train_size"])["val_loss"].mean()
    n, d = (means.index.get_level_values(level).to_numpy(float) for level in (0, 1))
    if answerer.joint is None:
        keep = np.isin(d, list(answerer.fits))
        n, d, means = n[keep], d[keep], means[keep]
    assert answerer.anchored(n, d) == pytest.approx(
        means.to_numpy(), rel=1e-9
    )  # the law, at a trained point, is its mean
    top, group = n.max(), d[np.argmax(n)]
    just_below = answerer.anchored(np.array([0.97 * top]), np.array([group]))[0]
    assert just_below == pytest.approx(means[(top, group)], rel=0.05)  # not the law's lower value


def test_no_prediction_beats_a_larger_model_measured_on_more_data():
    """A planned sweep trained its largest size on the most data only; the miss of the next size, which
    measured better than the law on less data, was read at the largest size on that data, which was
    then recommended as 0.105 beside the 0.131 measured with more data. A model is no better for less data."""
    frame = law_runs()  # sizes 1e3 to 1e6, data sizes 100, 300, 1000, on a Chinchilla law
    top, most = frame["n_params"].max(), frame["train_size"].max()
    frame = frame[(frame["n_params"] != top) | (frame["train_size"] == most)].copy()
    next_size = np.sort(frame["n_params"].unique())[-2]
    frame.loc[(frame["n_params"] == next_size) & (frame["train_size"] == 300), "val_loss"] *= 0.9
    analysis = analyze(frame, n_bootstrap=0)
    answerer = _Answerer(analysis)
    measured = float(frame.loc[frame["n_params"] == top, "val_loss"].iloc[0])
    assert measured == frame["val_loss"].min()
    n, d = np.array([top, top, 0.9 * top, top]), np.array([300.0, 900.0, 900.0, 2000.0])
    assert answerer.unbounded(n[:1], d[:1])[0] < measured  # what the bound corrects
    held = answerer.anchored(n, d)
    np.testing.assert_allclose(held[:2], measured)
    assert held[2] >= measured * (1 - 1e-12)
    assert held[3] < measured  # more data than anything measured: nothing holds it
    choice = recommend(analysis, Budgets(train_flops=6.0 * top * most), max_extrapolation=1)
    assert choice.measured and choice.predicted == pytest.approx(measured)  # of equals, the measurement
    cheaper = recommend(analysis, Budgets(train_flops=6.0 * top * 900), max_extrapolation=1)
    assert cheaper.predicted == pytest.approx(measured) and not cheaper.measured
    assert f"held at what {format_count(top)} parameters on train_size = 1,000 measured" in cheaper.law


def test_of_several_larger_configurations_the_worst_holds_a_candidate():
    """A model no better for less size or data is no better than any of them: 500k parameters on 300
    examples is held to what 1M on 300 measured (1.31), not to 1M on 1,000 (1.26)."""
    frame = law_runs()
    top = frame["n_params"].max()
    answerer = _Answerer(analyze(frame, n_bootstrap=0))
    bound, through = answerer.measured_bound(np.array([0.5 * top]), np.array([300.0]))
    at_300 = frame.loc[(frame["n_params"] == top) & (frame["train_size"] == 300), "val_loss"].iloc[0]
    assert bound[0] == pytest.approx(at_300)
    assert answerer.measured().iloc[through[0]][["n_params", "group"]].tolist() == [top, 300]


def test_a_larger_model_that_measured_worse_holds_nothing():
    """Overfitting (or one unlucky seed): the largest size measured worse than smaller ones on the same
    data, so "no better for less size" does not hold there, and a candidate between them is not held."""
    frame = law_runs()
    top, most = frame["n_params"].max(), frame["train_size"].max()
    frame.loc[(frame["n_params"] == top) & (frame["train_size"] == most), "val_loss"] *= 1.5
    answerer = _Answerer(analyze(frame, n_bootstrap=0))
    bound, through = answerer.measured_bound(np.array([0.7 * top, 0.7 * top]), np.array([most, 300.0]))
    assert np.isnan(bound[0]) and through[0] == -1
    assert bound[1] == pytest.approx(frame.loc[(frame["n_params"] == top) & (frame["train_size"] == 300), "val_loss"])


def test_a_setting_is_no_data_size_and_holds_only_its_own_larger_sizes():
    """Per-setting laws (group_by a weight decay): a worse setting trained to larger sizes does not hold
    the other setting's predictions at its values."""
    frame = law_runs(data_sizes=(1000,))
    worse = frame.assign(weight_decay=0.1, val_loss=frame["val_loss"] + 0.4)
    better = frame[frame["n_params"] <= 1e5].assign(weight_decay=0.0)
    analysis = analyze(pd.concat([better, worse], ignore_index=True), n_bootstrap=0, group_by="weight_decay")
    answerer = _Answerer(analysis)
    bound, through = answerer.measured_bound(np.array([5e5, 5e5]), np.array([0.0, 0.1]))
    assert np.isnan(bound[0]) and np.isfinite(bound[1])
    from scalinglab.recommendation import _law_words

    row = pd.Series({"measured": False, "held_through": through[1], "unbounded": 1.37})
    words = _law_words(answerer, row)
    assert "on weight_decay = 0.1 measured (at least this size, the same setting" in words, words


def test_of_equal_candidates_the_measured_one_is_best_then_the_one_the_law_puts_best():
    """A prediction held at a measurement is a bound ("no better than"), the measurement an estimate;
    among held predictions, the table's first was the one with the least size and data."""
    from scalinglab.recommendation import _best

    table = pd.DataFrame(
        {"metric": [0.2, 0.1, 0.1, 0.3], "measured": [False, False, True, True], "unbounded": [0.2, 0.05, 0.1, 0.3]},
        index=list("abcd"),
    )
    assert _best(table, lower_is_better=True) == "c"
    assert _best(table.assign(metric=-table["metric"], unbounded=-table["unbounded"]), lower_is_better=False) == "c"
    held = pd.DataFrame(
        {"metric": [0.1, 0.1, 0.1], "measured": [False, False, False], "unbounded": [0.09, 0.07, 0.08]},
        index=list("xyz"),
    )
    assert _best(held, lower_is_better=True) == "y"


def test_a_law_that_has_flattened_out_is_not_extrapolated_for_a_negligible_gain():
    """A law with a floor promises ever smaller gains: 10x beyond the trained sizes for 0.001, within
    the +/- 0.01 uncertainty of that prediction, is not worth training outside what was measured, so
    the best within them answers; a gain of 0.05 is, and so is 0.001 where the law is sure to 0.0005."""

    def feasible(metric_at_10x: float) -> pd.DataFrame:
        sizes = [1e3, 1e4, 3e4, 1e5]  # trained up to 1e4
        metric = [1.2, 1.005, 1.003, metric_at_10x]
        return pd.DataFrame(
            {"n_params": sizes, "group": 500.0, "metric": metric, "measured": False, "unbounded": metric}
        )

    def answer(table, largest_trained=1e4, lower_is_better=True, margin=0.01) -> float:
        best = table["metric"].idxmin() if lower_is_better else table["metric"].idxmax()
        index = worth_extrapolating(
            table, best, largest_trained=largest_trained, lower_is_better=lower_is_better, margin=margin
        )
        return table.loc[index, "n_params"]

    assert answer(feasible(1.002)) == 1e4
    assert answer(feasible(0.95)) == 1e5
    assert answer(feasible(1.002), margin=0.0005) == 1e5
    assert answer(feasible(1.002), largest_trained=1e5) == 1e5  # inside the trained range: the best, kept
    accuracy = feasible(1.002).assign(metric=lambda t: 2.0 - t["metric"], unbounded=lambda t: 2.0 - t["unbounded"])
    assert answer(accuracy, lower_is_better=False) == 1e4


def test_an_isoflop_grid_without_a_resolved_law_says_only_trained_configurations_were_compared():
    """One model size per data size (an IsoFLOP grid) resolves no per-data-size law of size; with the
    joint law's size term unresolved too, the answer is a trained configuration and what stops a
    larger one is that no law predicts it, not a search range that was never searched."""
    grid = runs(lambda n, d: 1.0 + 0 * n, sizes=(500, 2_000, 8_000), data_sizes=(2_000, 4_000, 6_000))
    diagonal = grid[
        [(n, d) in {(500, 6_000), (2_000, 4_000), (8_000, 2_000)} for n, d in zip(grid["width"], grid["train_size"])]
    ]
    choice = recommend(analyze(diagonal, n_bootstrap=20), Budgets(train_seconds=1e6))
    assert choice.measured and choice.binding.startswith("no law: these runs resolve no law of size")


def test_a_size_not_worth_the_risk_is_said_with_the_interval_of_a_new_run_not_a_plus_minus():
    """'+/- 1.15' around a loss of 0.113 reads as a possible negative loss: the sentence quotes the
    law's 95% interval for a new run there, clipped to what the metric can be."""
    frame = law_runs()
    noise = np.exp(np.random.default_rng(0).normal(0, 0.05, len(frame)))
    noisy = frame.assign(val_loss=frame["val_loss"] * noise, baseline_val_loss=6.0)
    choice = recommend(analyze(noisy, n_bootstrap=30), Budgets(train_seconds=1e12))
    assert choice.binding.startswith("nothing worth the risk") and "+/-" not in choice.binding
    low, high = map(float, re.search(r"expected within (\S+) to (\S+) \(95%\)", choice.binding).groups())
    predicted = float(
        re.search(r"parameters \(the best within budget, beyond the sizes trained\) at (\S+),", choice.binding)[1]
    )
    assert 0.0 <= low < predicted < high <= 6.0


def _saturating_accuracy_runs(seeds: tuple[int, ...]) -> pd.DataFrame:
    """3 sizes of an accuracy that saturates (0.34, 0.67, 0.88; seeds 1% apart), the shape of the
    digits MLP at 3 epochs: the audit found 1.21k recommended over a measured-better 4.81k."""
    accuracy = {310: 0.336, 1210: 0.674, 4810: 0.880}
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        [
            dict(
                status="ok",
                width=n,
                n_params=float(n),
                train_size=1437,
                seed=s,
                val_accuracy=value * (1 + rng.normal(0, 0.01)),
                val_loss=1.0 - value,
                baseline_val_accuracy=0.1,
                train_seconds=1e-3 * n,
            )
            for n, value in accuracy.items()
            for s in seeds
        ]
    )


@pytest.mark.parametrize("seeds", [(0, 1), (0,)])
def test_a_saturating_accuracy_recommends_the_size_measured_best(seeds):
    # Two seeds measure the noise; one seed with 3 sizes leaves it unknown: in neither case is the
    # curve's one bend taken for noise that puts 4.81k "within noise" of 1.21k.
    analysis = analyze(_saturating_accuracy_runs(seeds), metric="val_accuracy", n_bootstrap=0)
    choice = recommend(analysis, Budgets(train_seconds=1e9))
    assert choice.n_params == 4810 and choice.measured
    if choice.ci_high is not None:
        assert choice.ci_high <= 1.0  # a new run's accuracy interval reached 1.14


def test_a_best_no_better_than_the_trivial_baseline_is_no_recommendation():
    frame = runs(flat).assign(baseline_val_loss=1.2)  # every measured loss (~1.19-1.25) is near or above it
    frame["val_loss"] = frame["val_loss"].clip(lower=1.21)
    analysis = analyze(frame, n_bootstrap=0)
    choice = recommend(analysis, Budgets(train_seconds=1e9))
    assert choice.baseline == pytest.approx(1.2)
    assert choice.sentence().startswith("Nothing worth training: no configuration did better than the trivial baseline")
    assert choice.to_dict()["baseline"] == pytest.approx(1.2)
    # "the best, ..." is the best measured, not the smallest size within noise of it (682 where 4.52k did better)
    assert choice.predicted == pytest.approx(frame.groupby(["n_params", "train_size"])["val_loss"].mean().min())
    assert choice.beyond_budget == ""  # no configuration at any cost beats it: the data, not the budget
    learned = recommend(analyze(runs(flat).assign(baseline_val_loss=2.0), n_bootstrap=0), Budgets(train_seconds=1e9))
    assert learned.baseline is None and learned.sentence().startswith("Train ")


def test_no_configuration_worse_than_the_baseline_is_a_pareto_option():
    """Seen: measured 4.04, 3.65 and 2.94 against a baseline of 2.3 listed as frontier points, which
    predicting the data's frequencies beats at no cost."""
    frame = law_runs()
    baseline = float(frame["val_loss"].median())
    choice = recommend(analyze(frame.assign(baseline_val_loss=baseline), n_bootstrap=0), Budgets(train_seconds=1e9))
    frontier = choice.frontiers["train_flops"]
    assert len(frontier) and (frontier.loc[~frontier["chosen"], "val_loss"] < baseline).all()


def test_a_budget_too_small_to_beat_the_baseline_is_blamed_not_the_data():
    """Seen: at --train-flops 3e9 the answer said "check the labels ... more sizes of the same model
    would not answer it" of a sweep whose 2.43M model measured 1.30 against a baseline of 2.3."""
    frame = law_runs()
    baseline = float(frame["val_loss"].median())
    analysis = analyze(frame.assign(baseline_val_loss=baseline), n_bootstrap=0)
    cheapest = float(frame.groupby(["n_params", "train_size"])["train_seconds"].mean().min())
    choice = recommend(analysis, Budgets(train_seconds=cheapest * 1.01))
    assert choice.baseline == pytest.approx(baseline)
    said = choice.sentence()
    assert said.startswith("Nothing worth training within these budgets: no configuration that fits them does better")
    assert "check the labels" not in said and said.endswith("a larger budget would answer.")
    assert "The cheapest configuration that does beat it" in said and "train-seconds" in said
    assert choice.to_dict()["beyond_budget"] in said


def test_no_data_size_beyond_the_data_available_is_recommended():
    # Told 100 examples, recommend answered with a data size of 720. Without a joint law (size does
    # not matter here) only trained data sizes are candidates: those above the data available go.
    frame = runs(flat)
    choice = recommend(analyze(frame, n_bootstrap=0, data_available=4_000), Budgets(train_seconds=1e9))
    assert choice.train_size == 4_000
    with pytest.raises(UserError, match="data_available 1000 is below every train_size trained"):
        recommend(analyze(frame, n_bootstrap=0, data_available=1_000), Budgets(train_seconds=1e9))


def test_a_joint_law_recommends_no_data_below_the_smallest_trained_nor_beyond_its_search_range():
    """--data-available 100 below a smallest trained 360 answered "Nothing worth training" from
    the law at 100 examples; --data-available 1e30 recommended 2.6e9 examples, 1.8e6x beyond the
    data; and with 100 available, Pareto rows on 1,437 examples read "fits: yes"."""
    frame = law_runs()  # data sizes 100, 300, 1000; a joint law
    with pytest.raises(UserError, match="data_available 50 is below every train_size trained"):
        recommend(analyze(frame, n_bootstrap=0, data_available=50), Budgets(train_seconds=1e9))
    plenty = analyze(frame, n_bootstrap=0, data_available=1e12)
    table = candidate_table(plenty, _Answerer(plenty), {"train_seconds": 1e9}, max_extrapolation=3)
    assert table["group"].max() == pytest.approx(3_000)
    some = analyze(frame, n_bootstrap=0, data_available=300)
    table = candidate_table(some, _Answerer(some), {"train_seconds": 1e9}, max_extrapolation=1)
    assert (table["group"] > 300).any() and not table.loc[table["group"] > 300, "within_budgets"].any()


def test_a_size_not_trained_trains_no_faster_than_the_fastest_flops_measured():
    """Seen: the time law, fitted to small models' overheads, gave 4.1 s for a model that took 61 s."""
    import numpy as np
    import pandas as pd

    from scalinglab.recommendation import _seconds_at_fastest

    measured = pd.DataFrame({"train_flops": [1e9, 6e9], "train_seconds": [2.0, 3.0]})  # at most 2e9 FLOP/s
    predicted = pd.DataFrame({"train_flops": [6e10, 1e9], "train_seconds": [4.1, 0.1]})
    np.testing.assert_allclose(_seconds_at_fastest(predicted, measured), [30.0, 0.5])
    assert (_seconds_at_fastest(predicted, measured.drop(columns="train_flops")) == 0).all()


def test_a_size_trained_at_other_data_sizes_costs_what_its_runs_measured():
    """Memory, latency and bytes do not change with the data size, and training time grows with
    it: a trained size's costs come from its runs, not from the law fitted across sizes (which
    put a model measured over a memory budget under it)."""
    frame = law_runs()
    middle = np.sort(frame["n_params"].unique())[2]  # 1e4: on the grid of candidate sizes
    first = frame["train_size"].min()
    frame = frame[(frame["n_params"] != middle) | (frame["train_size"] == first)].copy()
    frame.loc[frame["n_params"] == middle, ["latency_ms_p50", "bytes_fp32", "train_seconds"]] *= 1.7  # off the laws
    analysis = analyze(frame, n_bootstrap=0)
    table = candidate_table(analysis, _Answerer(analysis), {"train_seconds": 1e9}, max_extrapolation=1)
    trained = frame[frame["n_params"] == middle].iloc[0]
    elsewhere = table[(table["n_params"] == middle) & ~table["measured"]]
    assert len(elsewhere) >= 2
    np.testing.assert_allclose(elsewhere["latency_ms_p50"], trained["latency_ms_p50"])
    np.testing.assert_allclose(elsewhere["bytes_fp32"], trained["bytes_fp32"])
    per_example = trained["train_seconds"] / trained["train_size"]
    np.testing.assert_allclose(elsewhere["train_seconds"], per_example * elsewhere["group"])


@pytest.mark.parametrize("command", [("recommend", "--train-seconds", "1", "--metric", "val_accuracy"), ("report",)])
def test_a_store_where_every_run_failed_says_so_not_that_the_metric_is_missing(tmp_path, command):
    store = open_store(tmp_path)
    for seed in (0, 1):
        spec = RunSpec(
            family="mlp",
            size={"width": 8, "depth": 1},
            data=DataSpec(source="digits", train_size=100),
            training=TrainingSpec(epochs=1, batch_size=32, lr=0.01),
            seed=seed,
        )
        error = "OverTimeLimit: over the time limit of 0.05 s after epoch 1"
        store.put(RunResult(spec=spec, status="failed", metrics={}, curves=[], error=error))
    store.close()
    result = run_cli(command[0], str(tmp_path), *command[1:])
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "none of the 2 runs finished ok (e.g. OverTimeLimit: over the time limit" in result.stderr
    assert "not a recorded column" not in result.stderr


def test_a_predicted_pareto_row_without_an_interval_is_not_called_one_run():
    """Seen in recommend's Pareto table: a size never trained, its interval labelled "one run"."""
    from scalinglab.report.html import _readable_frontier

    choice = recommend(analyze(law_runs(), n_bootstrap=0), Budgets(train_seconds=1e9))
    for frontier in choice.frontiers.values():
        shown = _readable_frontier(frontier)
        assert (~frontier["measured"]).any()
        assert (shown.loc[~frontier["measured"].to_numpy(), "95% interval"] == "none (no interval)").all()
        assert not shown.loc[~frontier["measured"].to_numpy(), "95% interval"].str.contains("one run").any()
