"""[transfer] source = "family": each size's pretraining run loads a plugin family's own pretrained
weights (Family.pretrained_state_dict) instead of training; target runs start from them. Real, tiny runs."""

from __future__ import annotations

import pytest
from residual_plugin import PretrainedResidualMLP

from scalinglab.analysis.transfer import pretrained_options, pretraining_cost_sentence
from scalinglab.api import run_sweep
from scalinglab.config import config_from_dict
from scalinglab.errors import UserError
from scalinglab.sweeper.plan import plan_runs
from scalinglab.train.checkpoint import CHECKPOINT_FOLDER, checkpoint_path, load_checkpoint
from scalinglab.train.loop import build_model, run_task


def _raw(tmp_path, *, family="residual_plugin:PretrainedResidualMLP", width=8, transfer=None):
    return {
        "output": str(tmp_path / "out"),
        "model": {"family": family, "width": width, "blocks": 1} if "plugin" in family else {"family": family},
        "data": {"source": "teacher", "train_size": 40, "val_size": 200, "teacher": {"n_samples": 600}},
        "training": {"epochs": 2, "batch_size": 20, "lr": 0.01},
        "measure": {"latency_repeats": 1},
        "transfer": transfer or {"mode": ["finetune", "features"], "source": "family"},
    }


def test_target_runs_start_from_the_family_s_own_weights_whose_pretraining_cost_stays_unknown(tmp_path):
    config = config_from_dict(_raw(tmp_path), source="test")
    frame = run_sweep(config, report=False).runs
    runs = frame.set_index("run_key")
    assert (runs["status"] == "ok").all() and len(runs) == 3  # the loaded parent, finetune, features
    (parent_key,) = set(runs["transfer_parent"].dropna())
    parent = runs.loc[parent_key]
    assert parent["val_loss"] == parent["val_loss"]  # scored on the target's validation set
    assert parent.get("train_flops") != parent.get("train_flops")  # missing: unknown, not 0
    assert "pretraining cost is unknown (not zero)" in pretraining_cost_sentence(
        pretrained_options(frame, count_pretraining=False)
    )
    finetune = next(spec for spec in plan_runs(config) if spec.transfer and spec.transfer.mode == "finetune")
    kept = finetune.limits.model_copy(update={"checkpoint_dir": str(config.output / CHECKPOINT_FOLDER)})
    finetune = finetune.model_copy(update={"limits": kept})  # the sweep's checkpoints, which the plan leaves out
    shape = run_task(finetune.data, finetune.size).shape
    weights = PretrainedResidualMLP().pretrained_state_dict(finetune.size, shape)
    start = build_model(finetune, shape).state_dict()
    stored = load_checkpoint(checkpoint_path(config.output, parent_key))
    assert weights and "3.weight" not in weights  # the body only: the head is the target's own
    assert all(start[name].equal(tensor) and stored[name].equal(tensor) for name, tensor in weights.items())
    trained = load_checkpoint(checkpoint_path(config.output, finetune.run_key))
    assert not trained["1.weight"].equal(weights["1.weight"])  # then it trained


@pytest.mark.parametrize(
    ("family", "width", "transfer", "message"),
    [
        (
            "residual_plugin:PretrainedResidualMLP",
            16,
            None,
            r"^transfer\.source: family 'residual_plugin:PretrainedResidualMLP' has no pretrained weights for "
            r"blocks=1 width=16 \(its pretrained_state_dict returned None\)$",
        ),
        ("mlp", 8, None, r"^transfer\.source: family 'mlp' has no pretrained weights of its own \("),
    ],
)
def test_a_family_without_weights_for_a_size_is_one_user_error_before_any_run(
    tmp_path, family, width, transfer, message
):
    config = config_from_dict(_raw(tmp_path, family=family, width=width, transfer=transfer), source="test")
    with pytest.raises(UserError, match=message):
        plan_runs(config)
    assert not (tmp_path / "out").exists()


def test_a_family_source_refuses_pretraining_settings_and_any_other_word(tmp_path):
    with pytest.raises(UserError, match=r"^test: transfer\.epochs: not with source = 'family'"):
        config_from_dict(_raw(tmp_path, transfer={"source": "family", "epochs": 3}), source="test")
    with pytest.raises(
        UserError, match=r"^test: transfer\.source: 'family' \(the family's own pretrained weights\) or"
    ):
        config_from_dict(_raw(tmp_path, transfer={"source": "famliy"}), source="test")
