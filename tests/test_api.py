"""The public Python API: what `import scalinglab` offers, results as a frame, models loaded back."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import safetensors.torch
import torch
from cli_helpers import REPO

import scalinglab
from scalinglab.families import get_family
from scalinglab.families.base import TaskShape

pytestmark = pytest.mark.slow  # end to end: real training, sweeps or the CLI in a subprocess

ONE_RUN = """
output = "{output}"
[model]
family = "mlp"
width = 8
depth = 1
[data]
source = "digits"
train_size = 200
[training]
epochs = 1
[measure]
latency_repeats = 2
"""


@pytest.fixture(scope="module")
def one_run_sweep(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("one-run")
    sweep_file = folder / "sweep.toml"
    sweep_file.write_text(ONE_RUN.format(output=folder / "out"))
    scalinglab.sweep(sweep_file)
    return folder / "out"


def test_import_names_the_api_and_loads_no_torch():
    code = (
        "import sys, scalinglab;"
        "assert {'Family', 'ScalingLaw', 'UserError', 'load_model', 'results', 'sweep'} <= set(scalinglab.__all__);"
        "[getattr(scalinglab, name) for name in scalinglab.__all__];"
        "print('torch' in sys.modules)"
    )
    checked = subprocess.run(
        [sys.executable, "-c", code], env={"PYTHONPATH": str(REPO / "src")}, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == "False"


def test_results_has_one_row_per_stored_run(one_run_sweep: Path):
    frame = scalinglab.results(one_run_sweep)
    assert len(frame) == 1 and frame.loc[0, "status"] == "ok" and frame.loc[0, "width"] == 8
    assert frame.equals(scalinglab.results(one_run_sweep / "runs.sqlite"))


def test_results_of_a_missing_store_is_a_user_error_and_creates_nothing(tmp_path: Path):
    with pytest.raises(scalinglab.UserError, match="no scalinglab store"):
        scalinglab.results(tmp_path / "nowhere")
    assert not (tmp_path / "nowhere").exists()


def test_a_second_sweep_call_trains_nothing(one_run_sweep: Path):
    before = scalinglab.results(one_run_sweep)
    after = scalinglab.sweep(one_run_sweep.parent / "sweep.toml")
    assert after["run_key"].tolist() == before["run_key"].tolist()
    assert after["train_seconds"].tolist() == before["train_seconds"].tolist()  # stored, not retrained


def test_run_sweep_returns_what_the_sweep_did_and_wrote(one_run_sweep: Path):
    result = scalinglab.run_sweep(one_run_sweep.parent / "sweep.toml")
    assert isinstance(result, scalinglab.SweepResult)
    assert result.training.nothing_to_train() and result.compression is None
    assert result.runs.equals(scalinglab.results(one_run_sweep))
    assert result.runs_csv == one_run_sweep / "runs.csv" and result.runs_csv.is_file()
    assert result.report.path == one_run_sweep / "report.html" and result.report.path.is_file()
    assert isinstance(result.report.analysis, scalinglab.Analysis) and result.report.headline


def test_load_model_rebuilds_the_module_from_a_checkpoint_saved_the_agreed_way(one_run_sweep: Path):
    run_key = scalinglab.results(one_run_sweep).loc[0, "run_key"]
    torch.manual_seed(123)
    saved = get_family("mlp").build({"width": 8, "depth": 1}, TaskShape("classification", (64,), 10))
    (one_run_sweep / "checkpoints").mkdir(exist_ok=True)
    safetensors.torch.save_file(
        {k: v.contiguous() for k, v in saved.state_dict().items()},
        one_run_sweep / "checkpoints" / f"{run_key}.safetensors",
    )

    loaded = scalinglab.load_model(one_run_sweep, run_key)

    assert not loaded.training
    assert saved.state_dict().keys() == loaded.state_dict().keys()
    for name, tensor in saved.state_dict().items():
        assert torch.equal(tensor, loaded.state_dict()[name]), name
    sample = torch.randn(3, 64)
    assert torch.equal(saved.eval()(sample), loaded(sample))


def test_load_model_names_what_is_missing(one_run_sweep: Path, tmp_path: Path):
    with pytest.raises(scalinglab.UserError, match="not in"):
        scalinglab.load_model(one_run_sweep, "0123456789abcdef")
    with pytest.raises(scalinglab.UserError, match="no scalinglab store"):
        scalinglab.load_model(tmp_path, "0123456789abcdef")


def test_objective_only_arguments_are_refused_with_a_sweep_file(one_run_sweep: Path):
    with pytest.raises(scalinglab.UserError, match="sizes only apply to an objective"):
        scalinglab.sweep(one_run_sweep.parent / "sweep.toml", sizes={"width": [4]})


def test_exported_curves_of_an_objective_carry_its_params_not_what_it_returned():
    """An objective's runs have no size axes: a number it returned once per run is no curve point's."""
    import pandas as pd

    from scalinglab.api import _with_run_columns

    runs = pd.DataFrame(
        {
            "run_key": ["a", "b"],
            "status": ["ok", "ok"],
            "family": [None, None],
            "params.hidden": [8, 16],
            "n_params": [100.0, 200.0],
            "val_loss": [1.0, 0.9],
            "my_custom_score": [3.0, 4.0],
        }
    )
    curves = pd.DataFrame({"run_key": ["a", "a", "b"], "epoch": [1, 2, 1], "val_loss": [2.0, 1.0, 1.5]})
    exported = _with_run_columns(curves, runs)
    assert list(exported.columns) == ["run_key", "params.hidden", "n_params", "status", "epoch", "val_loss"]
