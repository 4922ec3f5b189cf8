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
        "N=1e9,D=4e8",  # inside the 12 runs told: too few sizes to backtest, so no interval beyond them
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
    for row in answer["batch"]:  # each pick is named by its line in the candidates file (line 1: the header)
        assert candidates.loc[row["index"] - 2, ["N", "D"]].tolist() == [row["N"], row["D"]]
    assert answer["prediction"][0]["low"] <= answer["prediction"][0]["predicted"] <= answer["prediction"][0]["high"]
    assert answer["form"] == "chinchilla" and isinstance(answer["warnings"], list)
    assert all("lowers the target's mean log-variance" in row["plan_reason"] for row in answer["batch"])


def test_d_optimal_says_what_it_gains_and_a_rising_metric_is_warned(tmp_path):
    runs, cands = _files(tmp_path, 12)
    common = ["--candidates", str(cands), "--x", "N,D", "--target", "N=1e10,D=2e11", "--cost", "flops"]
    result = run_cli("plan", "next", str(runs), *common, "--y", "loss", "--strategy", "d_optimal", "--json")
    assert result.returncode == 0, result.stderr
    # D-optimal raises the parameters' information: its gain is no drop of the target's variance.
    assert all("log-determinant" in row["plan_reason"] for row in json.loads(result.stdout)["batch"])
    table = pd.read_csv(runs)
    table["accuracy"] = 1 / table["loss"]  # rises with N and D
    table.to_csv(runs, index=False)
    result = run_cli("plan", "next", str(runs), *common, "--y", "accuracy")
    assert result.returncode == 0, result.stderr
    assert "warning: the data rise with N" in result.stderr and "target now, by the chinchilla law" in result.stdout


def test_plan_next_with_a_bad_action_or_column_is_one_line_and_exit_2(tmp_path):
    runs, cands = _files(tmp_path, 12)
    common = ["--candidates", str(cands), "--x", "N,D", "--y", "loss", "--target", "N=1e10,D=2e11"]
    result = run_cli("plan", "later", str(runs), *common, "--cost", "flops")
    assert result.returncode == 2 and "expected one of next" in result.stderr
    result = run_cli("plan", "next", str(runs), *common, "--cost", "dollars")
    assert result.returncode == 2 and "dollars" in result.stderr


def test_a_target_beyond_the_laws_reach_gets_a_prediction_and_no_interval(tmp_path):
    """Seen: N = 1e30 printed a '95% prediction interval' of 3.4e-142 to 1.0e142."""
    runs, cands = _files(tmp_path, 24)
    common = ["--candidates", str(cands), "--x", "N,D", "--y", "loss", "--cost", "flops"]
    result = run_cli("plan", "next", str(runs), *common, "--target", "N=2e9,D=4e10;N=1e20,D=1e21", "--json")
    assert result.returncode == 0, result.stderr
    near, far = json.loads(result.stdout)["prediction"]
    assert near["low"] <= near["predicted"] <= near["high"]
    assert far["low"] is None and far["high"] is None and far["predicted"] > 0
    (warning,) = [w for w in json.loads(result.stdout)["warnings"] if w.startswith("target 2:")]
    assert "farther beyond the runs than the law's error was measured" in warning
    assert "x beyond them in N" in warning
    printed = run_cli("plan", "next", str(runs), *common, "--target", "N=2e9,D=4e10;N=1e20,D=1e21")
    far_line = printed.stdout.strip().splitlines()[-1]
    assert far_line.split()[-2:] == ["-", "-"] and "nan" not in printed.stdout.lower()
    assert "warning: target 2:" in printed.stderr


def test_finished_runs_among_the_candidates_are_left_out_and_said():
    """Seen: a candidates file that was a copy of RUNS had its finished runs proposed again."""
    from scalinglab.plan.tables import already_run

    told = pd.DataFrame({"N": [1e7, 1e8], "D": [1e9, 1e9], "seed": [0, 0], "flops": [6e16, 6e17], "loss": [3.0, 2.5]})
    told.index = [2, 3]
    pool = pd.DataFrame(
        {"N": [1e7, 1e7, 1e9], "D": [1e9, 1e9, 1e9], "seed": [0, 1, 0], "flops": [6e16, 6e16, 6e18]}, index=[2, 3, 4]
    )
    kept, said = already_run(pool, told, x=["N", "D"], y="loss", cost="flops")
    assert list(kept.index) == [3, 4]  # another seed of a finished configuration is still a candidate
    assert said == ["candidates that are finished runs (a measured loss, or a row of RUNS), left out: line 2"]
    no_seed = already_run(pool.drop(columns="seed"), told.drop(columns="seed"), x=["N", "D"], y="loss", cost="flops")
    assert len(no_seed[0]) == 3 and no_seed[1] == []  # the same inputs may be another seed: offered
    measured = pool.assign(loss=[np.nan, 2.0, np.nan])
    assert list(already_run(measured, told.iloc[:0], x=["N", "D"], y="loss", cost="flops")[0].index) == [2, 4]


def test_each_bad_option_is_named_for_what_it_is(tmp_path):
    """Seen: a typo in --x blamed on --target ("no value for n_param"), "garbage: no such file" naming
    no option, --y among the x columns fitted against itself, a target column given twice kept."""
    import pytest

    from scalinglab.errors import UserError
    from scalinglab.plan.tables import next_batch

    runs, cands = _files(tmp_path, 12)

    def ask(**changes):
        options = dict(x=["N", "D"], y="loss", target="N=1e10,D=2e11", cost="flops") | changes
        return next_batch(runs, cands, **options)

    with pytest.raises(UserError, match=r"^--x Nn: no such column in RUNS .*runs.csv \(it has N, D, flops, loss\)"):
        ask(x=["Nn", "D"], target="Nn=1e10,D=2e11")
    with pytest.raises(UserError, match="^--target garbage: no such file"):
        ask(target="garbage")
    with pytest.raises(UserError, match="^--y N: also an input column in --x N,D"):
        ask(y="N")
    with pytest.raises(UserError, match="^--target 'N=1,N=2,D=3': N is given twice"):
        ask(target="N=1,N=2,D=3")


def test_a_pool_of_finished_runs_gives_no_batch_and_still_the_answer(tmp_path):
    """Review: a used-up candidate pool exited 2 with no prediction; it is no bad input."""
    from scalinglab.plan.tables import next_batch

    runs, _ = _files(tmp_path, 24)
    result = next_batch(runs, runs, x=["N", "D"], y="loss", target="N=1e9,D=2e10", cost="flops")
    assert result.batch.empty and result.prediction is not None
    assert any(warning.startswith("candidates that are finished runs") for warning in result.warnings)
