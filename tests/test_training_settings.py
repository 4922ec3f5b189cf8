"""Every training setting is declared once (run_spec.TrainingSpec) and reaches everything that
names the settings: the sweep file's [training] table, the planned runs, runs.csv's columns and
the batched trainer's grouping. Adding a setting to TrainingSpec and not giving it a value in
ANOTHER_VALUE below fails here first, on purpose: each check then says where it is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from scalinglab.config import TrainingConfig, config_from_dict
from scalinglab.run_spec import DataSpec, RunLimits, RunResult, RunSpec, TrainingSpec
from scalinglab.runs_table import results_frame
from scalinglab.store import open_store
from scalinglab.sweeper import plan_runs
from scalinglab.train.batched import OWN_SETTINGS, batch_key

# A valid value other than the default, for every training setting.
ANOTHER_VALUE = {
    "epochs": 2,
    "batch_size": 8,
    "lr": 0.1,
    "weight_decay": 0.01,
    "dropout": 0.1,
    "precision": "bf16",
    "optimizer": "sgd",
    "schedule": "linear",
    "warmup_fraction": 0.2,
    "grad_clip": None,
    "data_parallel": 2,
}
# [training] fields about how the sweep watches and keeps its runs, not how a run trains; and
# `cooldowns`, which decides which runs the sweep plans (a branch's own record, part of its key,
# is RunSpec.cooldown_of, checked in tests/sweeper/test_cooldown_sweep.py).
SWEEP_ONLY = {"max_seconds", "device", "save_checkpoints", "cooldowns"}


def test_every_setting_has_another_value_here():
    assert set(ANOTHER_VALUE) == set(TrainingSpec.model_fields)
    assert all(value != TrainingSpec.model_fields[name].default for name, value in ANOTHER_VALUE.items())


def test_the_sweep_file_takes_every_setting_with_its_default_and_nothing_else_of_a_run():
    fields = TrainingConfig.model_fields
    assert set(fields) == set(TrainingSpec.model_fields) | SWEEP_ONLY, "a run setting declared outside TrainingSpec"
    for name, spec_field in TrainingSpec.model_fields.items():
        default = fields[name].default
        assert default == ([spec_field.default] if name in TrainingSpec.sweepable else spec_field.default), name


def test_every_setting_in_the_sweep_file_reaches_the_planned_run():
    config = config_from_dict({"data": {"train_size": 100}, "training": ANOTHER_VALUE}, source="test")
    (spec,) = plan_runs(config)
    assert spec.training == TrainingSpec(**ANOTHER_VALUE)


def test_runs_csv_has_a_column_for_every_setting(tmp_path: Path):
    spec = RunSpec(
        family="mlp",
        size={"width": 4, "depth": 1},
        data=DataSpec(source="digits", train_size=100),
        training=TrainingSpec(**ANOTHER_VALUE),
        seed=0,
        limits=RunLimits(),
    )
    store = open_store(tmp_path)
    store.put(RunResult(spec=spec, status="ok", metrics={"val_loss": 1.0}))
    row = results_frame(store).iloc[0]
    store.close()
    for name, value in ANOTHER_VALUE.items():
        assert name in row.index, f"runs.csv has no column {name}"
        assert row[name] == value or (value is None and row[name] is None), name


@pytest.mark.parametrize("name", sorted(ANOTHER_VALUE))
def test_runs_train_together_only_when_the_batched_trainer_keeps_their_difference_per_run(name: str):
    def run(**training) -> RunSpec:
        return RunSpec(
            family="mlp",
            size={"width": 4, "depth": 1},
            data=DataSpec(source="digits"),
            training=TrainingSpec(**training),
            seed=0,
        )

    if name in ("dropout", "data_parallel"):  # dropout's masks, W's worker processes: such a run trains alone
        assert batch_key(run(**{name: ANOTHER_VALUE[name]})) is None
    elif name in OWN_SETTINGS:
        assert batch_key(run(**{name: ANOTHER_VALUE[name]})) == batch_key(run())
    else:
        assert batch_key(run(**{name: ANOTHER_VALUE[name]})) != batch_key(run()), f"{name} is not in batch_key"
