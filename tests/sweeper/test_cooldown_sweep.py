"""Cooldown branches stored as runs (issue 25 item 3): with training.cooldowns, the smaller data
sizes are branches of the largest size's "wsd" run, planned with their parent recorded, trained
by one stable run, stored as runs of their own, and a sweep that grows or was cut short trains
only the branches it is missing."""

from __future__ import annotations

import pytest

from scalinglab.config import config_from_dict
from scalinglab.runs_table import results_frame
from scalinglab.store import open_store
from scalinglab.sweeper import run_sweep
from scalinglab.sweeper.grouping import plan_batches
from scalinglab.sweeper.plan import plan_runs
from scalinglab.train.loop import train_one

STEP_TOKENS = 4 * 16  # batch_size x context


def _config(tmp_path, sizes, *overrides, cooldowns=True):
    raw = {
        "output": str(tmp_path / "out"),
        "seeds": [3],
        "measure": {"latency_repeats": 1},
        "model": {"family": "transformer", "d_model": [16], "n_layer": 1, "n_head": 2, "context": 16},
        "data": {"source": "stdlib", "train_size": [steps * STEP_TOKENS + 1 for steps in sizes], "val_size": 2048},
        "training": {
            "epochs": 1,
            "batch_size": 4,
            "lr": 3e-3,
            "schedule": "wsd",
            "warmup_fraction": 0.1,
            "cooldowns": cooldowns,
            "save_checkpoints": False,
        },
    }
    return config_from_dict(raw, list(overrides), source="test")


def test_smaller_sizes_are_planned_as_branches_of_the_largest_in_one_group(tmp_path):
    branched = plan_runs(_config(tmp_path, [10, 20, 40]))
    scratch = plan_runs(_config(tmp_path, [10, 20, 40], cooldowns=False))
    largest = 40 * STEP_TOKENS + 1
    assert [spec.cooldown_of for spec in branched] == [largest, largest, None]
    assert branched[-1].run_key == scratch[-1].run_key  # the parent is the largest size trained as usual
    assert {spec.run_key for spec in branched[:2]}.isdisjoint(spec.run_key for spec in scratch)  # another warmup
    assert all(spec.cooldown_parent().run_key == branched[-1].run_key for spec in branched)
    assert plan_batches(branched, max_runs=1) == [branched]  # one stable run trains them all


def test_cooldowns_need_a_wsd_schedule_and_one_pass(tmp_path):
    with pytest.raises(Exception, match="training.cooldowns: needs training.schedule"):
        _config(tmp_path, [10, 20], "training.schedule='cosine'")
    with pytest.raises(Exception, match="training.cooldowns: needs training.epochs"):
        _config(tmp_path, [10, 20], "training.epochs=2")


@pytest.mark.slow  # about 20 s on two shared cores
def test_branches_are_stored_runs_and_a_grown_sweep_trains_only_the_missing_branch(tmp_path):
    store = open_store(_config(tmp_path, [20, 40]).output)
    first = run_sweep(_config(tmp_path, [20, 40]), store)
    grown = run_sweep(_config(tmp_path, [20, 30, 40]), store)  # as after a kill that lost the middle branch
    again = run_sweep(_config(tmp_path, [20, 30, 40]), store)
    frame = results_frame(store).sort_values("train_size")
    store.close()
    assert (first.trained, grown.trained, again.trained) == (2, 1, 0)
    assert (frame["status"] == "ok").all() and frame["run_key"].nunique() == 3
    parent = frame.iloc[-1]
    assert list(frame["parent_run_key"].iloc[:2]) == [parent["run_key"]] * 2 and parent.isna()["parent_run_key"]
    assert list(frame["train_tokens_seen"]) == [20 * STEP_TOKENS, 30 * STEP_TOKENS, 40 * STEP_TOKENS]
    assert list(frame["cooldown_steps"]) == [2, 3, 4]  # the last tenth of each length
    assert list(frame["branch_tokens"]) == [18 * STEP_TOKENS, 27 * STEP_TOKENS, 36 * STEP_TOKENS]
    assert frame["val_loss"].is_monotonic_decreasing  # more tokens, better models
    alone = train_one(plan_runs(_config(tmp_path, [20, 40]))[-1])  # the parent, trained from scratch
    assert parent["val_loss"] == pytest.approx(alone.metrics["val_loss"], rel=1e-5)
