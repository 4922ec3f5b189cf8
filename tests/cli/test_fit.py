"""`scalinglab fit` as a user runs it: a subprocess on a CSV file."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from fit_helpers import CHINCHILLA_CSV, REPO, power_table

pytestmark = pytest.mark.slow  # end to end: real training, sweeps or the CLI in a subprocess

CHINCHILLA_ARGS = [
    str(CHINCHILLA_CSV),
    "--form",
    "chinchilla",
    "--x",
    "Model Size,D",
    "--y",
    "loss",
    "--derive",
    "D=Training FLOP/(6*Model Size)",
    "--where",
    "loss < 3.44",
]


def run_cli(*args, check=True):
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, "-m", "scalinglab", "fit", *args], capture_output=True, text=True, env=env, timeout=120
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def chinchilla_json():
    result = run_cli(*CHINCHILLA_ARGS, "--bootstrap", "200", "--seed", "3", "--compute", "5.76e23", "--json")
    return json.loads(result.stdout)


def test_json_has_the_published_fit_and_its_intervals(chinchilla_json):
    assert chinchilla_json["n_points"] == 240 and chinchilla_json["x"] == ["Model Size", "D"]
    assert chinchilla_json["params"]["alpha"] == pytest.approx(0.3473, rel=0.01)
    assert chinchilla_json["params"]["B"] == pytest.approx(2143.86, rel=0.01)
    low, high = chinchilla_json["ci"]["alpha"]
    assert low < chinchilla_json["params"]["alpha"] < high
    assert (chinchilla_json["n_bootstrap"], chinchilla_json["seed"]) == (200, 3)
    (allocation,) = chinchilla_json["compute_optimal"]
    assert allocation["compute"] == 5.76e23 and 1e10 < allocation["N_opt"] < 1e12


def test_same_seed_same_json(chinchilla_json):
    again = json.loads(
        run_cli(*CHINCHILLA_ARGS, "--bootstrap", "200", "--seed", "3", "--compute", "5.76e23", "--json").stdout
    )
    assert again == chinchilla_json


def test_renaming_by_derive_gives_the_same_fit(chinchilla_json):
    renamed = json.loads(
        run_cli(
            str(CHINCHILLA_CSV),
            "--form",
            "chinchilla",
            "--x",
            "N,D",
            "--y",
            "loss",
            "--derive",
            "N=Model Size",
            "--derive",
            "D=`Training FLOP`/(6*N)",
            "--where",
            "loss < 3.44",
            "--bootstrap",
            "0",
            "--json",
        ).stdout
    )
    assert renamed["params"] == pytest.approx(chinchilla_json["params"], rel=1e-9)
    assert renamed["ci"] is None


def test_table_output_names_every_parameter(tmp_path):
    path = tmp_path / "runs.csv"
    power_table(n=12).to_csv(path, index=False)
    result = run_cli(str(path), "--x", "x", "--y", "y", "--bootstrap", "100")
    for name in ("E", "A", "alpha", "95% CI"):
        assert name in result.stdout


def test_holdout_and_figure(tmp_path):
    path, figure = tmp_path / "runs.csv", tmp_path / "fit.png"
    power_table(n=20).to_csv(path, index=False)
    result = run_cli(
        str(path), "--x", "x", "--y", "y", "--holdout", "3", "--bootstrap", "100", "--json", "--out", str(figure)
    )
    backtest = json.loads(result.stdout)["backtest"]
    assert (backtest["n_train"], backtest["n_test"]) == (17, 3)
    assert len(backtest["held_out"]) == 3 and 0 <= backtest["coverage"] <= 1
    assert figure.read_bytes()[:4] == b"\x89PNG"


def test_holdout_by_condition_in_the_table_output(tmp_path):
    path = tmp_path / "runs.csv"
    power_table(n=20).to_csv(path, index=False)
    result = run_cli(str(path), "--x", "x", "--y", "y", "--holdout", "x < 3e9", "--bootstrap", "100")
    assert "backtest: fitted on" in result.stdout and "RMSE" in result.stdout


# Each message is tested in-process (test_validation); here: that the CLI makes it one line, exit 2.
@pytest.mark.parametrize(
    "args, message",
    [
        (["--x", "size", "--y", "y"], "--x size: not a column of "),
        (["--x", "x", "--y", "yy"], "--y yy: not a column of "),
        (["--x", "x", "--y", "y", "--form", "powr"], "--form 'powr': unknown form (did you mean 'power'?)"),
        (["--x", "x", "--y", "bad"], "not numeric"),
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(tmp_path, args, message):
    path = tmp_path / "runs.csv"
    table = power_table(n=8)
    table["bad"] = ["a"] * 8
    table.to_csv(path, index=False)
    result = run_cli(str(path), *args, check=False)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def test_a_missing_file_is_exit_status_2(tmp_path):
    result = run_cli(str(tmp_path / "nope.csv"), "--x", "x", "--y", "y", check=False)
    assert result.returncode == 2 and "no such file" in result.stderr


def test_nan_rows_are_reported_by_the_cli(tmp_path):
    path = tmp_path / "runs.csv"
    table = power_table(n=8)
    table.loc[2, "y"] = np.nan
    table.to_csv(path, index=False)
    result = run_cli(str(path), "--x", "x", "--y", "y", check=False)
    assert result.returncode == 2 and "missing (NaN)" in result.stderr


def test_json_carries_the_fit_diagnostics(chinchilla_json):
    diagnostics = chinchilla_json["diagnostics"]
    assert diagnostics["form"] == "chinchilla" and diagnostics["form_scores"] is None
    assert diagnostics["names"] == ["E", "A", "B", "alpha", "beta"]
    assert len(diagnostics["correlation"]) == 5 and isinstance(diagnostics["warnings"], list)
    assert 1 <= diagnostics["n_at_best"] <= diagnostics["n_starts"]


def test_auto_reports_its_scores_and_each_warning_on_stderr(tmp_path):
    path = tmp_path / "runs.csv"
    power_table(n=4).to_csv(path, index=False)  # too few sizes to backtest: the law says so
    result = run_cli(str(path), "--form", "auto", "--x", "x", "--y", "y", "--bootstrap", "50", "--json")
    fitted = json.loads(result.stdout)
    assert fitted["form"] == fitted["diagnostics"]["form"]
    assert set(fitted["diagnostics"]["form_scores"]) == {"power", "shifted_power", "bnsl"}
    assert fitted["diagnostics"]["warnings"]
    assert [f"warning: {w}" for w in fitted["diagnostics"]["warnings"]] == result.stderr.strip().splitlines()


def test_form_help_lists_auto():
    assert "auto" in run_cli("--help").stdout.split("--form", 1)[1].split("--x", 1)[0]


def test_auto_says_when_the_simpler_form_won_a_tie(tmp_path):
    from test_auto_and_diagnostics import shifted_power_by_a_hair_table

    path = tmp_path / "runs.csv"
    shifted_power_by_a_hair_table().to_csv(path, index=False)
    result = run_cli(str(path), "--form", "auto", "--x", "x", "--y", "y", "--bootstrap", "0")
    assert "form auto chose power" in result.stdout
    assert "power tied shifted_power (scores within 5%) and has fewer parameters" in result.stdout


def test_two_sizes_give_no_interval_of_no_width_and_a_flat_curve_is_said(tmp_path):
    sizes = np.repeat([1e6, 1e8], 8)
    noise = np.random.default_rng(0).normal(0, 0.01, sizes.size)
    path = tmp_path / "two.csv"
    path.write_text("N,loss\n" + "".join(f"{n},{1.2 + 5 * n**-0.1 + e}\n" for n, e in zip(sizes, noise)))
    result = run_cli(str(path), "--x", "N", "--y", "loss", "--bootstrap", "50")
    assert "no 95% CI: 2 resampled groups cannot bound 3 parameters" in " ".join(result.stdout.split())  # wrapped
    assert "warning: only 2 groups to resample for 3 parameters" in result.stderr
    path.write_text("N,loss\n" + "".join(f"{n},3.0\n" for n in np.geomspace(1e6, 1e9, 7)))
    result = run_cli(str(path), "--x", "N", "--y", "loss", "--bootstrap", "50")
    assert "warning: the law is flat across the data" in result.stderr


def test_an_interval_end_the_rows_do_not_bound_is_printed_as_such(tmp_path):
    n, d = np.repeat([1e3, 3e3, 1e4, 3e4, 1e5], 4), np.tile([1e4, 2e4, 4e4, 8e4], 5)
    loss = (2 + 50 / n**0.4 + 5 / d**0.3) * np.exp(np.random.default_rng(0).normal(0, 0.03, len(n)))
    path = tmp_path / "weak_data_term.csv"
    path.write_text("run,N,D,loss\n" + "\n".join(f"{i},{a},{b},{c}" for i, (a, b, c) in enumerate(zip(n, d, loss))))
    args = [str(path), "--x", "N,D", "--y", "loss", "--form", "chinchilla", "--bootstrap", "200", "--seed", "0"]
    args += ["--groups", "run"]
    table = run_cli(*args).stdout
    b_row = next(line for line in table.splitlines() if line.startswith("│ B "))
    assert "not bounded" in b_row and "e2" not in b_row  # no 1e23 upper end
    assert "these rows do not bound that end" in " ".join(table.split())
    assert json.loads(run_cli(*args, "--json").stdout)["ci_bounded"]["B"] == [False, False]
