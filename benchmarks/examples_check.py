"""Every example sweep of the repository, run and read as a user would (issue 18's goal; a script,
not a test: the sweeps take minutes each).

For each `examples/*.toml` (or the ones named): `scalinglab run` into a fresh folder, then
`scalinglab recommend --json` at the report's default budget, and checks that
- no output (terminal, report.html, the recommendation) says nan or inf;
- every candidate of the recommendation's frontiers is at least the smallest trained size, and a
  whole number of parameters (a size the family can build where the sweep varies one axis);
- no prediction is worse than the trivial baseline the runs recorded (`baseline_<metric>`);
- every figure of the report is readable in headless Chromium (`scalinglab.report.browser_check`:
  the image decodes, two labelled ticks per axis, no axis over 20x its data's range).

    python benchmarks/examples_check.py                      # every example, a quarter of an hour or more
    python benchmarks/examples_check.py width_x_depth mlp_teacher
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # this checkout's scalinglab, as the subprocesses run it
from scalinglab.report.browser_check import check_report  # noqa: E402

NOT_A_NUMBER = re.compile(r"\b(nan|inf|infinity)\b", re.IGNORECASE)
# Examples that need what a plain install may lack (Hugging Face weights that are not shipped).
SKIPPED = {"hf_gpt2": "needs the gpt2 weights from the Hugging Face hub, which this machine cannot reach"}


def scalinglab(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scalinglab", *args],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src"), "COLUMNS": "120", "PATH": "/usr/bin:/bin"},
    )


def check_example(sweep: Path, folder: Path) -> list[str]:
    """The problems of one example sweep (empty when none)."""
    out = folder / sweep.stem
    run = scalinglab("run", str(sweep), "--set", f"output='{out}'", "--quiet")
    if run.returncode != 0:
        return [f"run exited {run.returncode}: {run.stderr.strip().splitlines()[-1:]}"]
    problems = [f"terminal: {m.group(0)!r}" for m in NOT_A_NUMBER.finditer(run.stdout + run.stderr)]
    report = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", (out / "report.html").read_text())
    problems += [f"report: ...{report[max(0, m.start() - 60) : m.end() + 20]!r}" for m in NOT_A_NUMBER.finditer(report)]
    problems += [f"figure: {problem}" for problem in check_report(out / "report.html")]
    runs = pd.read_csv(out / "runs.csv")
    ok = runs[runs["status"] == "ok"]
    slowest = ok.groupby(["n_params", "train_size"], dropna=False)["train_seconds"].mean().max()
    recommended = scalinglab("recommend", str(out), "--train-seconds", f"{slowest:.6g}", "--json")
    if recommended.returncode != 0:
        return problems + [f"recommend exited {recommended.returncode}: {recommended.stderr.strip()}"]
    problems += [f"recommend: {m.group(0)!r}" for m in NOT_A_NUMBER.finditer(recommended.stdout)]
    choice = json.loads(recommended.stdout)
    metric = choice["metric"]
    baseline = ok[f"baseline_{metric}"].mean() if f"baseline_{metric}" in ok else None
    smallest = ok["n_params"].min()
    rows = [row for frontier in choice["frontiers"].values() for row in frontier] + [choice]
    for row in rows:
        if row["n_params"] < smallest or row["n_params"] != round(row["n_params"]):
            problems.append(f"candidate of {row['n_params']} parameters (smallest trained {smallest:g})")
        value = row.get(metric, row.get("predicted"))
        if baseline is not None and metric.endswith(("loss", "bits_per_byte")) and value > baseline * 1.0001:
            problems.append(f"{metric} {value:.4g} predicted, worse than the trivial baseline {baseline:.4g}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="example names (default: every examples/*.toml)")
    args = parser.parse_args()
    sweeps = sorted((ROOT / "examples").glob("*.toml"))
    if args.names:
        sweeps = [sweep for sweep in sweeps if sweep.stem in args.names]
    with tempfile.TemporaryDirectory() as folder:
        for sweep in sweeps:
            started = time.perf_counter()
            problems = check_example(sweep, Path(folder))
            verdict = "ok" if not problems else f"{len(problems)} problem(s)"
            print(f"{sweep.stem:>28}: {verdict} ({time.perf_counter() - started:.0f} s)", flush=True)
            for problem in problems[:10]:
                print(f"{'':>30}{problem}", flush=True)
    for name, why in SKIPPED.items():
        print(f"{name:>28}: not run ({why})")


if __name__ == "__main__":
    main()
