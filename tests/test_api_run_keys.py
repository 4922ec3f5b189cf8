"""Run keys of built-in sweeps are pinned: a store written before a change must not retrain.

The keys were computed before plugin families and objective mode added fields to RunSpec; a field
at its default value must stay out of the hashed JSON.
"""

from __future__ import annotations

from scalinglab.run_spec import DataSpec, RunLimits, RunSpec, TrainingSpec


def test_builtin_run_key_is_unchanged():
    spec = RunSpec(
        family="mlp",
        size={"width": 2, "depth": 2},
        data=DataSpec(source="digits", train_size=360, preprocessing="standardize"),
        training=TrainingSpec(epochs=15, batch_size=64, lr=3e-3, schedule="cosine"),
        seed=0,
        limits=RunLimits(latency_repeats=50),
    )
    assert spec.run_key == "3f7eae53f8ecf64b"


def test_quickstart_plan_keys_are_unchanged():
    from scalinglab.config import load_config
    from scalinglab.sweeper.plan import plan_runs

    specs = plan_runs(load_config(None))
    assert (specs[0].run_key, specs[-1].run_key) == ("3f7eae53f8ecf64b", "d89ce579084c240c")
