"""Reliability figures of a sweep: kills survived, runs lost, duplicate runs, and the throughput of
several processes writing one store at once. Prints measured figures; not a test.

    PYTHONPATH=src python benchmarks/reliability.py [--kills 5] [--writers 4] [--results-per-writer 200]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

from scalinglab.run_spec import DataSpec, RunResult, RunSpec, TrainingSpec  # noqa: E402
from scalinglab.store import open_store  # noqa: E402
from scalinglab.store.base import new_owner_id  # noqa: E402

SWEEP = """
output = "{output}"
seeds = [0, 1]
[model]
family = "mlp"
width = [2, 4, 8, 16, 32]
depth = 1
[data]
source = "digits"
train_size = [150]
[training]
epochs = 2
batch_size = 50
lr = 0.01
[measure]
latency_repeats = 1
"""


def kill_and_resume(folder: Path, kills: int, seed: int) -> dict[str, int]:
    """Run a 10-run pool sweep, SIGKILL it `kills` times at random moments, then let it finish."""
    sweep = folder / "sweep.toml"
    sweep.write_text(SWEEP.format(output=folder / "out"))
    command = [sys.executable, "-m", "scalinglab", "run", str(sweep), "--quiet", "--executor", "pool", "--workers", "2"]
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    rng = random.Random(seed)
    survived = 0
    for _ in range(kills):
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(3.0, 12.0))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            survived += 1
        process.wait()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = open_store(folder / "out")
    runs, attempts = store.runs(), store.attempts()
    store.close()
    finished_at = {run.run_key: run.finished_at for run in runs}
    return {
        "kills survived": survived,
        "runs planned": 10,
        "runs lost": 10 - len({run.run_key for run in runs if run.status == "ok"}),
        "duplicate rows": len(runs) - len(finished_at),
        "finished runs trained again": sum(1 for key, _, when in attempts if when > finished_at.get(key, float("inf"))),
    }


def _spec(index: int) -> RunSpec:
    return RunSpec(
        family="mlp",
        size={"width": index, "depth": 1},
        data=DataSpec(source="digits"),
        training=TrainingSpec(epochs=1, batch_size=1, lr=0.01),
        seed=0,
    )


def _writer(url: str, keys: list[int], barrier, queue) -> None:
    store = open_store(url)
    owner = new_owner_id()
    barrier.wait()
    written, errors = 0, []
    for index in keys:
        spec = _spec(index)
        try:
            if store.claim(spec.run_key, owner, lease_seconds=60):
                store.put(
                    RunResult(spec=spec, status="ok", metrics={"val_loss": 1.0}, curves=[{"epoch": 1, "val_loss": 1.0}])
                )
                written += 1
        except Exception as error:  # counted and reported: a locked database would show up here
            errors.append(str(error))
    store.close()
    queue.put((written, errors))


def concurrent_writers(folder: Path, writers: int, per_writer: int) -> dict[str, float]:
    """`writers` processes claim and store the same `writers * per_writer` runs at once."""
    url = f"sqlite:///{folder / 'writers.sqlite'}"
    open_store(url).close()
    keys = list(range(1, writers * per_writer + 1))
    context = multiprocessing.get_context("spawn")
    barrier, queue = context.Barrier(writers + 1), context.Queue()
    processes = [context.Process(target=_writer, args=(url, keys, barrier, queue)) for _ in range(writers)]
    for process in processes:
        process.start()
    barrier.wait()
    started = time.perf_counter()
    outcomes = [queue.get() for _ in processes]
    seconds = time.perf_counter() - started
    for process in processes:
        process.join()
    store = open_store(url)
    stored = len(store.runs())
    store.close()
    return {
        "writer processes": writers,
        "runs stored": stored,
        "runs expected": len(keys),
        "runs stored twice": sum(written for written, _ in outcomes) - stored,
        "write errors (e.g. database is locked)": sum(len(errors) for _, errors in outcomes),
        "claim+store per second": round(stored / seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--results-per-writer", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for name, value in kill_and_resume(Path(folder), args.kills, args.seed).items():
            print(f"{name:>40}: {value}")
        for name, value in concurrent_writers(Path(folder), args.writers, args.results_per_writer).items():
            print(f"{name:>40}: {value}")


if __name__ == "__main__":
    main()
