"""`scalinglab plan next` on CSV files, through the real CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from cli_helpers import run_cli


def _files(tmp_path, n_told):
    n, d = np.meshgrid(np.geomspace(1e7, 1e9, 6), np.geomspace(2e8, 2e10, 5))
    table = pd.DataFrame({"N": n.ravel(), "D": d.ravel()})
    table["flops"] = 6 * table.N * table.D
    table["loss"] = 1.8 + 480 / table.N**0.35 + 2100 / table.D**0.37
    table.iloc[:n_told].to_csv(tmp_path / "runs.csv", index=False)
    table.iloc[n_told:].drop(columns="loss").to_csv(tmp_path / "cands.csv", index=False)
    return tmp_path / "runs.csv", tmp_path / "cands.csv"


def test_plan_next_prints_a_batch_of_candidates_as_json(tmp_path):
    runs, cands = _files(tmp_path, 12)
    result = run_cli(
        "plan",
        "next",
        str(runs),
        "--candidates",
        str(cands),
        "--x",
        "N,D",
        "--y",
        "loss",
        "--target",
        "N=1e10,D=2e11",
        "--cost",
        "flops",
        "--k",
        "3",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert len(answer["batch"]) == 3
    candidates = pd.read_csv(cands)
    assert all(row["index"] in candidates.index for row in answer["batch"])
    assert answer["prediction"][0]["low"] <= answer["prediction"][0]["predicted"] <= answer["prediction"][0]["high"]


def test_plan_next_with_a_bad_action_or_column_is_one_line_and_exit_2(tmp_path):
    runs, cands = _files(tmp_path, 12)
    common = ["--candidates", str(cands), "--x", "N,D", "--y", "loss", "--target", "N=1e10,D=2e11"]
    result = run_cli("plan", "later", str(runs), *common, "--cost", "flops")
    assert result.returncode == 2 and "expected one of next" in result.stderr
    result = run_cli("plan", "next", str(runs), *common, "--cost", "dollars")
    assert result.returncode == 2 and "dollars" in result.stderr
