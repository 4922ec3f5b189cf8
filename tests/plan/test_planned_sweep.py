"""A planned sweep ([plan]) on the one sweep pipeline: trains part of the grid, resumes to the same
choices, and a rerun without [plan] trains the rest."""

from __future__ import annotations

import pytest

from scalinglab.api import run_sweep, sweep_status
from scalinglab.config import load_config
from scalinglab.errors import UserError
from scalinglab.report.browser_check import find_chromium
from scalinglab.report.converged import TITLE
from scalinglab.runs_table import results_frame
from scalinglab.store import open_store
from scalinglab.sweeper import plan_runs
from scalinglab.sweeper.driver import _val_losses
from scalinglab.sweeper.planned import candidate_table, next_round, round_sizes, sweep_history

GRID = """
name = "planned"
output = "{output}"
seeds = [0]

[model]
family = "mlp"
width = [2, 4, 6, 8, 12, 16]
depth = 1

[data]
source = "digits"
train_size = [100, 200, 400]

[training]
epochs = 2
batch_size = 64
lr = 0.01

[measure]
latency_repeats = 1
"""
PLAN = """
[plan]
budget_fraction = 0.3
batch = 3
seed = 1
"""


def _config(tmp_path, plan=PLAN):
    path = tmp_path / "sweep.toml"
    path.write_text(GRID.format(output=(tmp_path / "out").as_posix()) + plan)
    return load_config(path)


def _ok_keys(config):
    store = open_store(config.output)
    try:
        return {run.run_key for run in store.runs() if run.status == "ok"}
    finally:
        store.close()


@pytest.mark.slow
def test_a_planned_sweep_stays_in_budget_resumes_and_the_rest_trains_without_plan(tmp_path, capsys):
    config = _config(tmp_path)
    grid = plan_runs(config)
    table = candidate_table(grid)
    run_sweep(config, report=False)
    trained = _ok_keys(config)
    assert config.plan.batch < len(trained) < len(grid)
    assert table.loc[sorted(trained), "train_flops"].sum() <= 0.3 * table.train_flops.sum()

    # The report's rounds, recomputed from the stored runs and the grid rebuilt from the stored
    # configuration, are the rounds the sweep trained: the same runs, batch by batch.
    store = open_store(config.output)
    try:
        history = sweep_history(config, results_frame(store))
    finally:
        store.close()
    assert history.batch == 3 and history.history.complete and history.full is None
    assert set(history.history.chosen.index) == trained
    assert history.history.chosen.groupby("round").size().max() <= 3

    run_sweep(config, report=False)  # run again: the stop rule already holds, nothing more trains
    assert _ok_keys(config) == trained

    store = open_store(config.output)
    try:
        statuses = {run.run_key: run.status for run in store.runs()}
        losses = _val_losses(store)
    finally:
        store.close()
    first, second = (next_round(config, grid, statuses, losses, 2) for _ in range(2))
    assert first.decision.stop and "budget" in first.decision.reason
    assert [spec.run_key for spec in first.specs] == [spec.run_key for spec in second.specs] == []

    status = sweep_status(config.output)
    plan = status["plan"]
    assert plan["stop"] and plan["fitted"] and plan["remaining_flops"] >= 0
    # The plan stopped: the grid's untrained runs are not "to go" (status said "6 to go", and an eta).
    assert status["remaining"] == 0 and status["eta_seconds"] == 0
    assert status["not_chosen"] == len(grid) - len(trained) > 0
    assert status["total"] == len(grid) and sum(status["counts"].values()) == len(trained)
    assert plan["target"]["low"] <= plan["target"]["predicted"] <= plan["target"]["high"]
    from scalinglab.cli.run import _print_plan_status

    capsys.readouterr()
    _print_plan_status(config.output)  # what `scalinglab run` prints after training (was: nothing of the plan)
    said = " ".join(capsys.readouterr().out.split())
    assert "plan: stopped:" in said and f"val_loss {plan['target']['predicted']:.4g}" in said

    run_sweep(_config(tmp_path, plan=""), report=False)  # [plan] removed: the rest of the grid
    assert _ok_keys(config) == {spec.run_key for spec in grid}

    # [plan] back: nothing trains, and the report shows the planned rounds beside the whole grid.
    result = run_sweep(config)
    html = result.report.path.read_text()
    assert TITLE in html and "The whole grid gives" in html and "FLOPs the whole grid would cost" in html
    assert f"{len(trained)} runs in" in html and "estimated training FLOPs (" in html
    if find_chromium() is not None:
        from scalinglab.report.browser_check import check_report

        assert check_report(result.report.path) == []


@pytest.mark.parametrize(
    "plan, message",
    [
        ("budget_flops = 1e9\nbudget_fraction = 0.5", "not budget_flops and budget_fraction"),
        ("budget_seconds = 60\nbudget_flops = 1e9", "not budget_flops and budget_seconds"),
        ("budget_seconds = 0", "budget_seconds"),
        ("budget_seconds = -5", "budget_seconds"),
        ("target_compute = 0", "target_compute"),
        ("target_compute = 1e12\ntarget_n_params = 1e4", "target_compute asks for the optimum"),
        ("target_train_size = 0.5", "target_train_size"),
        ("target_n_params = 0.5", "target_n_params"),
    ],
)
def test_plan_rejects_bad_budgets_and_targets(tmp_path, plan, message):
    with pytest.raises(UserError, match=message):
        _config(tmp_path, plan=f"[plan]\n{plan}\n")


def _known_law(table, scale=1.0):
    """A Chinchilla-form loss on the grid's inputs (the optimum at N = D on an iso-FLOP line)."""
    return {key: scale * (1.0 + 20 * row.n_params**-0.35 + 20 * row.train_size**-0.35) for key, row in table.iterrows()}


def test_budget_seconds_caps_each_round_at_the_seconds_left_and_stops_once_they_are_spent(tmp_path):
    grid = plan_runs(_config(tmp_path, plan=""))
    table = candidate_table(grid)
    seconds = table.train_flops * (100.0 / table.train_flops.sum())  # the whole grid: 100 s
    config = _config(tmp_path, plan="[plan]\nbudget_seconds = 20\nbatch = 4\nseed = 1\n")
    losses = _known_law(table)

    first = [spec.run_key for spec in next_round(config, grid, {}, {}, 4).specs]
    assert len(first) == 4  # nothing measured yet: the starting design, not capped
    told = {key: "ok" for key in first}
    spent = float(seconds[first].sum())
    second = next_round(config, grid, told, losses, 4, seconds.to_dict())
    chosen = [spec.run_key for spec in second.specs]
    assert chosen and not set(chosen) & set(first)
    # each candidate costed at the measured seconds per FLOP: the round fits in the seconds left
    assert seconds[chosen].sum() <= 20 - spent + 1e-9

    by_cost = list(seconds.sort_values().index)
    spent_all = [key for key in by_cost if seconds[by_cost[: by_cost.index(key) + 1]].sum() <= 25]
    over = next_round(config, grid, dict.fromkeys(spent_all, "ok"), losses, 4, seconds.to_dict())
    assert seconds[spent_all].sum() >= 20
    assert over.decision.stop and "training seconds" in over.decision.reason and over.specs == []


def test_a_compute_target_answers_with_the_optimum_on_its_iso_flop_line(tmp_path):
    import numpy as np

    from scalinglab.sweeper.planned import target_rows

    grid = plan_runs(_config(tmp_path, plan=""))
    table = candidate_table(grid)
    per_param_example = float(np.median(table.train_flops / (table.n_params * table.train_size)))
    compute = per_param_example * 600**2  # the law's optimum (N = D) at 600: inside digits' 1,437 examples
    config = _config(tmp_path, plan=f"[plan]\ntarget_compute = {compute}\nbatch = 4\n")
    rows = target_rows(config.plan, table)
    assert np.allclose(per_param_example * rows.n_params * rows.train_size, compute)
    # Only points that can exist: no more data than the data has.
    within = target_rows(config.plan, table, available=1437)
    assert within.train_size.max() <= 1437 < rows.train_size.max() and len(within) >= 3

    now = next_round(config, grid, dict.fromkeys(table.index, "ok"), _known_law(table), 4)
    answer = now.planner.answer_row()
    best = np.sqrt(compute / per_param_example)  # the law's optimum: N = D on this line
    assert best / 1.6 < answer.n_params < best * 1.6
    truth = 1.0 + 40 * best**-0.35
    assert abs(answer.predicted / truth - 1) < 0.02 and answer.low <= answer.predicted <= answer.high


def test_the_report_finds_the_rounds_of_a_pool_sweep_that_did_not_say_its_batch(tmp_path):
    """A pool sweep without [plan] batch asked for as many runs as the pool had workers, which the
    stored file does not say: the rounds are recomputed with a round size that explains every
    measured run (here 4; a smaller one may choose the same runs). The sweep is replayed with its
    own next_round, losses from a known law."""
    import pandas as pd

    config = _config(tmp_path, plan='[plan]\nbudget_fraction = 0.3\nseed = 1\n\n[execution]\nexecutor = "pool"\n')
    grid = plan_runs(config)
    truth = _known_law(candidate_table(grid))
    statuses, losses = {}, {}
    while specs := next_round(config, grid, statuses, losses, 4).specs:
        statuses.update(dict.fromkeys((spec.run_key for spec in specs), "ok"))
        losses.update({spec.run_key: truth[spec.run_key] for spec in specs})
    frame = pd.DataFrame({"run_key": list(losses), "status": "ok", "val_loss": list(losses.values())})
    found = sweep_history(config, frame)
    assert found.batch in round_sizes(config) and found.batch <= 4 and found.history.complete
    assert set(found.history.chosen.index) == set(losses) and len(losses) > 4


@pytest.mark.parametrize(
    "plan, message",
    [
        ('[plan]\nform = "power"\n', "'power' takes 1 input"),
        ('[plan]\nform = "kaplann"\n', "plan.form: unknown form \\(did you mean 'kaplan'\\?\\)"),
        ("[plan]\nseed = -1\n", "plan.seed"),
    ],
)
def test_a_plan_its_law_cannot_fit_is_refused_when_the_file_is_read(tmp_path, plan, message):
    """Seen: form 'power' refused only after 6 runs were trained."""
    with pytest.raises(UserError, match=message):
        _config(tmp_path, plan=plan)


@pytest.mark.parametrize(
    "edit, message",
    [
        (("lr = 0.01", "lr = [0.001, 0.01]"), "training.lr is swept"),
        (("lr = 0.01", 'lr = "auto"'), "needs a fixed training.lr"),
        (("train_size = [100, 200, 400]", "train_size = 400"), "data.train_size needs 2 or more values"),
    ],
)
def test_a_plan_over_a_grid_it_would_misread_is_refused(tmp_path, edit, message):
    """Seen: two learning rates read as seed noise of one point, 'val_loss 2.23 (0.44 to 11.2)'."""
    path = tmp_path / "sweep.toml"
    path.write_text(GRID.format(output=(tmp_path / "out").as_posix()).replace(*edit) + PLAN)
    with pytest.raises(UserError, match=message):
        load_config(path)


def test_a_target_beyond_the_data_or_below_one_example_is_refused_before_a_run(tmp_path):
    from scalinglab.sweeper.planned import available_train_size, make_planner

    grid = plan_runs(_config(tmp_path, plan=""))
    table, available = candidate_table(grid), available_train_size(grid)
    assert 1000 < available < 2000  # digits: about 1,437 training examples
    for plan, message in [
        ("target_train_size = 1e9", "plan.target_train_size: 1e\\+09 is more than the"),
        ("target_compute = 1", "plan.target_compute: 1 FLOPs buys no model"),
    ]:
        config = _config(tmp_path, plan=f"[plan]\n{plan}\n")
        with pytest.raises(UserError, match=message):
            make_planner(config.plan, table, available)


def test_a_target_no_run_could_be_leaves_no_store_behind(tmp_path):
    """Seen: "plan.target_train_size: 100000 is more than the 1438 training samples", exit 2, and a
    runs.sqlite that `status` then described as a plan with nothing stored."""
    config = _config(tmp_path, plan="[plan]\ntarget_train_size = 1e5\n")
    with pytest.raises(UserError, match="plan.target_train_size: 100000 is more than the"):
        run_sweep(config)
    assert not (tmp_path / "out").exists()


def test_status_says_what_a_stopped_plan_left_untrained_and_a_grid_that_overspent_its_budget(capsys):
    """Seen: '12 runs planned: 9 ok; 0 to go' (3 runs never mentioned), and '3.98e+07 FLOPs spent
    of 1.59e+07 (0 remaining)' for a grid trained in full before [plan] was added."""
    from scalinglab.cli.status import _print

    plan = {
        "budget_flops": 1.59e7,
        "spent_flops": 1.55e7,
        "remaining_flops": 4e5,
        "target": {"n_params": 2410.0, "train_size": 400.0, "predicted": 2.05, "low": 1.97, "high": 2.07},
        "target_compute": None,
        "fitted": True,
        "stop": True,
        "reason": "no run left fits the budget",
    }
    report = {"total": 12, "counts": {"ok": 9}, "running": [], "remaining": 0, "not_chosen": 3}
    report |= {"eta_seconds": None, "failures": []}
    _print({**report, "plan": plan})
    said = " ".join(capsys.readouterr().out.split())
    assert "12 runs in the grid: 9 ok" in said and "3 runs of the grid the stopped plan did not choose" in said
    assert "run without [plan] to train them" in said
    overspent = {**plan, "spent_flops": 3.98e7, "remaining_flops": 0.0}
    _print({**report, "counts": {"ok": 12}, "not_chosen": 0, "plan": overspent})
    said = " ".join(capsys.readouterr().out.split())
    assert "the stored runs of the grid cost 3.98e+07 FLOPs, more than the plan's budget of 1.59e+07" in said
    assert "did not choose" not in said
    far = {**plan["target"], "within_reach": False}
    _print({**report, "plan": {**plan, "target": far}})
    said = " ".join(capsys.readouterr().out.split())
    assert "val_loss 2.05 (no interval: the law's error there is not measured" in said
    at_end = {**plan["target"], "within_reach": True, "at_line_end": True}
    _print({**report, "plan": {**plan, "target": at_end, "target_compute": 1e9}})
    said = " ".join(capsys.readouterr().out.split())
    assert "optimum at 1e+09 FLOPs, n_params=2.41k" in said and "a bound, not the optimum" in said
    not_fitted = {**plan, "fitted": False, "stop": False, "reason": "no law fitted yet"}
    _print({**report, "plan": {**not_fitted, "target": {"n_params": 2410.0, "train_size": 400.0}}})
    said = " ".join(capsys.readouterr().out.split())
    assert "target n_params=2.41k, train_size=400: not fitted yet" in said  # was KeyError: 'low'
    trained = {**plan["target"], "measured": 0.405, "n_measured": 1}
    _print({**report, "plan": {**plan, "target": trained}})
    said = " ".join(capsys.readouterr().out.split())
    assert "val_loss 2.05 (95% interval 1.97 to 2.07); measured there 0.405 (mean of 1 run)" in said


def test_the_measurement_at_a_trained_target_is_read_from_the_told_runs():
    import pandas as pd

    from scalinglab.sweeper.planned import measured_at

    told = pd.DataFrame(
        {"n_params": [2410.0, 2410.0, 160.0], "train_size": [800.0, 800.0, 800.0], "val_loss": [0.4, 0.41, 1.0]}
    )
    assert measured_at(told, 2410, 800) == {"measured": pytest.approx(0.405), "n_measured": 2}
    assert measured_at(told, 2410, 400) == {} and measured_at(told.iloc[:0], 2410, 800) == {}
