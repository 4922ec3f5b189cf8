"""The ask/tell planner on synthetic Chinchilla-form laws with known truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scalinglab.errors import UserError
from scalinglab.plan import Planner, replay

TRUTH = {"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37}


def law(n, d):
    return TRUTH["E"] + TRUTH["A"] / n ** TRUTH["alpha"] + TRUTH["B"] / d ** TRUTH["beta"]


def grid(sizes=8, tokens=6, seed=0, noise=0.01):
    rng = np.random.default_rng(seed)
    n, d = np.meshgrid(np.geomspace(1e7, 1e9, sizes), np.geomspace(2e8, 2e10, tokens))
    table = pd.DataFrame({"N": n.ravel(), "D": d.ravel()})
    table["flops"] = 6 * table.N * table.D
    table["loss"] = law(table.N, table.D) * np.exp(rng.normal(0, noise, len(table)))
    return table


TARGET = pd.DataFrame({"N": [1e10], "D": [2e11]})


def planner(**options):
    return Planner(
        ["N", "D"], "loss", "chinchilla", target=TARGET, cost="flops", random_state=0, n_bootstrap=50, **options
    )


def told_start(pool, plan):
    start = plan.ask(pool.drop(columns="loss"), plan.n_start)
    plan.tell(pool.loc[start.index])
    return start


def test_starting_design_is_cheap_spread_and_sized_by_the_form():
    pool = grid()
    plan = planner()
    start = plan.ask(pool.drop(columns="loss"), plan.n_start)
    assert len(start) == plan.n_start == 7
    assert start.flops.max() <= pool.flops.median()
    assert start.N.nunique() >= 3 and start.D.nunique() >= 3


def test_ask_never_returns_a_told_row_and_keeps_the_index():
    pool = grid().set_index(pd.Index([f"run{i}" for i in range(48)]))
    plan = planner()
    told = told_start(pool, plan)
    batch = plan.ask(pool.drop(columns="loss"), 6)
    assert len(batch) == 6
    assert not set(batch.index) & set(told.index)
    assert set(batch.index) <= set(pool.index)
    assert (batch["plan_score"] > 0).all()


def test_the_batch_is_diverse_not_copies_of_the_best_point():
    pool = grid()
    copies = pd.concat([pool] * 4, ignore_index=True)  # every point four times (seeds)
    plan = planner()
    told_start(copies, plan)
    batch = plan.ask(copies.drop(columns="loss"), 4)
    assert len(batch[["N", "D"]].drop_duplicates()) >= 2


def test_same_told_rows_and_seed_give_the_same_asks():
    pool = grid()
    first, second = planner(), planner()
    for plan in (first, second):
        told_start(pool, plan)
    assert list(first.ask(pool, 5).index) == list(second.ask(pool, 5).index)


def test_budget_caps_the_batch():
    pool = grid()
    plan = planner()
    told_start(pool, plan)
    budget = float(np.sort(pool.flops)[:3].sum())
    batch = plan.ask(pool.drop(columns="loss"), 8, budget=budget)
    assert 1 <= len(batch) and batch.flops.sum() <= budget


def power_pool(seed):
    """y = 1.5 + 30 x^-0.4 with 1 % noise at 16 sizes x 2 seeds; target: the noise-free law at 1e7."""
    rng = np.random.default_rng(seed)
    x = np.tile(np.geomspace(1e3, 1e6, 16), 2)
    pool = pd.DataFrame({"x": x, "loss": (1.5 + 30 * x**-0.4) * np.exp(rng.normal(0, 0.01, len(x)))})
    return pool, pd.DataFrame({"x": [1e7], "loss": [1.5 + 30 * 1e7**-0.4]})


def test_at_equal_budget_planned_runs_predict_the_target_better_than_random_ones():
    finals = {"planner": [], "random": []}
    for seed in range(4):
        pool, target = power_pool(seed)
        for strategy, runs in finals.items():
            runs.append(
                replay(
                    pool, target, "x", "loss", "x", 0.1 * pool.x.sum(), strategy, "power", seed, n_bootstrap=50
                ).final
            )
    error = {name: np.mean([run["error"] for run in runs]) for name, runs in finals.items()}
    width = {name: np.median([run["rel_half_width"] for run in runs]) for name, runs in finals.items()}
    assert error["planner"] < error["random"]
    assert width["planner"] < width["random"]
    assert all(run["spent"] <= 0.1 * power_pool(0)[0].x.sum() for runs in finals.values() for run in runs)


def test_prediction_interval_holds_the_truth_and_stops_within_tolerance():
    pool = grid(noise=0.003)
    plan = planner().tell(pool)
    table = plan.prediction()
    truth = law(1e10, 2e11)
    assert table.low.iloc[0] <= truth <= table.high.iloc[0]
    assert np.isfinite(table[["predicted", "low", "high"]].to_numpy()).all()
    loose = plan.should_stop(tolerance=0.5)
    assert loose.stop and "within" in loose.reason
    assert not plan.should_stop(tolerance=1e-6).stop


def test_should_stop_on_budget_and_before_any_fit():
    pool = grid()
    plan = planner()
    assert not plan.should_stop(tolerance=0.02).stop
    assert "not yet fitted" in plan.should_stop(tolerance=0.02).reason
    plan.tell(pool.iloc[:3])
    decision = plan.should_stop(budget=float(pool.flops.iloc[:3].sum()))
    assert decision.stop and "budget" in decision.reason


def test_an_interval_the_law_cannot_quote_does_not_stop_the_plan():
    """Seen: two sizes told, the target 10x beyond: "+-1.38%, within the tolerance +-5%", 36% off.
    Two sizes cannot bound the form's 5 parameters; six can, but not 3,700x beyond them."""
    pool = grid(noise=0.003)
    few = planner().tell(pool[pool.N <= pool.N.unique()[1]])
    assert not few.law().has_intervals and not few.prediction()["within_reach"].any()
    far = Planner(["N", "D"], "loss", "chinchilla", target=pd.DataFrame({"N": [1e12], "D": [2e11]}), cost="flops")
    far.tell(pool[pool.N <= pool.N.unique()[5]])
    assert far.law().has_intervals and not far.prediction()["within_reach"].any()
    for plan in (few, far):
        decision = plan.should_stop(tolerance=10.0)
        assert not decision.stop and "no interval: the law's error there is not measured" in decision.reason


def test_tables_labelled_0_1_2_by_pandas_are_refused_rather_than_merged():
    """Seen: candidates read with read_csv shared the told runs' labels 0, 1, 2, ...: ask returned
    nothing, and a second tell of a batch labelled from 0 replaced the first batch's runs."""
    pool = grid()
    plan = planner().tell(pool.iloc[:24])
    with pytest.raises(UserError, match=r"told rows: index label 0 names a told run with other inputs \(N="):
        plan.tell(pool.iloc[24:].reset_index(drop=True))
    with pytest.raises(UserError, match="candidates: index label 0 names a told run"):
        plan.ask(pool.iloc[24:].reset_index(drop=True).drop(columns="loss"), 3)
    plan.tell(pool.iloc[:2].assign(loss=2.0))  # the same runs again: their y corrected, nothing lost
    assert len(plan.told) == 24 and (plan.told.loss.iloc[-2:] == 2.0).all()


def test_cost_may_be_a_function_of_the_row():
    pool = grid()
    plan = Planner(
        ["N", "D"],
        "loss",
        "chinchilla",
        target=TARGET,
        cost=lambda row: 6 * row.N * row.D,
        random_state=0,
        n_bootstrap=50,
    )
    plan.tell(pool.iloc[:2])
    assert plan.spent == pytest.approx(float(pool.flops.iloc[:2].sum()))


def test_prediction_before_enough_runs_is_a_user_error():
    with pytest.raises(UserError, match="needs 7"):
        planner().tell(grid().iloc[:3]).prediction()


def test_bad_options_are_user_errors():
    with pytest.raises(UserError, match="strategy"):
        planner(strategy="best")
    with pytest.raises(UserError, match="k must"):
        planner().ask(grid(), 0)
    with pytest.raises(UserError, match="cost"):
        planner().tell(grid().assign(flops=0.0))


@pytest.mark.parametrize("bad", [-1, 0, float("nan"), "a"])
def test_a_budget_or_tolerance_that_is_no_positive_number_is_refused(bad):
    """Seen: ask(budget=-1) answered with an empty batch, should_stop(budget=-5) with "budget spent:
    1.354e+09 of -5", should_stop(tolerance=-0.1) with "tolerance +--10.00%"."""
    pool = grid()
    plan = planner().tell(pool.iloc[:10])
    with pytest.raises(UserError, match="budget must be a positive number"):
        plan.ask(pool.drop(columns="loss"), 2, budget=bad)
    with pytest.raises(UserError, match="budget must be a positive number"):
        plan.should_stop(budget=bad)
    with pytest.raises(UserError, match="tolerance must be a positive number"):
        plan.should_stop(tolerance=bad)
    with pytest.raises(UserError, match="budget must be a positive number"):
        replay(pool, TARGET, ["N", "D"], "loss", "flops", budget=bad, strategy="random")


def test_one_label_twice_in_a_told_table_is_refused():
    """Seen: labels [0, 0, 1, 1] told at once, label 1 naming two different runs, were accepted."""
    rows = grid().iloc[:4]
    rows.index = [0, 0, 1, 1]
    with pytest.raises(UserError, match="told rows: index label 0 appears twice"):
        planner().tell(rows)


def test_eight_of_500_candidates_are_eight_distinct_untold_runs():
    """The issue's speed goal (k = 8 of 500 under 5 s) is measured by benchmarks/ask_speed.py."""
    pool = grid(sizes=25, tokens=20).set_index(pd.Index([f"run{i}" for i in range(500)]))
    plan = planner()
    told_start(pool, plan)
    plan.tell(pool.drop(index=plan.told.index).sample(20, random_state=0))
    batch = plan.ask(pool.drop(columns="loss"), 8)
    assert len(batch) == 8 and batch.index.is_unique
    assert not batch.index.isin(plan.told.index).any()


def test_with_form_auto_the_planner_prefers_runs_that_tell_plausible_forms_apart():
    """A late steepening (a broken power law) that a plain power law also fits within the selection's
    margin: the forms disagree at the target, and counting that spread moves the batch towards the
    runs where they differ most."""
    rng = np.random.default_rng(0)
    x = np.geomspace(1e2, 1e5, 24)
    loss = (0.5 + 10 * x**-0.3 * (1 + x / 1e4) ** -0.12) * np.exp(rng.normal(0, 0.004, len(x)))
    told = pd.DataFrame({"x": x, "y": loss, "cost": 1.0}, index=[f"t{i}" for i in range(len(x))])
    grid = np.geomspace(1e2, 1e6, 30)
    candidates = pd.DataFrame({"x": grid, "cost": grid**0.5}, index=[f"c{i}" for i in range(len(grid))])
    batches = {}
    for spread in (False, True):
        planner = Planner("x", "y", "auto", target=pd.DataFrame({"x": [1e7]}), cost="cost", random_state=0,
                          n_bootstrap=50, form_spread=spread)  # fmt: skip
        law = planner.tell(told).law()
        others = planner.plausible_forms(law)
        assert law.form_.name == "bnsl" and {other.form_.name for other in others} == {"power", "shifted_power"}
        assert np.abs(planner.form_shifts(law, planner.target, others)).max() > 0.01  # they disagree there
        disagreement = np.sqrt(np.mean(planner.form_shifts(law, candidates, others) ** 2, axis=1))
        batch = planner.ask(candidates, k=2)
        batches[spread] = float(disagreement[candidates.index.get_indexer(batch.index)].mean())
    assert batches[True] > 1.1 * batches[False]


def test_a_bad_cost_names_its_row():
    pool = grid().set_index(pd.Index([f"runs.csv:{line}" for line in range(2, 50)]))
    pool.loc["runs.csv:5", "flops"] = -5.0
    with pytest.raises(UserError, match="every cost must be a finite number > 0; it is not at row runs.csv:5$"):
        planner().tell(pool)


def test_a_starting_design_larger_than_the_cheap_half_does_not_call_its_dear_runs_cheap():
    pool = grid().drop(columns="loss")
    start = planner().ask(pool, len(pool))
    dearest = start.loc[start.flops.idxmax(), "plan_reason"]
    cheapest = start.loc[start.flops.idxmin(), "plan_reason"]
    assert dearest == "starting design: spread over the inputs" and "cheap" in cheapest


def test_the_planner_counts_the_laws_extrapolation_error_which_only_runs_nearer_the_target_remove():
    pool = grid()
    told = pool[pool.N <= np.sort(pool.N.unique())[4]]
    plan = planner(extrapolation_term=True).tell(told)
    candidates = pool.drop(columns="loss")
    term = plan.extrapolation(plan.law(), plan._log_x(candidates))
    gains = term.gains([])
    assert term.mean_variance([]) > 0  # the target lies beyond every run
    inside = (candidates.N <= told.N.max()).to_numpy()
    assert np.all(gains[inside] == 0)
    nearest = int(np.argmax(candidates.N * candidates.D))  # the largest size on the most data
    assert gains[nearest] == gains.max() > 0
    assert planner().tell(told).extrapolation(plan.law(), plan._log_x(candidates)) is None  # off by default
    v_optimal = planner(strategy="v_optimal", extrapolation_term=True)
    assert v_optimal.tell(told).extrapolation(plan.law(), plan._log_x(candidates)) is None
