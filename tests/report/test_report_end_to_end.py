"""A real tiny sweep, its report in headless chromium, and the report/export/recommend commands."""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest
from cli_helpers import HOSTILE_NAME, run_cli
from headless_chromium import visit

pytestmark = pytest.mark.slow  # end to end: real training, sweeps or the CLI in a subprocess


@pytest.mark.browser
def test_report_renders_in_headless_chromium(sweep_out, tmp_path):
    screenshot = sweep_out / "report.png"
    page = visit(sweep_out / "report.html", tmp_path / "profile", screenshot=screenshot)
    assert page.errors == []
    assert page.console == []
    assert page.remote_requests == []
    assert len(page.images) >= 10
    assert all(image["complete"] and image["width"] > 0 for image in page.images), page.images
    for question in (
        "How does quality change with size?",
        "What does size cost?",
        "Which size should I train?",
        "Can these laws be trusted?",
        "Configuration that produced this report",
    ):
        assert question in page.text
    assert HOSTILE_NAME in page.text  # shown as text, not run or rendered as markup
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 50_000
    print(f"screenshot: {screenshot}")


def test_user_strings_are_escaped(sweep_out):
    html = (sweep_out / "report.html").read_text()
    assert "<script>" not in html and "<b>bold" not in html
    assert "&lt;script&gt;" in html
    assert "http://" not in html and "https://" not in html  # nothing to fetch


def test_report_warns_when_sizes_are_too_few_for_a_held_out_check(sweep_out):
    html = (sweep_out / "report.html").read_text()
    assert "Too few sizes to hold the largest one out" in html
    assert "one seed per configuration" in html


def test_report_command_rebuilds_from_the_store_alone(sweep_out, tmp_path):
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(sweep_out / "runs.sqlite", copy / "runs.sqlite")
    result = run_cli("report", str(copy))
    assert result.returncode == 0, result.stderr
    rebuilt = (copy / "report.html").read_text()
    assert "Which size should I train?" in rebuilt and "&lt;script&gt;" in rebuilt


def test_report_of_a_folder_without_a_store_is_one_line_exit_2(tmp_path):
    result = run_cli("report", str(tmp_path / "nothing"))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "no scalinglab store here" in result.stderr
    assert not (tmp_path / "nothing").exists()  # asking created nothing


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_export_writes_every_run(sweep_out, tmp_path, fmt):
    target = tmp_path / f"runs.{fmt}"
    result = run_cli("export", str(sweep_out), "--format", fmt, "--to", str(target))
    assert result.returncode == 0, result.stderr
    frame = {"csv": pd.read_csv, "json": pd.read_json, "parquet": pd.read_parquet}[fmt](target)
    assert len(frame) == 8 and {"n_params", "train_size", "val_loss", "train_seconds"} <= set(frame.columns)


def test_exported_curves_carry_their_runs_size_so_they_can_be_fitted_as_they_are(sweep_out, tmp_path):
    """Seen: the curves had no n_params, so `fit --x n_params,...` on them failed until joined by hand."""
    target = tmp_path / "curves.csv"
    assert run_cli("export", str(sweep_out), "--curves", "--to", str(target)).returncode == 0
    curves, runs = pd.read_csv(target), pd.read_csv(sweep_out / "runs.csv").set_index("run_key")
    assert list(curves.columns[:2]) == ["run_key", "width"] and "n_params" in curves
    assert (curves["n_params"].to_numpy() == runs.loc[curves["run_key"], "n_params"].to_numpy()).all()
    fitted = run_cli(
        "fit", str(target), "--x", "n_params", "--y", "val_loss", "--groups", "run_key", "--step", "epoch", "--json"
    )
    assert fitted.returncode == 0, fitted.stderr


def test_export_rejects_an_unknown_format(sweep_out):
    result = run_cli("export", str(sweep_out), "--format", "xlsx")
    assert result.returncode == 2 and "--format xlsx: choose one of csv, parquet, json" in result.stderr


def test_recommend_json_fits_the_budget(sweep_out):
    stored = pd.read_csv(sweep_out / "runs.csv")
    budget_s = float(stored["train_seconds"].median())
    result = run_cli("recommend", str(sweep_out), "--train-seconds", str(budget_s), "--storage-mb", "1", "--json")
    assert result.returncode == 0, result.stderr
    choice = json.loads(result.stdout)
    assert choice["usage"]["train_seconds"]["predicted"] <= budget_s
    assert choice["usage"]["storage_mb"]["predicted"] <= 1
    assert {"n_params", "train_size", "predicted", "ci_low", "ci_high", "law", "binding"} <= set(choice)
    assert choice["train_size"] <= stored["train_size"].max()  # never more data than there is
    if choice["law"] == "measurement of this configuration":  # trained with one seed: no interval to quote
        assert choice["ci_low"] is None and choice["ci_high"] is None
    else:
        assert choice["ci_low"] <= choice["predicted"] <= choice["ci_high"]
    assert set(choice["frontiers"]) >= {"train_seconds", "bytes_fp32", "latency_ms_p50"}


def test_recommend_prints_choice_binding_and_frontier(sweep_out):
    result = run_cli("recommend", str(sweep_out), "--train-flops", "1e9")
    assert result.returncode == 0, result.stderr
    assert re.search(r"Train (about )?[\d.]+k? parameters( \(width = \d+, depth = \d+\))? on train_size", result.stdout)
    assert "What stops a larger model" in result.stdout
    assert "Pareto frontier" in result.stdout


def test_recommend_budget_nothing_fits_is_one_line_exit_2(sweep_out):
    result = run_cli("recommend", str(sweep_out), "--train-flops", "1")
    assert result.returncode == 2
    assert result.stderr.startswith("scalinglab: error: no model size fits the budget")
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "arguments, message",
    [
        ((), "give a training budget"),
        (("--train-seconds", "-1"), "a budget must be a finite number > 0"),
        (("--train-seconds", "10", "--metric", "nope"), "--metric nope: not a recorded column"),
        (("--train-seconds", "1000", "--memory-mb", "0.001"), "no model size fits the budget"),
    ],
)
def test_recommend_bad_input_is_one_line_exit_2(sweep_out, arguments, message):
    result = run_cli("recommend", str(sweep_out), *arguments)
    assert result.returncode == 2 and message in result.stderr, result.stderr
