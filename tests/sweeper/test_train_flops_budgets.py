"""Compute budgets as the data axis (data.train_flops, issue 25 item 4): each model size trains on
the samples its budget buys it, from its family's own FLOPs per sample, so the sweep is an
IsoFLOP grid whose runs' training FLOPs form one compute group per budget."""

from __future__ import annotations

import numpy as np
import pytest

from scalinglab.config import config_from_dict
from scalinglab.data import load_source
from scalinglab.errors import UserError
from scalinglab.families import get_family
from scalinglab.fit.isoflop import group_by_compute
from scalinglab.runs_table import results_frame
from scalinglab.store import open_store
from scalinglab.sweeper import run_sweep
from scalinglab.sweeper.budgets import task_shape
from scalinglab.sweeper.plan import plan_runs

BUDGETS = [2e9, 8e9]
CONTEXT = 16


def _lm_config(data=None, **training):
    raw = {
        "model": {"family": "transformer", "d_model": [16, 32], "n_layer": 1, "n_head": 2, "context": CONTEXT},
        "data": {"source": "stdlib", "train_flops": BUDGETS, "val_size": 2048, **(data or {})},
        "training": {"epochs": 1, "batch_size": 4, "lr": 3e-3, **training},
    }
    return config_from_dict(raw, source="sweep.toml")


def test_each_size_trains_on_the_tokens_its_budget_buys():
    specs = plan_runs(_lm_config())
    assert len(specs) == 4
    family = get_family("transformer")
    dataset = load_source(specs[0].data)
    by_budget = {}
    for spec in specs:
        per_token = family.train_flops_per_sample(spec.size, task_shape(dataset, spec.size))
        tokens = (spec.data.train_size - 1) // CONTEXT * CONTEXT  # whole windows, as training counts them
        budget = min(BUDGETS, key=lambda b: abs(np.log(b / (per_token * tokens))))
        assert abs(per_token * tokens - budget) <= per_token * CONTEXT / 2  # within half a window
        by_budget.setdefault(budget, {})[spec.size["d_model"]] = spec.data.train_size
    for sizes in by_budget.values():
        assert sizes[16] > 2 * sizes[32]  # the smaller model sees more tokens for the same compute


def test_cooldown_branches_are_each_size_s_own_smaller_budgets():
    specs = plan_runs(_lm_config(schedule="wsd", cooldowns=True))
    for width in (16, 32):
        mine = sorted((s for s in specs if s.size["d_model"] == width), key=lambda s: s.data.train_size)
        assert [s.cooldown_of for s in mine] == [mine[1].data.train_size, None]


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"train_flops": [1e5]}, r"sweep.toml: data.train_flops: 1e\+05 FLOPs buy d_model=16.* less than one batch"),
        ({"train_flops": [1e14]}, r"sweep.toml: data.train_flops: 1e\+14 FLOPs buy d_model=16.* more than the "),
        ({"train_size": 1000}, r"sweep.toml: data.train_flops: give compute budgets or data sizes"),
    ],
)
def test_a_budget_that_cannot_be_trained_is_refused_before_any_work(data, says):
    with pytest.raises(UserError, match=says):
        plan_runs(_lm_config(data=data))


def test_a_tiny_isoflop_sweep_records_one_compute_group_per_budget(tmp_path):
    raw = {
        "output": str(tmp_path / "out"),
        "model": {"family": "mlp", "width": [4, 8, 16], "depth": 1},
        "data": {"source": "digits", "train_flops": [1e6, 4e6]},
        "training": {"epochs": 4, "batch_size": 16},
        "measure": {"latency_repeats": 1},
    }
    config = config_from_dict(raw, source="sweep.toml")
    store = open_store(config.output)
    run_sweep(config, store)
    runs = results_frame(store)
    store.close()
    assert (runs["status"] == "ok").all() and len(runs) == 6
    groups = group_by_compute(np.log10(runs["train_flops"].to_numpy(float)), 0.05)
    for label in np.unique(groups):
        recorded = runs.loc[groups == label, "train_flops"]
        budget = min([1e6, 4e6], key=lambda b: abs(recorded.iloc[0] - b))
        assert len(recorded) == 3 and np.allclose(recorded, budget, rtol=0.03)  # within one example of the budget


def test_the_shipped_isoflop_example_plans_three_budgets_of_seven_sizes_in_one_pass_over_the_text():
    """3 budgets x 7 sizes x 2 seeds; per size and seed one stable run, its smaller budgets branched."""
    from pathlib import Path

    from scalinglab.config import load_config

    config = load_config(Path(__file__).resolve().parents[2] / "examples" / "transformer_isoflop.toml")
    specs = plan_runs(config)
    assert len(specs) == 42 and sum(spec.cooldown_of is None for spec in specs) == 14  # one stable run per size
    assert max(spec.data.train_size for spec in specs) <= load_source(specs[0].data).n_train
