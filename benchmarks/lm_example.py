"""The language-model example against issue 25's goals (a script, not a test: it trains for minutes).

Runs `examples/transformer_stdlib.toml` (or the sweep named) into a fresh folder as a child
process and prints, per model size, the validation bits per byte on held-out standard-library
files beside the byte-frequency (unigram) baseline and zlib / lzma on the same text, then the wall
time and the CPU time (user + sys of the child) of the whole `scalinglab run`, and the verdict on
the goals: every size below the baseline, the largest at most 3.0 bits per byte, at most 5 minutes.
The CPU time is quoted beside the wall time because a shared machine stretches the wall time.

    python benchmarks/lm_example.py
    python benchmarks/lm_example.py --executor "--executor pool --workers 2"
    python benchmarks/lm_example.py --sweep examples/transformer_stdlib.toml --set data.train_size=300000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
GOAL_BITS_PER_BYTE = 3.0
GOAL_SECONDS = 300.0


def run_sweep(sweep: Path, out: Path, overrides: list[str], executor: list[str]) -> tuple[float, float]:
    """`scalinglab run` in a child process; its (wall seconds, user + sys CPU seconds of it and
    every process under it, worker processes included)."""
    settings = [arg for value in overrides for arg in ("--set", value)]
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "scalinglab", "run", str(sweep), "--out", str(out), "--quiet", *executor, *settings],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    cpu_by_pid: dict[int, float] = {}
    while child.poll() is None:
        cpu_by_pid.update(tree_cpu_seconds(child.pid))
        time.sleep(0.2)
    if child.returncode:
        raise SystemExit(f"scalinglab run exited {child.returncode}")
    return time.perf_counter() - started, sum(cpu_by_pid.values())


def tree_cpu_seconds(root: int) -> dict[int, float]:
    """user + sys CPU seconds so far of `root` and its descendants, by pid (Linux /proc). Worker
    processes a driver does not wait for are missed by getrusage(RUSAGE_CHILDREN), so they are
    read while they live; the last reading before a process ends is at most one poll short."""
    parents, cpu = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        cpu[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    tree = {root}
    for _ in range(8):  # depth: driver, pool workers, their helpers
        tree |= {pid for pid, parent in parents.items() if parent in tree}
    return {pid: cpu[pid] for pid in tree if pid in cpu}


def size_rows(out: Path) -> pd.DataFrame:
    """Per trained size: parameters, tokens seen, bits per byte and the three anchors."""
    runs = pd.read_csv(out / "runs.csv")
    ok = runs[runs["status"] == "ok"].sort_values("n_params")
    columns = [
        "d_model",
        "n_params",
        "train_tokens_seen",
        "train_seconds",
        "val_bits_per_byte",
        "train_bits_per_byte",
        "baseline_val_bits_per_byte",
        "zlib_val_bits_per_byte",
        "lzma_val_bits_per_byte",
    ]
    return ok[[c for c in columns if c in ok]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", type=Path, default=ROOT / "examples" / "transformer_stdlib.toml")
    parser.add_argument("--set", action="append", default=[], help="a sweep-file override, as scalinglab run --set")
    parser.add_argument(
        "--executor",
        default="",
        help="executor options passed on, e.g. '--executor pool --workers 2' "
        "(one torch thread per run: on a machine shared with other work, two-thread kernels stall)",
    )
    parser.add_argument("--out", type=Path, help="the output folder (default: a fresh temporary one)")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="lm-example-"))
    wall, cpu = run_sweep(args.sweep, out, args.set, args.executor.split())
    rows = size_rows(out)
    print(rows.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    baseline = rows["baseline_val_bits_per_byte"].mean()
    largest = rows["val_bits_per_byte"].iloc[-1]
    print(f"\nwall {wall:.0f} s, CPU (user + sys) {cpu:.0f} s on {os.cpu_count()} cores; output in {out}")
    print(
        f"every size below the byte-frequency baseline ({baseline:.3f}): {bool((rows['val_bits_per_byte'] < baseline).all())}"
    )
    print(f"largest at most {GOAL_BITS_PER_BYTE} bits per byte: {largest:.3f} -> {largest <= GOAL_BITS_PER_BYTE}")
    print(f"at most {GOAL_SECONDS:.0f} s wall: {wall <= GOAL_SECONDS}")


if __name__ == "__main__":
    main()
