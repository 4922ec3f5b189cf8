"""Plugin families: a user's Family subclass named by import path, with parameters and FLOPs
measured on the built module when it gives no formula."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from cli_helpers import REPO
from torch.utils.flop_counter import FlopCounterMode

from scalinglab.errors import UserError
from scalinglab.families import TaskShape, get_family

pytestmark = pytest.mark.slow  # end to end: real training, sweeps or the CLI in a subprocess

PLUGIN = "residual_plugin:ResidualMLP"
HERE = Path(__file__).parent
PLUGIN_PATH = {"PYTHONPATH": f"{REPO / 'src'}:{HERE}"}  # where the CLI and its workers import the plugin
DIGITS = TaskShape(kind="classification", input_shape=(64,), n_outputs=10)

SWEEP = """
output = "{output}"
[model]
family = "{family}"
{axes}
[data]
source = "digits"
train_size = 200
[training]
epochs = 2
batch_size = 50
[measure]
latency_repeats = 2
[execution]
executor = "{executor}"
workers = 2
"""


def _sweep_file(
    tmp_path: Path, *, family: str = PLUGIN, executor: str = "serial", axes: str = "width = [8, 16]\nblocks = 2"
) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(SWEEP.format(output=tmp_path / "out", family=family, executor=executor, axes=axes))
    return path


def _flops_per_sample_of_a_training_step(module: torch.nn.Module, batch: int = 4) -> float:
    x, y = torch.randn(batch, 64), torch.randint(0, 10, (batch,))
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(module(x), y).backward()
    return counter.get_total_flops() / batch


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["serial", "pool"])
def test_a_plugin_without_formulas_sweeps_through_the_cli(cli, tmp_path: Path, executor: str):
    result = cli("run", str(_sweep_file(tmp_path, executor=executor)), "--quiet", env=PLUGIN_PATH)
    assert result.returncode == 0, result.stderr

    runs = pd.read_csv(tmp_path / "out" / "runs.csv")
    assert len(runs) == 2 and set(runs["status"]) == {"ok"}, runs[["status", "error"]]
    for run in runs.itertuples():
        module = get_family(PLUGIN).build({"width": run.width, "blocks": 2}, DIGITS)
        assert run.n_params == sum(p.numel() for p in module.parameters())
        samples_seen = run.n_train * run.epochs
        assert run.train_flops == pytest.approx(_flops_per_sample_of_a_training_step(module) * samples_seen, rel=1e-12)


def test_measured_costs_are_counted_once_per_size():
    from residual_plugin import CountingResidualMLP

    family = get_family("residual_plugin:CountingResidualMLP")
    size = {"width": 12, "blocks": 3}
    before = CountingResidualMLP.builds
    n_params = family.n_params(size, DIGITS)
    forward = family.forward_flops_per_sample(size, DIGITS)
    train = family.train_flops_per_sample(size, DIGITS)
    family.forward_flops_per_sample(size, DIGITS)
    assert CountingResidualMLP.builds == before + 1

    module = family.build(size, DIGITS)
    assert n_params == sum(p.numel() for p in module.parameters())
    with FlopCounterMode(display=False) as counter:
        module(torch.randn(5, 64))
    assert forward == counter.get_total_flops() / 5
    # backward: a weight gradient for every layer, an input gradient for every layer but the first
    assert train == pytest.approx(3 * forward - 2 * 64 * 12, rel=1e-12)


def test_measuring_does_not_move_the_training_random_stream():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    get_family(PLUGIN).forward_flops_per_sample({"width": 7, "blocks": 1}, DIGITS)
    assert torch.equal(torch.rand(3), expected)


def test_a_build_without_dropout_refuses_dropout():
    with pytest.raises(ValueError, match="takes no dropout"):
        get_family(PLUGIN).build({"width": 4, "blocks": 1}, DIGITS, dropout=0.1)


@pytest.mark.parametrize(
    ("family", "axes", "message"),
    [
        ("no_such_module:Family", "width = 8", "model.family: cannot import module 'no_such_module'"),
        ("residual_plugin:Missing", "width = 8", "model.family: module 'residual_plugin' has no 'Missing'"),
        (
            "residual_plugin:NotAFamily",
            "width = 8",
            "model.family: 'residual_plugin:NotAFamily' is not a subclass of scalinglab.Family",
        ),
        (PLUGIN, "width = [8, 0]", "model.width: must be a positive integer (got 0)"),
        (PLUGIN, "width = 8\nheight = 3", "model.height: not a size axis of family 'residual_plugin:ResidualMLP'"),
    ],
)
def test_a_bad_plugin_is_a_user_error_naming_the_field(tmp_path: Path, family, axes, message):
    from scalinglab.config import load_config

    with pytest.raises(UserError) as raised:
        load_config(_sweep_file(tmp_path, family=family, axes=axes))
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("family", "axes", "training", "message"),
    [
        (PLUGIN, "width = 16\nblocks = 1", "dropout = 0.5", "training.dropout: 0.5, but family ResidualMLP's build"),
        (
            "residual_plugin:WidthOutputs",
            "width = [16, 32]",
            "",
            "maps one input to shape (1, 16); the task needs (1, 10)",
        ),
    ],
)
def test_a_plugin_that_cannot_train_these_runs_is_refused_before_any(tmp_path: Path, family, axes, training, message):
    """Seen: each run failed alone ("takes no dropout"), or a width-sized output trained as if
    the digits had 16 to 32 classes and was stored ok."""
    from scalinglab.config import load_config
    from scalinglab.sweeper.preflight import preflight

    path = _sweep_file(tmp_path, family=family, axes=axes)
    path.write_text(path.read_text().replace("epochs = 2\n", f"epochs = 2\n{training}\n"))
    with pytest.raises(UserError) as raised:
        preflight(load_config(path))
    assert message in str(raised.value)


def test_a_plugin_that_cannot_be_imported_is_one_line_exit_2_and_nothing_stored(cli, tmp_path: Path):
    result = cli("run", str(_sweep_file(tmp_path, family="no_such_module:Family")), "--quiet", env=PLUGIN_PATH)
    assert result.returncode == 2
    assert "sweep.toml: model.family: cannot import module 'no_such_module'" in result.stderr  # file and field
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "out").exists()


def test_an_axis_without_default_must_be_given(tmp_path: Path):
    from scalinglab.config import load_config

    path = _sweep_file(tmp_path, axes="blocks = 2")
    with pytest.raises(UserError, match="model.width: required by family"):
        load_config(path)


def test_debug_mode_raises_a_plugin_s_exception_with_its_traceback(tmp_path: Path, monkeypatch):
    import scalinglab

    sweep_file = _sweep_file(tmp_path, family="residual_plugin:BrokenAtWidth3", axes="width = 3")
    monkeypatch.setenv("SCALINGLAB_DEBUG", "1")
    with pytest.raises(KeyError, match="no such key"):
        scalinglab.sweep(sweep_file)
    monkeypatch.delenv("SCALINGLAB_DEBUG")
    frame = scalinglab.sweep(sweep_file)
    assert frame["status"].tolist() == ["failed"] and frame.loc[0, "error"].startswith("KeyError: 'no such key'")


@pytest.mark.parametrize(
    "executor",
    [
        "serial",
        pytest.param("pool", marks=pytest.mark.slow),
        pytest.param("ray", marks=[pytest.mark.slow, pytest.mark.ray]),
    ],
)
def test_a_plugin_in_the_working_folder_imports_without_pythonpath(cli, tmp_path: Path, executor: str):
    # PYTHONSAFEPATH keeps `python -m` from putting the working folder on sys.path, as the
    # installed `scalinglab` script does not: the plugin is found only because scalinglab looks there.
    (tmp_path / "gatedmodels.py").write_text((HERE / "residual_plugin.py").read_text())
    sweep_file = _sweep_file(tmp_path, family="gatedmodels:ResidualMLP", executor=executor, axes="width = 8")
    environment = {"PYTHONPATH": str(REPO / "src"), "PYTHONSAFEPATH": "1"}
    result = cli("run", sweep_file.name, "--quiet", cwd=tmp_path, env=environment)
    assert result.returncode == 0, result.stderr
    runs = pd.read_csv(tmp_path / "out" / "runs.csv")
    assert runs["status"].tolist() == ["ok"], runs[["status", "error"]]
    assert runs["worker"].str.startswith(executor).all()


def test_a_plugin_module_outside_the_working_folder_and_pythonpath_is_still_refused(cli, tmp_path: Path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "gatedmodels.py").write_text((HERE / "residual_plugin.py").read_text())
    sweep_file = _sweep_file(tmp_path, family="gatedmodels:ResidualMLP", axes="width = 8")
    result = cli("run", str(sweep_file), "--quiet", cwd=tmp_path, env={"PYTHONSAFEPATH": "1"})
    assert result.returncode == 2
    assert result.stderr.strip().endswith(
        "model.family: cannot import module 'gatedmodels' (ModuleNotFoundError: No module named 'gatedmodels')"
    )
    assert not (tmp_path / "out").exists()


def test_the_modules_of_the_working_folder_are_the_ones_ray_workers_are_sent(tmp_path: Path, monkeypatch):
    from scalinglab.families import working_folder_modules

    (tmp_path / "gatedmodels.py").write_text((HERE / "residual_plugin.py").read_text())
    (tmp_path / "gatedpackage").mkdir()
    (tmp_path / "gatedpackage" / "__init__.py").write_text("from gatedmodels import ResidualMLP\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the working folder added to it is taken back
    for name in ("gatedmodels", "gatedpackage"):
        monkeypatch.delitem(sys.modules, name, raising=False)  # and the modules imported from it
    get_family("gatedpackage:ResidualMLP")  # its package imports its neighbour module
    folder = tmp_path.resolve()
    assert working_folder_modules() == [str(folder / "gatedmodels.py"), str(folder / "gatedpackage")]
