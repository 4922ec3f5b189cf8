"""Per-size learning-rate search: the halving logic on its own, then a real `lr = "auto"` sweep."""

from __future__ import annotations

import math

from sweep_helpers import tiny_spec

from scalinglab.config import load_config
from scalinglab.runs_table import results_frame
from scalinglab.store import open_store
from scalinglab.sweeper import run_sweep
from scalinglab.sweeper.lr_search import rung_epochs, rung_sizes, search_frontier
from scalinglab.sweeper.plan import planned_total


def spec_for(lr, epochs, seed):
    spec = tiny_spec(8, epochs=epochs)
    return spec.model_copy(update={"training": spec.training.model_copy(update={"lr": lr}), "seed": seed})


def test_rungs_halve_candidates_and_grow_epochs():
    assert rung_sizes(9, 3) == [9, 3]
    assert rung_sizes(5, 2) == [5, 3, 2]
    assert rung_epochs(27, 2, 3) == [3, 9]


def test_the_frontier_advances_only_past_finished_rungs_and_keeps_the_best():
    candidates, losses = [1e-3, 1e-2, 1e-1], {}
    frontier = lambda: search_frontier(
        spec_for, candidates=candidates, full_epochs=9, seeds=[0, 1], reduction_factor=3, val_losses=losses
    )
    first = frontier()
    assert [s.training.lr for s in first] == candidates and {s.training.epochs for s in first} == {3}
    losses.update({first[0].run_key: 2.0, first[1].run_key: 0.5})
    assert frontier() == first, "a rung with a missing result blocks the next"
    losses[first[2].run_key] = math.inf  # failed
    finals = frontier()[3:]
    assert [(s.training.lr, s.training.epochs, s.seed) for s in finals] == [(1e-2, 9, 0), (1e-2, 9, 1)]


def test_an_auto_sweep_trains_each_size_at_its_own_best_lr(tmp_path):
    config = load_config(
        None,
        [
            f"output='{tmp_path / 'out'}'",
            "model.width=[4,16]",
            "model.depth=1",
            "data.train_size=[120]",
            "training.epochs=3",
            "training.lr='auto'",
            "lr_search.candidates=[1e-4,1e-2,1e-1]",
            "seeds=[0]",
            "measure.latency_repeats=1",
        ],
    )
    store = open_store(config.output)
    outcome = run_sweep(config, store)
    frame = results_frame(store)
    store.close()
    assert outcome.planned == planned_total(config) == 8 == len(frame)
    assert (frame[frame["epochs"] == 1]["batch_runs"] > 1).all(), "a rung's candidates train as one batch"
    best = frame[frame["best_lr"]]
    assert sorted(best["width"]) == [4, 16] and set(best["epochs"]) == {3}
    for width, runs in frame[frame["epochs"] == 1].groupby("width"):
        assert best[best["width"] == width]["lr"].item() == runs.loc[runs["val_loss"].idxmin(), "lr"]
