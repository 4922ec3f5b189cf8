"""End to end: the real CLI on a tiny grid, resume, failures, and bad input."""

import os
import re
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from scalinglab.run_spec import DataSpec, RunSpec, TrainingSpec
from scalinglab.store import open_store
from scalinglab.train import train_one

pytestmark = pytest.mark.slow  # end to end: real training, sweeps or the CLI in a subprocess


def _trained_count(stdout_and_err: str) -> int:
    line = next(line for line in stdout_and_err.splitlines() if "runs planned" in line)
    return int(line.split(" trained")[0].rsplit(" ", 1)[1])


def test_run_trains_fits_and_writes_csv_and_report(cli, tiny_sweep: Path):
    result = cli("run", str(tiny_sweep), "--quiet")
    assert result.returncode == 0, result.stderr
    out = tiny_sweep.parent / "out"
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 8 and set(runs["status"]) == {"ok"}
    assert (runs["n_params"] == 75 * runs["width"] + 10).all()  # 64 -> width -> 10, one hidden layer
    for column in [
        "val_loss",
        "val_accuracy",
        "train_seconds",
        "train_flops",
        "latency_ms_p50",
        "bytes_fp32",
        "generalization_gap",
    ]:
        assert runs[column].notna().all(), column
    report = (out / "report.html").read_text()
    assert report.count("data:image/png;base64,") >= 5
    assert "n_params^-" in result.stdout  # the plain-words exponent summary, on stdout with the answer


def test_the_python_api_and_the_cli_run_one_pipeline_and_write_the_same_files(cli, tiny_sweep: Path, tmp_path: Path):
    import scalinglab

    by_cli, by_api = tmp_path / "by-cli", tmp_path / "by-api"
    assert cli("run", str(tiny_sweep), "--quiet", "--out", str(by_cli)).returncode == 0
    frame = scalinglab.sweep(tiny_sweep, out=by_api)

    assert sorted(p.name for p in by_api.iterdir()) == sorted(p.name for p in by_cli.iterdir())
    assert {"runs.csv", "report.html", "runs.sqlite"} <= {p.name for p in by_api.iterdir()}
    written = pd.read_csv(by_api / "runs.csv")
    assert list(written.columns) == list(pd.read_csv(by_cli / "runs.csv").columns) == list(frame.columns)
    assert len(written) == len(frame) == 8
    assert (by_api / "report.html").read_text().count("data:image/png;base64,") >= 5


def test_rerun_of_a_finished_sweep_trains_nothing(cli, tiny_sweep: Path):
    first = cli("run", str(tiny_sweep), "--quiet")
    assert _trained_count(first.stderr) == 8
    store_file = tiny_sweep.parent / "out" / "runs.sqlite"
    before = sqlite3.connect(store_file).execute("SELECT run_key, finished_at FROM runs ORDER BY run_key").fetchall()

    second = cli("run", str(tiny_sweep))  # with the progress bar on: it must not show an empty one
    assert second.returncode == 0, second.stderr
    assert "nothing to train: 8 runs already stored" in second.stderr
    assert " eta " not in second.stderr and "runs planned" not in second.stderr
    after = sqlite3.connect(store_file).execute("SELECT run_key, finished_at FROM runs ORDER BY run_key").fetchall()
    assert after == before


def test_run_ends_with_the_recommendation_the_report_opens_with(cli, tiny_sweep: Path):
    import html

    from scalinglab.analysis import analyze
    from scalinglab.report.html import headline

    result = cli("run", str(tiny_sweep), "--quiet")
    assert result.returncode == 0, result.stderr
    out = tiny_sweep.parent / "out"
    answer = re.search(r'<p class="answer">(.*?)</p>', (out / "report.html").read_text(), re.S).group(1)
    last = " ".join(result.stdout.split("recommendation: ")[-1].split())  # rich wraps long lines
    assert "recommendation: " not in result.stderr  # the answer on stdout: `scalinglab run > answer.txt` keeps it
    assert last == " ".join(html.unescape(answer).split()) and last.startswith("Train ")
    # The API gives the same choice (its interval's last digits may differ: this process fits
    # with one BLAS thread, the command with two).
    assert headline(analyze(out)).split(":")[0] == last.split(":")[0]


def _stored_runs(store_file: Path) -> int:
    try:
        return sqlite3.connect(store_file).execute("SELECT count(*) FROM runs").fetchone()[0]
    except sqlite3.Error:  # not created yet, or its schema not written yet
        return 0


def test_ctrl_c_says_what_is_stored_and_how_to_resume(tiny_sweep: Path):
    import os
    import re
    import signal
    import subprocess
    import sys
    import time

    from cli_helpers import REPO

    # One run at a time, so runs are stored one by one while the rest train.
    args = ["run", str(tiny_sweep), "--set", "training.epochs=400", "--set", "seeds=[0, 1, 2]"]
    args += ["--set", "execution.batch=off"]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "COLUMNS": "400"}
    # A child inherits an ignored SIGINT, and Python then leaves it ignored: in the full suite an
    # earlier test left SIGINT ignored in this process, and the sweep ran to its end untouched.
    process = subprocess.Popen(
        [sys.executable, "-m", "scalinglab", *args],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    store_file = tiny_sweep.parent / "out" / "runs.sqlite"
    deadline = time.monotonic() + 120
    while _stored_runs(store_file) < 1 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    stored = _stored_runs(store_file)
    line = stderr.strip().splitlines()[-1]
    match = re.fullmatch(
        r"interrupted: (\d+) of 24 runs are stored, none half-written \(a run is stored only once "
        r"it finished\); resume with: scalinglab run (.+)",
        line,
    )
    assert match and int(match.group(1)) == stored and 1 <= stored < 24, line
    assert match.group(2) == f"{tiny_sweep} --set training.epochs=400 --set 'seeds=[0, 1, 2]' --set execution.batch=off"
    claims = sqlite3.connect(store_file).execute("SELECT count(*) FROM claims").fetchone()[0]
    assert claims == 0  # no run left claimed: a resume trains every missing one at once


def test_diverging_runs_are_recorded_and_the_sweep_goes_on(cli, tiny_sweep: Path):
    result = cli(
        "run",
        str(tiny_sweep),
        "--quiet",
        "--set",
        "training.optimizer=sgd",
        "--set",
        "training.lr=[0.05, 1e38]",
        "--set",
        "model.width=[8]",
        "--set",
        "data.train_size=[200]",
    )
    assert result.returncode == 0, result.stderr
    runs = pd.read_csv(tiny_sweep.parent / "out" / "runs.csv")
    assert sorted(runs["status"]) == ["diverged", "ok"]
    assert runs.loc[runs["status"] == "diverged", "error"].str.contains("non-finite").all()


def test_a_run_that_raises_becomes_a_failed_result(tmp_path: Path):
    spec = RunSpec(
        family="no-such-family",
        size={"width": 4},
        data=DataSpec(source="digits", train_size=50),
        training=TrainingSpec(epochs=1, batch_size=32, lr=0.01),
        seed=0,
    )
    result = train_one(spec)
    assert result.status == "failed" and "no-such-family" in result.error
    store = open_store(tmp_path)
    assert store.put(result) and store.keys(("failed",)) == {spec.run_key}


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "absent.toml"], "absent.toml: no such file"),
        (["run", "--set", "training.epochz=3"], "training.epochz: unknown key"),
        (["run", "--set", "training.epochs=three"], "training.epochs: Input should be a valid integer"),
        (["run", "--set", "model.width=[0]"], "model.width: must be a positive integer (got 0)"),
        (["run", "--set", "data.train_size=[99999]"], "data.train_size: 99999 is larger"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, tmp_path: Path, args, message):
    result = cli(*args, "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("bad", ["fit.metric='val_perplexity'", "data.cv_folds=500", "training.device='cuda:7'"])
def test_a_sweep_refused_before_training_leaves_no_store_behind(cli, tiny_sweep: Path, bad: str):
    result = cli("run", str(tiny_sweep), "--quiet", "--set", bad)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tiny_sweep.parent / "out" / "runs.sqlite").exists()


def test_no_arguments_prints_the_help_and_no_error_line(cli):
    result = cli()
    assert result.returncode == 2  # click's code for a missing command
    shown = result.stdout + result.stderr
    assert "Usage: scalinglab" in shown
    assert all(command in shown for command in ("run", "report", "recommend", "status"))
    assert "error" not in result.stderr and "Traceback" not in shown


def test_an_unknown_command_is_still_one_error_line(cli):
    result = cli("fly")
    assert result.returncode == 2
    assert result.stderr.startswith("scalinglab: error: No such command") and result.stderr.count("\n") == 1


def test_status_counts_the_runs_its_configuration_plans_and_names_the_others(tmp_path):
    """The same folder run again with other seeds said '3 runs planned: 6 ok'."""
    from bad_input_helpers import build_tiny_store

    from scalinglab.api import sweep_status
    from scalinglab.store import open_store

    out = build_tiny_store(tmp_path)  # a trained store; its stored configuration plans every run in it
    before = sweep_status(out)
    assert before["other_stored"] == 0 and before["remaining"] == 0
    store = open_store(out)
    try:
        config = dict(store.config())
        config["seeds"] = [7]  # the configuration the folder was last run with: none of its runs stored yet
        store.set_config(config)
    finally:
        store.close()
    after = sweep_status(out)
    n_stored = sum(before["counts"].values())
    assert after["counts"] == {} and after["other_stored"] == n_stored
    assert after["remaining"] == after["total"] > 0


def test_ctrl_c_after_training_says_the_runs_are_stored_and_how_to_get_the_report(
    tiny_sweep: Path, monkeypatch, capsys
):
    """Ctrl-C while the sweep writes its report (training done) once exited 130 with nothing said;
    before training (loading data, say) it is no claim about stored runs. The interrupt is raised
    where the report is written, in this process."""
    import scalinglab.api
    from scalinglab.cli import main

    def interrupted_while_reporting(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(scalinglab.api, "write_sweep_report", interrupted_while_reporting)
    with pytest.raises(SystemExit) as exit_:
        main(["run", str(tiny_sweep), "--quiet"])
    said = " ".join(capsys.readouterr().err.split())
    assert exit_.value.code == 130
    assert "interrupted after training, while fitting or writing the report; every finished run is stored" in said
    assert f"scalinglab report {tiny_sweep.parent / 'out'}" in said
    assert (tiny_sweep.parent / "out" / "runs.sqlite").exists()

    monkeypatch.setattr(scalinglab.api, "open_sweep_store", interrupted_while_reporting)  # before any run
    with pytest.raises(SystemExit) as exit_:
        main(["run", str(tiny_sweep), "--quiet"])
    said = " ".join(capsys.readouterr().err.split())
    assert exit_.value.code == 130 and said == (
        f"interrupted; scalinglab status {tiny_sweep.parent / 'out'} says what is stored, and the same command resumes"
    )


def test_status_counts_a_running_run_once_and_gives_a_dead_sweep_no_eta(tmp_path):
    """'3 ok; 2 running now; 13 to go' added up to 18 of 16 runs, and a sweep killed with -9
    kept an 'eta: 0m 08s' for ever."""
    from bad_input_helpers import build_tiny_store
    from cli_helpers import run_cli

    from scalinglab.api import sweep_status
    from scalinglab.config import SweepConfig
    from scalinglab.store import open_store
    from scalinglab.sweeper.plan import plan_runs

    out = build_tiny_store(tmp_path)
    store = open_store(out)
    try:
        config = dict(store.config())
        config["seeds"] = [7, 8]  # none of these runs stored yet
        store.set_config(config)
        first = plan_runs(SweepConfig.model_validate(config))[0].run_key
        store.claim(first, "a driver", lease_seconds=600)
        old_run = "a-run-of-other-settings"  # claimed by a driver of another configuration: not this plan's
        assert store.claim(old_run, "a driver", lease_seconds=600)
        live = sweep_status(out)
        store.release(old_run, "a driver")
        store.release(first, "a driver")  # the driver was killed: nothing runs
        dead = sweep_status(out)
    finally:
        store.close()
    assert first in live["running"] and live["remaining"] == live["total"] - 1 > 0
    assert live["eta_seconds"] is not None  # the other seeds' runs timed a run
    assert dead["running"] == [] and dead["remaining"] == dead["total"] and dead["eta_seconds"] is None
    printed = run_cli("status", str(out))
    assert "nothing is running" in printed.stdout and "eta" not in printed.stdout


@pytest.mark.slow  # two sweeps at once, in subprocesses
def test_two_drivers_on_one_store_each_account_for_every_planned_run(tiny_sweep: Path):
    """Seen: each of two drivers said '16 runs planned, 0 already stored, 8 trained, 8 ok'; the
    other 8 were never mentioned. Whatever the timing: stored before + trained here + trained
    meanwhile by the other = planned."""
    import subprocess
    import sys

    from cli_helpers import REPO

    args = [sys.executable, "-m", "scalinglab", "run", str(tiny_sweep), "--quiet"]
    args += ["--set", "execution.batch=off", "--set", "training.epochs=40"]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "COLUMNS": "400"}
    drivers = [subprocess.Popen(args, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in "ab"]
    for driver in drivers:
        _, stderr = driver.communicate(timeout=300)
        assert driver.returncode == 0, stderr
        summary = next(line for line in stderr.splitlines() if "runs planned" in line or "nothing to train" in line)
        if summary.startswith("nothing to train"):
            continue
        match = re.match(
            r"(\d+) runs planned, (\d+) already stored, (\d+) trained[^;]*(?:; (\d+) trained meanwhile.*)?$", summary
        )
        planned, already, trained, others = (int(group or 0) for group in match.groups())
        assert already + trained + others == planned == 8, summary
