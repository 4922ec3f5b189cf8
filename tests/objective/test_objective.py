"""Objective mode: the user's own training function, run by scalinglab's planner, store and executors."""

from __future__ import annotations

import os
import time
import traceback
from pathlib import Path

import objectives
import pandas as pd
import pytest
from cli_helpers import REPO

import scalinglab
from scalinglab.fit import ScalingLaw

pytestmark = pytest.mark.slow  # end to end: real training, sweeps or the CLI in a subprocess

HERE = Path(__file__).parent
MLP_SWEEP = dict(
    sizes={"width": [4, 16]}, train_sizes=[64, 128], seeds=[0], settings={"epochs": 3, "lr": 0.01, "batch_size": 32}
)


def test_a_hand_written_training_loop_sweeps_and_a_rerun_calls_it_zero_times(tmp_path: Path):
    objectives.CALLS.clear()
    frame = scalinglab.sweep(objectives.train_mlp, out=tmp_path / "out", **MLP_SWEEP)

    assert len(objectives.CALLS) == 4 and len(set(objectives.CALLS)) == 4
    assert len(frame) == 4 and set(frame["status"]) == {"ok"}, frame[["status", "error"]]
    assert sorted(zip(frame["width"], frame["train_size"])) == [(4, 64), (4, 128), (16, 64), (16, 128)]
    assert (frame["n_params"] == 8 * frame["width"] + frame["width"] + 3 * frame["width"] + 3).all()
    assert (frame["train_seconds"] > 0).all()  # measured around the call: the objective gave none
    assert (frame["val_loss"] > 0).all() and frame["val_accuracy"].between(0, 1).all()
    assert (frame["scratch_files"] == 1).all() and (frame["pid"] == os.getpid()).all()
    assert (frame["epochs"] == 3).all() and (frame["lr"] == 0.01).all()  # the settings it was given
    assert frame[["preprocessing", "val_fraction"]].isna().all().all()  # data settings it was not given

    objectives.CALLS.clear()
    again = scalinglab.sweep(objectives.train_mlp, out=tmp_path / "out", **MLP_SWEEP)
    assert objectives.CALLS == []
    assert sorted(again["run_key"]) == sorted(frame["run_key"])
    # The stored configuration validates again, so status counts the grid, not what is stored
    # (it fell back to "23 runs planned: 23 ok; 0 to go" with 2 of 25 runs missing).
    from scalinglab.config import SweepConfig
    from scalinglab.store import open_store
    from scalinglab.sweeper.status import _planned_keys

    store = open_store(tmp_path / "out", read_only=True)
    try:
        stored = store.config()
    finally:
        store.close()
    assert SweepConfig.model_validate(stored).model.objective is not None
    assert stored["data"] == {"train_size": [64, 128]}  # the report shows what the objective was given
    assert _planned_keys(stored) == set(frame["run_key"])


def test_a_failing_objective_is_a_failed_row_and_the_sweep_goes_on(tmp_path: Path):
    frame = scalinglab.sweep("objectives:fails_at_width_2", sizes={"width": [1, 2, 3, 4, 5]}, out=tmp_path)
    rows = frame.set_index("width")
    assert rows.loc[[1, 5], "status"].tolist() == ["ok", "ok"]
    assert rows.loc[[2, 3, 4], "status"].tolist() == ["failed"] * 3
    assert rows.loc[2, "error"].startswith("RuntimeError: out of luck at width 2 (objectives.py:")
    assert rows.loc[3, "error"].startswith("ObjectiveResultError: metric 'val_loss' is not a finite number (got nan)")
    assert "returned no n_params" in rows.loc[4, "error"]


def test_debug_mode_raises_the_objective_s_exception(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SCALINGLAB_DEBUG", "1")
    with pytest.raises(RuntimeError, match="out of luck at width 2"):
        scalinglab.sweep("objectives:fails_at_width_2", sizes={"width": [2]}, out=tmp_path, executor="pool")
    monkeypatch.delenv("SCALINGLAB_DEBUG")
    frame = scalinglab.sweep("objectives:fails_at_width_2", sizes={"width": [2]}, out=tmp_path)
    assert frame["status"].tolist() == ["failed"]  # nothing was recorded while debugging


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["pool", pytest.param("ray", marks=pytest.mark.ray)])
def test_the_same_objective_runs_on_the_pool_and_ray_executors(cli, tmp_path: Path, executor: str):
    # Through the CLI: workers import the objective (and scalinglab) by name in fresh processes.
    sweep_file = tmp_path / "sweep.toml"
    sweep_file.write_text(f"""
output = "{tmp_path / "out"}"
[model]
objective = "objectives:train_mlp"
width = [4, 16]
[data]
train_size = [64, 128]
[training]
epochs = 3
lr = 0.01
batch_size = 32
[execution]
executor = "{executor}"
workers = 2
""")
    result = cli("run", str(sweep_file), "--quiet", env={"PYTHONPATH": f"{REPO / 'src'}:{HERE}"})
    assert result.returncode == 0, result.stderr
    frame = scalinglab.results(tmp_path / "out")
    assert len(frame) == 4 and set(frame["status"]) == {"ok"}, frame[["status", "error"]]
    assert frame["worker"].str.startswith(f"{executor}").all() and (frame["scratch_files"] == 1).all()
    assert frame["pid"].nunique() >= 1 and (frame["pid"] != os.getpid()).all()


@pytest.mark.slow
def test_a_hung_run_is_killed_at_its_time_limit_and_quick_runs_of_fresh_workers_are_not(cli, tmp_path: Path):
    """Seen: training.max_seconds = 3 on the pool killed every run "after 4.9 s", runs that train
    in 0.1 s: the clock counted each fresh worker's imports, and a killed worker's successor too."""
    sweep_file = tmp_path / "sweep.toml"
    sweep_file.write_text(f"""
output = "{tmp_path / "out"}"
seeds = [0, 1]
[model]
objective = "objectives:hangs_at_width_16"
width = [4, 16, 8]
[data]
train_size = [64]
[training]
max_seconds = 0.5
[execution]
executor = "pool"
workers = 2
""")
    started = time.monotonic()
    result = cli("run", str(sweep_file), "--quiet", env={"PYTHONPATH": f"{REPO / 'src'}:{HERE}"})
    assert time.monotonic() - started < 120
    frame = scalinglab.results(tmp_path / "out").set_index("width")
    assert result.returncode == 0, result.stderr
    assert (frame.loc[[4, 8], "status"] == "ok").all(), frame[["status", "error"]]
    hung = frame.loc[[16]]
    assert (hung["status"] == "failed").all() and hung["error"].str.contains("over the time limit").all()


def test_a_function_workers_cannot_import_is_refused_for_the_pool(tmp_path: Path):
    def local_objective(run):
        return {"val_loss": 1.0, "n_params": 1}

    with pytest.raises(scalinglab.UserError, match="cannot be imported by pool workers"):
        scalinglab.sweep(local_objective, sizes={"width": [1]}, out=tmp_path / "out", executor="pool")
    assert not (tmp_path / "out").exists()  # refused before anything is stored
    assert scalinglab.sweep(local_objective, sizes={"width": [1]}, out=tmp_path / "out")["status"].tolist() == ["ok"]


def test_a_synthetic_power_law_is_recovered_with_its_exponent_in_the_95_percent_interval(tmp_path: Path):
    frame = scalinglab.sweep(
        objectives.synthetic_power_law,
        sizes={"width": [4, 8, 16, 32, 64, 128, 256, 512]},
        seeds=[0, 1, 2],
        out=tmp_path,
    )
    assert len(frame) == 24 and set(frame["status"]) == {"ok"}
    law = ScalingLaw("power", n_bootstrap=300, random_state=0).fit(frame, x="n_params", y="val_loss")
    low, high = law.ci_["alpha"]
    assert low < 0.4 < high, (law.params_, law.ci_)
    assert high - low < 0.2  # informative, not vacuous
    assert law.params_["E"] == pytest.approx(2.0, rel=0.02)


@pytest.mark.slow
def test_a_toml_objective_sweeps_through_the_cli_with_fit_and_report(cli, tmp_path: Path):
    sweep_file = tmp_path / "sweep.toml"
    sweep_file.write_text(f"""
output = "{tmp_path / "out"}"
seeds = [0, 1]
[model]
objective = "objectives:synthetic_power_law"
width = [4, 8, 16, 32, 64]
""")
    result = cli("run", str(sweep_file), "--quiet", env={"PYTHONPATH": f"{REPO / 'src'}:{HERE}"})
    assert result.returncode == 0, result.stderr
    assert "10 runs planned, 0 already stored, 10 trained, 10 ok" in result.stderr
    assert (tmp_path / "out" / "report.html").is_file()
    assert len(scalinglab.results(tmp_path / "out")) == 10


@pytest.mark.parametrize(
    ("model_table", "message"),
    [
        ('objective = "objectives:no_such_function"', "model.objective: module 'objectives' has no 'no_such_function'"),
        ('objective = "no_such_module:run"', "model.objective: cannot import module 'no_such_module'"),
        ('objective = "objectives:CALLS"', "model.objective: 'objectives:CALLS' is not a function"),
        (
            'objective = "objectives:train_mlp"\nfamily = "mlp"',
            "model.objective: a sweep has either a family or an objective",
        ),
    ],
)
def test_a_bad_objective_is_a_user_error_naming_the_field(tmp_path: Path, model_table: str, message: str):
    from scalinglab.config import load_config

    sweep_file = tmp_path / "sweep.toml"
    sweep_file.write_text(f"[model]\n{model_table}\n")
    with pytest.raises(scalinglab.UserError) as raised:
        load_config(sweep_file)
    assert message in str(raised.value)


def test_an_objective_s_own_hyperparameters_are_swept_stored_and_key_its_runs(tmp_path: Path):
    objectives.CALLS.clear()
    own = dict(sizes={"width": [1, 2]}, settings={"gamma": [0.1, 0.2], "C": 1.0, "epochs": 2}, out=tmp_path)
    frame = scalinglab.sweep(objectives.with_own_params, **own)

    assert len(objectives.CALLS) == 4 and set(frame["status"]) == {"ok"}, frame[["status", "error"]]
    assert sorted(zip(frame["width"], frame["params.gamma"])) == [(1, 0.1), (1, 0.2), (2, 0.1), (2, 0.2)]
    assert (frame["params.C"] == 1.0).all() and (frame["epochs"] == 2).all()  # a [training] field stays one
    assert frame["val_loss"].tolist() == pytest.approx((frame["params.gamma"] + 1 / frame["width"]).tolist())
    assert (frame["epochs_seen"] == 2).all()

    objectives.CALLS.clear()
    scalinglab.sweep(objectives.with_own_params, **own)
    assert objectives.CALLS == []  # the same params: the same runs, already stored
    changed = scalinglab.sweep(objectives.with_own_params, **{**own, "settings": {**own["settings"], "C": 2.0}})
    assert len(objectives.CALLS) == 4 and len(changed) == 8  # a new C is a new run of every point
    assert set(changed["run_key"]) > set(frame["run_key"])


def test_an_own_hyperparameter_spelled_like_a_training_setting_is_kept_and_warned_of(tmp_path: Path, caplog):
    settings = {"gamma": 0.1, "C": 1.0, "epoch": 3}  # "epoch": most likely "epochs" mistyped
    with caplog.at_level("WARNING", logger="scalinglab"):
        frame = scalinglab.sweep(
            objectives.with_own_params, sizes={"width": [1]}, settings=settings, out=tmp_path, report=False
        )
    assert (frame["params.epoch"] == 3).all()  # the objective's own key, as documented
    warned = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert any("'epoch' is not a training setting" in line and "did you mean 'epochs'" in line for line in warned)
    assert not any("gamma" in line or "'C'" in line for line in warned)  # names like no setting: no warning


def test_a_toml_objective_sweeps_its_params_table_and_runs_csv_shows_it(cli, tmp_path: Path):
    sweep_file = tmp_path / "sweep.toml"
    sweep_file.write_text(f"""
output = "{tmp_path / "out"}"
[model]
objective = "objectives:with_own_params"
width = [1, 2, 4, 8]
[params]
gamma = [0.0, 0.5]
C = 2
[training]
epochs = 1
""")
    result = cli("run", str(sweep_file), "--quiet", env={"PYTHONPATH": f"{REPO / 'src'}:{HERE}"})
    assert result.returncode == 0, result.stderr
    runs = pd.read_csv(tmp_path / "out" / "runs.csv")
    assert len(runs) == 8 and set(runs["status"]) == {"ok"}, runs[["status", "error"]]
    assert sorted(set(runs["params.gamma"])) == [0.0, 0.5] and (runs["params.C"] == 2).all()
    assert runs["val_loss"].tolist() == pytest.approx((runs["params.gamma"] * 2 + 1 / runs["width"]).tolist())


@pytest.mark.parametrize(
    ("tables", "line"),
    [
        (
            '[model]\nfamily = "mlp"\n[params]\ngamma = 1',
            "sweep.toml: params: only for an objective (model.objective); a family trains with the [training] fields",
        ),
        (
            '[model]\nobjective = "objectives:with_own_params"\n[params]\nlr = 0.1',
            "sweep.toml: params.lr: a [training] field; set training.lr instead",
        ),
        (
            '[model]\nobjective = "objectives:with_own_params"\n[params]\ngamma = [[1]]',
            "sweep.toml: params.gamma: must be a number, a string or true/false (got [1])",
        ),
        (
            '[model]\nobjective = "objectives:with_own_params"\n[training]\nepoch = 1',
            "sweep.toml: training.epoch: unknown key (did you mean 'epochs'?)",
        ),
    ],
)
def test_a_bad_params_table_is_one_line_exit_2_and_nothing_stored(cli, tmp_path: Path, tables: str, line: str):
    (tmp_path / "sweep.toml").write_text(f'output = "out"\n{tables}\n')
    result = cli("run", "sweep.toml", "--quiet", cwd=tmp_path, env={"PYTHONPATH": f"{REPO / 'src'}:{HERE}"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"scalinglab: error: {line}"]
    assert not (tmp_path / "out").exists()


def test_a_user_error_in_sweep_reaches_python_as_itself_without_scalinglab_s_internals(tmp_path: Path):
    with pytest.raises(scalinglab.UserError) as raised:
        scalinglab.sweep(objectives.with_own_params, sizes={"width": [1]}, settings={"epochs": 0}, out=tmp_path / "out")
    assert str(raised.value) == "sweep(): training.epochs: Input should be greater than 0 (got 0)"
    files = [Path(frame.filename).name for frame in traceback.extract_tb(raised.tb)]
    assert files == ["test_objective.py", "api.py"]  # the call, then sweep() raising it: nothing deeper
    assert not (tmp_path / "out").exists()


# pytest-timeout's own method holds the real-time timer, which the deadline leaves to its owner.
@pytest.mark.timeout(300, method="thread")
@pytest.mark.slow  # waits for the deadline: 10 s of grace
def test_an_objective_past_its_deadline_fails_on_the_serial_executor_as_on_the_pool(tmp_path: Path):
    """Seen: width 7 sleeping 30 s with max_seconds = 2 was "ok" serially and "failed ... over the
    time limit" on the pool: the same run key, two answers."""
    import scalinglab.run_spec as run_spec

    seconds = run_spec.RunLimits(max_seconds=0.01).deadline_seconds()
    assert seconds == pytest.approx(0.01 * 1.25 + run_spec.DEADLINE_GRACE_SECONDS)

    def sleeps_at_width_16(run):
        if run.size["width"] == 16:
            time.sleep(seconds + 5)
        return {"val_loss": 1.0 / run.size["width"], "n_params": run.size["width"]}

    started = time.monotonic()
    frame = scalinglab.sweep(
        sleeps_at_width_16,
        sizes={"width": [4, 16]},
        out=tmp_path / "out",
        overrides=["training.max_seconds=0.01"],
        report=False,
    ).set_index("width")
    assert time.monotonic() - started < seconds + 4.5  # stopped at the deadline, not after the sleep
    assert frame.loc[4, "status"] == "ok"
    assert (
        frame.loc[16, "status"] == "failed"
        and "over the time limit (training.max_seconds = 0.01 s)" in (frame.loc[16, "error"])
    )


@pytest.mark.timeout(300, method="thread")  # as above: the real-time timer must be free
def test_the_deadline_holds_against_an_objective_that_catches_it_and_leaves_other_timers_alone():
    import signal

    from scalinglab.train.objective import ObjectiveTimeLimit, _interrupted_at

    def retries_on_any_exception():
        for _ in range(4):
            try:
                time.sleep(0.1)
            except Exception:  # a user's retry loop: it catches the interrupt too
                pass

    with pytest.raises(ObjectiveTimeLimit, match="stopped after 0.15 s: over"):
        with _interrupted_at(0.15, lambda: "over"):
            retries_on_any_exception()
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *args: fired.append(True))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)  # someone else's timer (a test runner's timeout, say)
        with _interrupted_at(0.05, lambda: "over"):
            time.sleep(0.1)  # not interrupted: the timer was theirs
        time.sleep(0.4)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert fired == [True]
