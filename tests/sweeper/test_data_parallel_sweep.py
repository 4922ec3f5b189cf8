"""`training.data_parallel` as a swept setting (issue 24): W = 1 and 2 are runs of their own, the
W = 2 runs train with two worker processes and give the W = 1 answer within float noise, and a W
this sweep cannot train is refused before anything is stored."""

from __future__ import annotations

import pytest

from scalinglab.config import load_config
from scalinglab.errors import UserError
from scalinglab.runs_table import results_frame
from scalinglab.store import open_store
from scalinglab.sweeper import run_sweep
from scalinglab.sweeper.preflight import check_data_parallel


def _config(tmp_path, *extra):
    return load_config(
        None,
        [
            f"output='{tmp_path / 'out'}'",
            "model.width=[4,8]",
            "model.depth=1",
            "data.train_size=150",
            "training.epochs=2",
            "training.batch_size=32",
            "seeds=0",
            "measure.latency_repeats=1",
            *extra,
        ],
    )


@pytest.mark.slow  # two worker processes start per W = 2 run (torch imported in each): ~10 s
def test_a_sweep_over_data_parallel_stores_a_run_per_w_with_the_same_answer(tmp_path):
    config = _config(tmp_path, "training.data_parallel=[1,2]")
    store = open_store(config.output)
    outcome = run_sweep(config, store)
    frame = results_frame(store)
    store.close()
    assert outcome.trained == 4 and (frame["status"] == "ok").all(), frame[["data_parallel", "error"]].to_string()
    assert sorted(frame["data_parallel"]) == [1, 1, 2, 2] and frame["run_key"].nunique() == 4
    by_w = frame.set_index(["width", "data_parallel"])["val_loss"]
    for width in (4, 8):
        assert by_w[(width, 2)] == pytest.approx(by_w[(width, 1)], rel=1e-4)
    assert set(frame["batch_runs"]) == {1.0}  # each alone, W = 1 too: their seconds compare


@pytest.mark.parametrize(
    ("extra", "device", "named"),
    [
        (["training.data_parallel=2", "data.cv_folds=3"], "cpu", "data.cv_folds"),
        (["training.data_parallel=4096", "training.batch_size=4096"], "cpu", "CPU core"),
        (["training.data_parallel=2"], "mps", "MPS"),
        (["training.data_parallel=64", "execution.executor='ray'"], "cpu", "batch_size must be at least 64"),
    ],
)
def test_a_w_this_sweep_cannot_train_is_refused_naming_the_field(tmp_path, extra, device, named):
    with pytest.raises(UserError, match=f"training.data_parallel.*{named}"):
        check_data_parallel(_config(tmp_path, *extra), device)


def test_a_w_below_one_is_refused_by_the_config(tmp_path):
    with pytest.raises(UserError, match="training.data_parallel"):
        _config(tmp_path, "training.data_parallel=0")


def test_on_ray_a_w_beyond_the_clusters_cpus_or_gpus_is_refused_once_ray_says_what_it_has(tmp_path):
    config = _config(tmp_path, "training.data_parallel=3", "execution.executor='ray'")
    check_data_parallel(config, "cpu")  # before Ray starts, the cluster's size is unknown
    check_data_parallel(config, "cpu", {"CPU": 3.0})  # one worker per CPU, on whichever nodes
    with pytest.raises(UserError, match="training.data_parallel = 3: .*the Ray cluster has 2 CPU"):
        check_data_parallel(config, "cpu", {"CPU": 2.0})
    with pytest.raises(UserError, match="training.data_parallel = 3: .*the Ray cluster has 2 GPU"):
        check_data_parallel(config, "cuda", {"CPU": 64.0, "GPU": 2.0})
