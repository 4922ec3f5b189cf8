"""The memory check before training blames the size axes that make a model too big, wherever they were set."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # end to end: real training, sweeps or the CLI in a subprocess


def test_a_model_too_big_for_memory_names_every_axis_whose_halving_cuts_it_by_a_quarter(cli, tmp_path: Path):
    # depth is set last: the check once blamed the last --set of the model table, whatever made it big.
    result = cli(
        "run",
        "--set",
        f"output='{tmp_path / 'out'}'",
        "--set",
        "data.train_size=100",
        "--set",
        "seeds=0",
        "--set",
        "execution.max_memory_mb=100",
        "--set",
        "model.width=2000",
        "--set",
        "model.depth=3",
        "--quiet",
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "scalinglab: error: --set model.depth, --set model.width: width=2000, depth=3 has 8,154,010 parameters; "
        "training it needs at least 0.13 GB (weights, gradients, adam state), more than the 0.1 GB available "
        "(halved, depth=1 has 150,010, width=1000 has 2,077,010)"
    ]
    assert not (tmp_path / "out").exists()


def test_an_axis_that_hardly_counts_is_not_blamed_and_the_file_is_named_once(cli, tmp_path: Path):
    sweep_file = tmp_path / "sweep.toml"
    sweep_file.write_text(f"""
output = "{tmp_path / "out"}"
[model]
family = "transformer"
d_model = 1024
n_layer = 4
n_head = 4
context = 64
[data]
source = "stdlib"
train_size = 100000
[execution]
max_memory_mb = 100
""")
    result = cli("run", str(sweep_file), "--quiet")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"scalinglab: error: {sweep_file}: model.d_model, model.n_layer: d_model=1024, n_layer=4, ")
    assert "context=32" not in line and "n_head=2" not in line  # halving them barely changes the count
    assert not (tmp_path / "out").exists()
