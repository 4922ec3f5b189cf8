"""Cooldown branches of one "wsd" run (issue 25 item 3, training half): the longest branch is, step
for step, the run of that length trained alone, even after a shorter branch was cut from the same
stable run; a branch that cools down early is scored, not left at its stable rate."""

from __future__ import annotations

import pytest

from scalinglab.run_spec import DataSpec, RunLimits, RunSpec, TrainingSpec
from scalinglab.train.cooldown import cooldown_branches
from scalinglab.train.loop import train_one

BATCH, CONTEXT = 4, 16


def wsd_run(steps: int) -> RunSpec:
    return RunSpec(
        family="transformer",
        size={"d_model": 16, "n_layer": 1, "n_head": 2, "context": CONTEXT},
        data=DataSpec(source="stdlib", train_size=steps * BATCH * CONTEXT + 1, val_size=2048),
        seed=3,
        training=TrainingSpec(epochs=1, batch_size=BATCH, lr=3e-3, schedule="wsd", warmup_fraction=0.1),
        limits=RunLimits(latency_repeats=1),
    )


@pytest.mark.slow  # about 12 s on two shared cores
def test_the_longest_branch_is_the_run_of_its_length_trained_alone():
    points, stable_steps = cooldown_branches(wsd_run(60), [30, 60])
    alone = train_one(wsd_run(60))
    assert alone.status == "ok", alone.error
    assert [point.steps for point in points] == [30, 60]
    assert stable_steps == 54 and [point.cooldown_steps for point in points] == [3, 6]  # the last tenth of each
    assert points[1].val_scores["loss"] == pytest.approx(alone.metrics["val_loss"], rel=1e-5)
    assert points[0].tokens_seen == 30 * BATCH * CONTEXT
    assert points[0].val_scores["loss"] > points[1].val_scores["loss"]  # half the tokens: a worse model


def test_branches_need_the_wsd_schedule():
    spec = wsd_run(20)
    with pytest.raises(ValueError, match="schedule = 'wsd'"):
        cooldown_branches(
            spec.model_copy(update={"training": spec.training.model_copy(update={"schedule": "cosine"})}), [20]
        )
