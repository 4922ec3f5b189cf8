"""Sweeps that survive: SIGKILL at random moments then resume, two drivers on one store, bad
input that must leave stored data untouched. Everything here is a real `scalinglab run` process."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sweep_helpers import ok_result, tiny_spec

from scalinglab.run_spec import RunResult
from scalinglab.store import open_store

pytestmark = pytest.mark.slow  # end to end: real training, sweeps or the CLI in a subprocess

REPO = Path(__file__).resolve().parents[2]

# Enough epochs that the kills below land mid-training, even with the runs trained as one batch.
SWEEP = """
name = "survival"
output = "{output}"
seeds = [0]

[model]
family = "mlp"
width = {widths}
depth = 1

[data]
source = "digits"
train_size = [150]

[training]
epochs = 200
batch_size = 50
lr = 0.01

[measure]
latency_repeats = 1
"""


def write_sweep(tmp_path: Path, widths: list[int]) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP.format(output=tmp_path / "out", widths=widths))
    return path


def start_cli(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.Popen(
        [sys.executable, "-m", "scalinglab", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def stored_rows(out: Path) -> dict[str, float]:
    path = out / "runs.sqlite"
    if not path.exists():
        return {}
    db = sqlite3.connect(path, timeout=30)
    try:
        return dict(db.execute("SELECT run_key, finished_at FROM runs"))
    except sqlite3.OperationalError:  # killed before the schema was written
        return {}
    finally:
        db.close()


def test_a_sweep_killed_at_random_moments_resumes_without_loss_or_retraining(tmp_path, cli):
    widths = [2, 3, 4, 5, 6, 7]
    sweep = write_sweep(tmp_path, widths)
    out = tmp_path / "out"
    rng = random.Random(5)
    seen: dict[str, float] = {}
    kills = 0
    for _ in range(3):
        process = start_cli("run", str(sweep), "--quiet", "--executor", "pool", "--workers", "2")
        time.sleep(rng.uniform(2.0, 6.0))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait()
        rows = stored_rows(out)
        assert all(rows[key] == when for key, when in seen.items()), "a stored run changed after a kill"
        seen = rows
    assert kills >= 2
    finished = cli("run", str(sweep), "--quiet")
    assert finished.returncode == 0, finished.stderr
    store = open_store(out)
    runs, attempts, claims = store.runs(), store.attempts(), store.claims()
    store.close()
    keys = [run.run_key for run in runs]
    assert len(keys) == len(widths) and len(set(keys)) == len(widths)
    assert all(run.status == "ok" for run in runs)
    assert all(stored_rows(out)[key] == when for key, when in seen.items())
    finished_at = {run.run_key: run.finished_at for run in runs}
    retrained = [key for key, _, claimed_at in attempts if claimed_at > finished_at[key]]
    assert retrained == [], "a finished run was claimed (trained) again"
    assert claims == [], "no run may be left 'running'"


def test_two_sweeps_at_once_on_one_store_share_the_runs(tmp_path, cli):
    widths = [2, 3, 4, 5]
    sweep = write_sweep(tmp_path, widths)
    first, second = start_cli("run", str(sweep), "--quiet"), start_cli("run", str(sweep), "--quiet")
    outputs = [process.communicate(timeout=600) for process in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outputs
    assert not any("locked" in err for _, err in outputs)
    store = open_store(tmp_path / "out")
    runs, attempts = store.runs(), store.attempts()
    store.close()
    assert sorted(run.run_key for run in runs) == sorted({run.run_key for run in runs}) and len(runs) == len(widths)
    assert sorted(key for key, _, _ in attempts) == sorted(run.run_key for run in runs), "a run was trained twice"


def seeded_store(out: Path) -> bytes:
    store = open_store(out)
    store.put(ok_result(tiny_spec(4)))
    store.close()
    return (out / "runs.sqlite").read_bytes()


def test_an_unreachable_ray_address_is_one_line_and_changes_nothing(tmp_path, cli):
    sweep = write_sweep(tmp_path, [2])
    before = seeded_store(tmp_path / "out")
    result = cli("run", str(sweep), "--address", "127.0.0.1:9", timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "execution.address" in result.stderr and "127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "out" / "runs.sqlite").read_bytes() == before


def test_an_output_folder_that_is_a_file_is_one_line_and_untouched(tmp_path, cli):
    sweep = write_sweep(tmp_path, [2])
    (tmp_path / "out").write_text("not a folder")
    result = cli("run", str(sweep))
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "is a file" in result.stderr
    assert (tmp_path / "out").read_text() == "not a folder"


def test_a_store_that_is_not_sqlite_is_one_line_and_untouched(tmp_path, cli):
    sweep = write_sweep(tmp_path, [2])
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "runs.sqlite").write_text("my notes")
    for command in (["run", str(sweep)], ["status", str(tmp_path / "out")]):
        result = cli(*command)
        assert result.returncode == 2 and result.stderr.count("\n") == 1 and "not an SQLite file" in result.stderr
    assert (tmp_path / "out" / "runs.sqlite").read_text() == "my notes"


def test_status_counts_runs_and_lists_failures_with_their_errors(tmp_path, cli):
    failed = RunResult(spec=tiny_spec(8), status="failed", error="boom")
    store = open_store(tmp_path / "out")
    store.put(ok_result(tiny_spec(4)))
    store.put(failed)
    store.close()
    result = cli("status", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "1 failed, 1 ok" in result.stdout
    assert "failed" in result.stdout and "boom" in result.stdout and failed.run_key in result.stdout
