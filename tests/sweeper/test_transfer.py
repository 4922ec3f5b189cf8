"""[transfer]: each size pretrained once as a run of its own, target runs starting from its stored
checkpoint (Hernandez et al. 2021, "Scaling Laws for Transfer"). Real, tiny trainings."""

from __future__ import annotations

import pytest

from scalinglab.api import run_sweep
from scalinglab.config import config_from_dict
from scalinglab.errors import UserError
from scalinglab.sweeper.plan import plan_runs
from scalinglab.train.checkpoint import checkpoint_path, load_checkpoint


def _config(
    tmp_path,
    *,
    modes=("scratch", "finetune", "features"),
    source_teacher_seed=0,
    widths=(8, 16),
    train_size=(40,),
    seeds=(0,),
    epochs=4,
):
    """Source and target label their inputs with teachers (the same one unless told otherwise); the
    source's inputs are drawn apart from the target's (another split_seed)."""
    return config_from_dict(
        {
            "output": str(tmp_path / "out"),
            "seeds": list(seeds),
            "model": {"family": "mlp", "width": list(widths), "depth": 1},
            "data": {
                "source": "teacher",
                "train_size": list(train_size),
                "val_size": 400,
                "teacher": {"n_samples": 3000},
            },
            "training": {"epochs": epochs, "batch_size": 32, "lr": 0.01},
            "measure": {"latency_repeats": 1},
            "transfer": {
                "mode": list(modes),
                "epochs": 6,
                "source": {
                    "source": "teacher",
                    "split_seed": 1,
                    "teacher": {"n_samples": 1500, "seed": source_teacher_seed},
                },
            },
        },
        source="test",
    )


def test_every_target_run_starts_from_the_stored_checkpoint_of_its_size(tmp_path):
    config = _config(tmp_path)
    result = run_sweep(config, report=False)
    runs = result.runs.set_index("run_key")
    assert (runs["status"] == "ok").all()
    targets = runs[runs["transfer_mode"].notna()]
    assert len(targets) == 4 and len(runs) == 2 + 2 + 4  # two pretrainings, two scratch runs
    for _, target in targets.iterrows():
        parent = runs.loc[target["transfer_parent"]]
        assert parent["width"] == target["width"] and parent["source"] == "teacher"
        assert pd_isna(parent.get("transfer_mode"))
        assert checkpoint_path(config.output, target["transfer_parent"]).exists()


def pd_isna(value) -> bool:
    return value != value or value is None


def test_features_mode_freezes_the_pretrained_body_and_finetune_does_not(tmp_path):
    config = _config(tmp_path, modes=("finetune", "features"), widths=(8,))
    runs = run_sweep(config, report=False).runs.set_index("run_key")
    for key, run in runs[runs["transfer_mode"].notna()].iterrows():
        trained, pretrained = (
            load_checkpoint(checkpoint_path(config.output, k)) for k in (key, run["transfer_parent"])
        )
        body_moved = [not trained[name].equal(pretrained[name]) for name in ("1.weight", "1.bias")]
        if run["transfer_mode"] == "features":
            assert not any(body_moved)
            assert run["n_trainable_params"] == 8 * 4 + 4 < run["n_params"]  # the head only
        else:
            assert all(body_moved)
            assert run["n_trainable_params"] == run["n_params"]
    _assert_features_runs_train_at_the_cost_of_a_forward_and_the_head_s_backward(config, runs)


def _assert_features_runs_train_at_the_cost_of_a_forward_and_the_head_s_backward(config, runs):
    """A features run's train_flops per example: the whole forward (mlp, depth 1: 2 (d_in w + w c))
    plus the head's weight gradient (2 w c), below its finetune twin's full backward."""
    from scalinglab.config_fields import as_list
    from scalinglab.data import load_source

    data = load_source(plan_runs(config)[-1].data)
    d_in, classes, width = data.x_train[0].size, data.n_outputs, 8
    per_example = 2 * (d_in * width + width * classes) + 2 * width * classes
    twins = runs[runs["transfer_mode"].notna()].set_index("transfer_mode")
    features, finetune = twins.loc["features"], twins.loc["finetune"]
    (epochs,) = as_list(config.training.epochs)
    assert features["train_flops"] == per_example * features["n_train"] * epochs
    assert features["train_flops"] < finetune["train_flops"]


def _mean_losses(tmp_path, source_teacher_seed: int) -> dict[str, float]:
    runs = run_sweep(
        _config(
            tmp_path,
            modes=("scratch", "finetune"),
            widths=(32,),
            train_size=(30,),
            seeds=(0, 1),
            source_teacher_seed=source_teacher_seed,
        ),
        report=False,
    ).runs
    targets = runs[runs["n_train"] == 30]
    return targets.groupby(targets["transfer_mode"].fillna("scratch"))["val_loss"].mean().to_dict()


def test_a_source_that_shares_the_target_s_teacher_helps_and_an_unrelated_one_does_not(tmp_path):
    shared = _mean_losses(tmp_path / "shared", source_teacher_seed=0)  # measured: 1.03 against 1.32 from scratch
    unrelated = _mean_losses(tmp_path / "unrelated", source_teacher_seed=7)  # measured: 1.30 against 1.32
    assert shared["finetune"] < 0.9 * shared["scratch"]
    assert abs(unrelated["finetune"] - unrelated["scratch"]) < 0.1 * unrelated["scratch"]
    assert unrelated["scratch"] == shared["scratch"]  # the same scratch runs: only the source differs


def test_a_target_run_waits_for_its_parent_in_the_plan(tmp_path):
    from scalinglab.sweeper.transfer import ready

    specs = plan_runs(_config(tmp_path, widths=(8,)))
    parents = [spec for spec in specs if spec.transfer is None and spec.data.split_seed == 1]
    assert len(parents) == 1
    assert all(spec.transfer is None for spec in ready(specs, {}))
    assert len(ready(specs, {parents[0].run_key: "ok"})) == len(specs)


def test_scratch_runs_keep_the_keys_of_a_sweep_without_transfer(tmp_path):
    config = _config(tmp_path, modes=("scratch",))
    plain = config.model_copy(update={"transfer": None})
    scratch = {spec.run_key for spec in plan_runs(config) if spec.data.split_seed == 0}
    assert scratch == {spec.run_key for spec in plan_runs(plain)}


def test_inputs_that_cannot_be_bridged_are_one_user_error_naming_transfer_source(tmp_path):
    raw = {
        "output": str(tmp_path),
        "model": {"family": "mlp", "width": 4},
        "data": {"source": "teacher"},
        "transfer": {"source": {"source": "digits"}},
    }
    with pytest.raises(UserError, match=r"transfer\.source: inputs of shape \(1, 8, 8\) cannot be adapted"):
        plan_runs(config_from_dict(raw, source="test"))
    raw["training"] = {"lr": "auto"}
    with pytest.raises(UserError, match=r"test: transfer: needs a fixed training.lr"):
        config_from_dict(raw, source="test")


class _StopAfterFirstRun:
    """Progress that presses Ctrl-C once the first run is stored: a kill between pretraining and
    fine-tuning (the target runs wait for their parent, so the parent is first)."""

    def started(self, **_):
        pass

    def running(self, spec):
        pass

    def waiting(self, **_):
        pass

    def finished(self, result):
        raise KeyboardInterrupt


def test_a_sweep_killed_after_pretraining_resumes_without_pretraining_again(tmp_path):
    from scalinglab.sweeper.driver import SweepInterrupted

    config = _config(tmp_path, modes=("finetune",), widths=(8,), epochs=2)
    with pytest.raises(SweepInterrupted):
        run_sweep(config, report=False, progress=_StopAfterFirstRun())
    resumed = run_sweep(config, report=False)
    assert resumed.training.already_stored == 1 and resumed.training.trained == 1
    runs = resumed.runs.set_index("run_key")
    (parent,) = runs["transfer_parent"].dropna()
    assert (runs["status"] == "ok").all() and parent in runs.index


def test_recommend_pretrained_counts_the_pretraining_cost_when_told(tmp_path):
    from scalinglab.api import recommend_for_sweep
    from scalinglab.recommendation import Budgets

    config = _config(tmp_path, modes=("scratch", "finetune"), widths=(8, 16), train_size=(40, 80), epochs=2)
    runs = run_sweep(config, report=False).runs.set_index("run_key")
    targets = runs[runs["transfer_mode"].notna()]
    own = float(targets["train_flops"].max())
    with_parent = float((targets["train_flops"] + targets["transfer_parent"].map(runs["train_flops"])).min())
    assert own < with_parent
    budget = Budgets(train_flops=(own + with_parent) / 2)  # every target fits alone, none with its pretraining
    counted = recommend_for_sweep(config.output, budget, pretrained="available")
    uncounted = recommend_for_sweep(config.output, budget, pretrained="available", count_pretraining=False)
    assert counted.pretrained_alternative is None
    assert uncounted.pretrained_alternative["mode"] == "finetune"
    assert "pretraining cost not counted" in uncounted.pretrained_alternative["sentence"]
    assert recommend_for_sweep(config.output, budget).pretrained_alternative is None  # --pretrained none


def _text_config(tmp_path, modes=("scratch", "finetune")):
    """A byte-level transformer pretrained on one text, trained on another (a few thousand bytes each)."""
    source, target = tmp_path / "source.txt", tmp_path / "target.txt"
    source.write_text("the quick brown fox jumps over the lazy dog. " * 40)
    target.write_text("a lazy dog sleeps under the quick brown fox. " * 40)
    return config_from_dict(
        {
            "output": str(tmp_path / "out"),
            "model": {"family": "transformer", "d_model": 16, "n_layer": 1, "n_head": 2, "context": 16},
            "data": {"source": "text", "path": str(target), "train_size": [1000]},
            "training": {"epochs": 1, "batch_size": 16, "lr": 3e-3},
            "measure": {"latency_repeats": 1},
            "transfer": {"mode": list(modes), "source": {"source": "text", "path": str(source)}},
        },
        source="test",
    )


def test_a_fine_tuned_language_model_starts_from_its_parent_s_whole_network(tmp_path):
    from scalinglab.train.checkpoint import CHECKPOINT_FOLDER
    from scalinglab.train.loop import build_model, run_task
    from scalinglab.train.transfer import head_names

    config = _text_config(tmp_path)
    runs = run_sweep(config, report=False).runs.set_index("run_key")
    assert (runs["status"] == "ok").all() and len(runs) == 3  # the pretraining, scratch, finetune
    (finetune,) = [spec for spec in plan_runs(config) if spec.transfer is not None]
    kept = finetune.limits.model_copy(update={"checkpoint_dir": str(config.output / CHECKPOINT_FOLDER)})
    finetune = finetune.model_copy(update={"limits": kept})  # the sweep's checkpoints, which the plan leaves out
    model = build_model(finetune, run_task(finetune.data, finetune.size).shape)
    parent = load_checkpoint(checkpoint_path(config.output, finetune.transfer.parent.run_key))
    assert head_names(model) and all(tensor.equal(parent[name]) for name, tensor in model.state_dict().items())


def test_text_transfers_to_text_only_and_not_as_features(tmp_path):
    with pytest.raises(UserError, match=r"test: transfer.mode: 'features' needs classification data"):
        _text_config(tmp_path, modes=("finetune", "features"))
    raw = {
        "output": str(tmp_path),
        "model": {"family": "mlp", "width": 4},
        "data": {"source": "digits"},
        "transfer": {"source": {"source": "stdlib"}},
    }
    with pytest.raises(UserError, match=r"transfer.source: 'stdlib' cannot be transferred to data.source 'digits'"):
        config_from_dict(raw, source="test")


def test_a_relative_transfer_source_path_is_read_from_the_sweep_file_s_folder(tmp_path):
    from scalinglab.config import load_config

    (tmp_path / "texts").mkdir()
    (tmp_path / "sweep.toml").write_text(
        '[model]\nfamily = "transformer"\n[data]\nsource = "text"\npath = "texts/b.txt"\n'
        '[transfer]\nmode = ["finetune"]\n[transfer.source]\nsource = "text"\npath = "texts/a.txt"\n'
    )
    config = load_config(tmp_path / "sweep.toml")
    assert config.transfer.source.path == str(tmp_path / "texts" / "a.txt")


def test_compressing_a_transfer_sweep_compresses_its_scratch_runs_only(tmp_path):
    """Seen: a pretraining run compressed (and failed to load into the target's shape), and a
    fine-tuned and a scratch model of one size averaged as two seeds of one model."""
    from scalinglab.compress.driver import compress_store, stored_compressions

    config = _config(tmp_path, modes=("scratch", "finetune"), epochs=1)
    runs = run_sweep(config, report=False).runs
    scratch = set(runs.loc[runs["transfer_mode"].isna() & ~runs["run_key"].isin(runs["transfer_parent"]), "run_key"])
    assert len(scratch) == 2 and len(runs) == 6
    outcome = compress_store(config.output, methods=["quantize"], overrides=["quantize.bits=[8]"])
    assert outcome.parents == 2 and outcome.by_status.get("failed", 0) == 0
    assert {row["parent_run_key"] for row in stored_compressions(config.output)} == scratch


def test_a_source_size_larger_than_the_source_names_transfer_source_not_data(tmp_path):
    """Seen: '--set transfer.source.train_size=100000' was refused as 'data.train_size: ...'."""
    from scalinglab.sweeper.preflight import preflight

    config = _config(tmp_path, modes=("scratch", "finetune"))
    raw = config.model_dump(mode="json")
    raw["transfer"]["source"]["train_size"] = [100_000]
    with pytest.raises(
        UserError, match=r"^test: transfer\.source\.train_size: 100000 is larger than the 1200 training"
    ):
        preflight(config_from_dict(raw, source="test"))


def test_a_missing_text_folder_names_the_sweep_file_and_where_the_path_led(tmp_path):
    """Seen: 'data.path: ../docs: no such file or folder' (no file, and ../docs from where?), raised while
    planning the pretraining run, before preflight named anything."""
    from scalinglab.config import load_config
    from scalinglab.sweeper.preflight import preflight

    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "sweep.toml").write_text(
        '[model]\nfamily = "transformer"\n[data]\nsource = "text"\npath = "../docs"\n'
        '[transfer]\nmode = ["finetune"]\n[transfer.source]\nsource = "stdlib"\n'
    )
    config = load_config(folder / "sweep.toml")
    with pytest.raises(UserError, match=rf"sweep.toml: data.path: .*\({tmp_path / 'docs'}\): no such file or folder"):
        preflight(config)
