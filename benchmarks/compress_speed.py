"""Time `scalinglab compress` on a trained store, and check resumption, as the issue asks.

    PYTHONPATH=src python benchmarks/compress_speed.py OUT [--checkpoints-by-retraining]

OUT is a store with checkpoints (or, with --checkpoints-by-retraining, a store trained before
checkpoints were saved: each ok run is trained again with the same spec and seed to write one,
which is timed apart). On a copy of OUT it runs, each as a fresh `scalinglab compress`
process: (1) everything, timed, with wall and CPU seconds and the wall seconds each method's rows
took; (2) a second call, which must make nothing; (3) on another copy, a kill -9 once about half
the rows are stored, then a rerun, which must complete the rest with no duplicate row.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--checkpoints-by-retraining", action="store_true")
    args = parser.parse_args()
    summary: dict = {}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch) / "full"
        shutil.copytree(args.out, work)
        _drop_compressions(work)
        if args.checkpoints_by_retraining:
            summary["retrain_checkpoints_seconds"] = _retrain_checkpoints(work)
        killed = Path(scratch) / "killed"
        shutil.copytree(work, killed)
        summary["first_call"] = _timed_compress(work)
        summary["rows"] = len(_rows(work))
        summary["wall_seconds_by_method"] = _seconds_by_method(_rows(work))
        summary["second_call"] = _timed_compress(work)
        summary["kill_9"] = _kill_halfway_and_rerun(killed, summary["rows"])
    print(json.dumps(summary, indent=1))


def _compress_command(out: Path) -> list[str]:
    return [sys.executable, "-m", "scalinglab", "compress", str(out), "--json"]


def _environment() -> dict:
    return {**os.environ, "PYTHONPATH": str(SRC)}


def _timed_compress(out: Path) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(_compress_command(out), env=_environment(), capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    outcome = json.loads(result.stdout)
    return {
        "wall_seconds": round(time.perf_counter() - started, 1),
        "cpu_seconds": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 1),
        "planned": outcome["planned"],
        "made": outcome["made"],
        "by_status": outcome["by_status"],
    }


def _kill_halfway_and_rerun(out: Path, total: int) -> dict:
    process = subprocess.Popen(
        _compress_command(out), env=_environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    while process.poll() is None and len(_rows(out)) < total // 2:
        time.sleep(0.2)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    stored_at_kill = len(_rows(out))
    rerun = _timed_compress(out)
    rows = _rows(out)
    return {
        "stored_at_kill": stored_at_kill,
        "rerun_made": rerun["made"],
        "rows_after": len(rows),
        "distinct_keys": len({row["compression_key"] for row in rows}),
        "rerun_wall_seconds": rerun["wall_seconds"],
    }


def _rows(out: Path) -> list[dict]:
    from scalinglab.compress import stored_compressions

    return stored_compressions(out)


def _seconds_by_method(rows: list[dict]) -> dict[str, float]:
    """Wall seconds between each row and the one stored before it, summed by method."""
    seconds: Counter = Counter()
    for previous, row in zip(rows, rows[1:]):
        seconds[row["spec"]["method"]] += row["finished_at"] - previous["finished_at"]
    return {method: round(value, 1) for method, value in seconds.items()}


def _drop_compressions(out: Path) -> None:
    import sqlite3

    database = sqlite3.connect(out / "runs.sqlite")
    try:
        if database.execute("SELECT name FROM sqlite_master WHERE name='compressions'").fetchone():
            database.execute("DELETE FROM compressions")
            database.commit()
    finally:
        database.close()


def _retrain_checkpoints(out: Path) -> float:
    from scalinglab.compress.retrain import retrain_checkpoint
    from scalinglab.run_spec import RunSpec
    from scalinglab.store import open_store

    started = time.perf_counter()
    store = open_store(out)
    try:
        for run in store.runs():
            if run.status == "ok":
                retrain_checkpoint(RunSpec.model_validate(run.spec), out)
    finally:
        store.close()
    return round(time.perf_counter() - started, 1)


if __name__ == "__main__":
    main()
